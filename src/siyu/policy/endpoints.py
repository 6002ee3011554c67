"""REST: the corp's contact policy and a preview of the gate's decisions (nothing recorded)."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.policy import TouchRequest, decide, schemas
from siyu.policy import settings as policy_settings
from siyu.policy.settings import format_minutes

router = APIRouter(tags=["policy"])


def policy_out(settings: policy_settings.PolicySettings) -> schemas.PolicyOut:
    return schemas.PolicyOut(
        wecom_quota_rule=settings.wecom_quota_rule, marketing_cap=settings.marketing_cap,
        marketing_period=settings.marketing_period, moments_per_day=settings.moments_per_day,
        quiet_start=format_minutes(settings.quiet_hours.start_minute),
        quiet_end=format_minutes(settings.quiet_hours.end_minute), opt_out_keywords=list(settings.opt_out_keywords),
        blacklist_tag_id=settings.blacklist_tag_id, deferral_days=settings.deferral_days, timezone=settings.timezone)


@router.get("/policy", response_model=schemas.PolicyOut, dependencies=[require("customers.read")])
def get_policy(session: DbSession, principal: CurrentPrincipal):
    return policy_out(policy_settings.load(session, principal.corp_id))


@router.put("/policy", response_model=schemas.PolicyOut, dependencies=[require("settings.write")])
def put_policy(body: schemas.PolicyIn, session: DbSession, principal: CurrentPrincipal):
    return policy_out(policy_settings.save(session, principal.corp_id, **body.model_dump()))


@router.post("/policy/decisions", response_model=list[schemas.DecisionOut], dependencies=[require("customers.read")])
def preview_decisions(body: schemas.DecisionsIn, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    """What the gate would decide for these touches now; nothing is recorded or counted. Customers and
    staff must be this corp's (404 otherwise)."""
    from sqlalchemy import select

    from siyu.kit.errors import NotFound
    from siyu.models import Customer, Staff

    for model, ids, field in ((Customer, {r.customer_id for r in body.requests}, "customer_id"),
                              (Staff, {r.staff_id for r in body.requests if r.staff_id is not None}, "staff_id")):
        if ids and len(set(session.scalars(select(model.id).where(model.corp_id == principal.corp_id,
                                                                   model.id.in_(ids))))) != len(ids):
            raise NotFound("error.policy_reference_not_found", field=f"requests.{field}")
    requests = [TouchRequest(customer_id=r.customer_id, channel=r.channel, priority=r.priority, staff_id=r.staff_id,
                             at=r.at) for r in body.requests]
    return [schemas.DecisionOut(customer_id=d.request.customer_id, status=d.status, rule=d.rule,
                                deferred_until=d.deferred_until, expires_at=d.expires_at)
            for d in decide(session, principal.corp_id, requests, now=clock.now())]
