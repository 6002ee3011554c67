"""Console: the contact policy settings page (/settings/policy) with touches per customer this week."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.errors import SiyuError
from siyu.kit.tenancy import Principal
from siyu.models.policy import CapPeriod, QuotaRule
from siyu.models.tag import Tag
from siyu.policy import repository
from siyu.policy import settings as policy_settings
from siyu.policy.periods import period_start
from siyu.policy.settings import format_minutes

router = APIRouter()
PAGE = "/settings/policy"


def _values(settings: policy_settings.PolicySettings) -> dict:
    return {"wecom_quota_rule": settings.wecom_quota_rule.value, "marketing_cap": settings.marketing_cap,
            "marketing_period": settings.marketing_period.value, "moments_per_day": settings.moments_per_day,
            "quiet_start": format_minutes(settings.quiet_hours.start_minute),
            "quiet_end": format_minutes(settings.quiet_hours.end_minute),
            "opt_out_keywords": ", ".join(settings.opt_out_keywords),
            "blacklist_tag_id": settings.blacklist_tag_id or "", "deferral_days": settings.deferral_days}


def _page(request: Request, session: Session, principal: Principal, now, *, form: FormState | None = None,
          saved: bool = False, status_code: int = 200):
    settings = policy_settings.load(session, principal.corp_id)
    tags = session.execute(select(Tag.id, Tag.name).where(Tag.corp_id == principal.corp_id, Tag.deleted_at.is_(None))
                           .order_by(Tag.name)).all()
    week = period_start(CapPeriod.week, now, settings.timezone)
    context = {"form": form or FormState("policy", _values(settings)), "saved": saved, "timezone": settings.timezone,
               "quota_rules": [r.value for r in QuotaRule], "periods": [p.value for p in CapPeriod], "tags": tags,
               "touches": repository.touches_per_customer(session, principal.corp_id, week)}
    return render(request, "policy/settings.html", context, status_code=status_code)


@router.get(PAGE)
def policy_page(request: Request, session: DbSession, clock: AppClock, saved: bool = False,
                principal: Principal = console_page("policy")):
    return _page(request, session, principal, clock.now(), saved=saved)


@router.post(PAGE)
def save_policy(request: Request, session: DbSession, clock: AppClock, wecom_quota_rule: str = Form(""),
                marketing_cap: str = Form(""), marketing_period: str = Form(""), moments_per_day: str = Form(""),
                quiet_start: str = Form(""), quiet_end: str = Form(""), opt_out_keywords: str = Form(""),
                blacklist_tag_id: str = Form(""), deferral_days: str = Form(""),
                principal: Principal = console_page("policy")):
    values = {"wecom_quota_rule": wecom_quota_rule, "marketing_cap": marketing_cap,
              "marketing_period": marketing_period, "moments_per_day": moments_per_day, "quiet_start": quiet_start,
              "quiet_end": quiet_end, "opt_out_keywords": opt_out_keywords, "blacklist_tag_id": blacklist_tag_id,
              "deferral_days": deferral_days}
    form = FormState("policy", values)
    language = request_language(request)
    numbers = {}
    for name in ("marketing_cap", "moments_per_day", "deferral_days"):
        try:
            numbers[name] = int(values[name])
        except ValueError:
            from siyu.kit.i18n import translate

            form.errors[name] = translate("console.form.number", language)
    if form.failed:
        return _page(request, session, principal, clock.now(), form=form, status_code=422)
    try:
        policy_settings.save(
            session, principal.corp_id, wecom_quota_rule=wecom_quota_rule, marketing_period=marketing_period,
            quiet_start=quiet_start, quiet_end=quiet_end,
            opt_out_keywords=[w for w in opt_out_keywords.replace("，", ",").split(",")],
            blacklist_tag_id=int(blacklist_tag_id) if blacklist_tag_id.strip().isdigit() else None, **numbers)
    except SiyuError as error:
        session.rollback()
        record(error, form, language)
        return _page(request, session, principal, clock.now(), form=form, status_code=422)
    return RedirectResponse(PAGE + "?saved=1", status_code=303)
