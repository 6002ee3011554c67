"""REST: broadcasts — create, preview, schedule, remind, cancel, report."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.broadcast import repository, results, schemas, service

router = APIRouter(tags=["broadcasts"])


def _rules(counter) -> list[schemas.RuleCount]:
    return [schemas.RuleCount(status=status, rule=rule, count=count)
            for (status, rule), count in sorted(counter.items())]


def _variant(result: results.VariantResult) -> schemas.VariantResultOut:
    return schemas.VariantResultOut(label=result.label, recipients=result.recipients, delivered=result.delivered,
                                    buyers=result.buyers, revenue=f"{result.revenue:.2f}",
                                    conversion=round(result.conversion, 4), replies=result.replies)


@router.get("/broadcasts", response_model=list[schemas.BroadcastOut], dependencies=[require("broadcasts.read")])
def list_broadcasts(session: DbSession, principal: CurrentPrincipal):
    return repository.broadcasts(session, principal.corp_id)


@router.post("/broadcasts", response_model=schemas.BroadcastOut, status_code=201,
             dependencies=[require("broadcasts.write")])
def create_broadcast(body: schemas.BroadcastCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.create_broadcast(
        session, principal.corp_id, name=body.name, audience=body.audience.model_dump(exclude_none=True),
        variants=[service.VariantDraft(v.text, v.material_ids, v.weight) for v in body.variants],
        priority=body.priority, holdout_percent=body.holdout_percent, scheduled_at=body.scheduled_at,
        created_by=principal.user_id, now=clock.now(), kind=body.kind)


@router.get("/broadcasts/{broadcast_id}", response_model=schemas.BroadcastOut,
            dependencies=[require("broadcasts.read")])
def get_broadcast(broadcast_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.get_broadcast(session, principal.corp_id, broadcast_id)


@router.get("/broadcasts/{broadcast_id}/preview", response_model=schemas.PreviewOut,
            dependencies=[require("broadcasts.read")])
def preview_broadcast(broadcast_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    plan = service.preview(session, principal.corp_id, broadcast_id, now=clock.now())
    return schemas.PreviewOut(audience=plan.audience, eligible=plan.eligible, holdout=plan.holdout,
                              by_rule=_rules(plan.by_rule), by_staff=dict(plan.by_staff),
                              by_variant={k: v for k, v in plan.by_variant.items() if k is not None},
                              groups=[schemas.GroupPreviewOut(group_chat_id=group_id, name=name, staff_id=staff_id,
                                                              status=status)
                                      for staff_id, groups in sorted(plan.groups.items())
                                      for group_id, name, status in groups])


@router.post("/broadcasts/{broadcast_id}/schedule", response_model=schemas.BroadcastOut,
             dependencies=[require("broadcasts.write")])
def schedule_broadcast(broadcast_id: int, body: schemas.ScheduleIn, session: DbSession, principal: CurrentPrincipal,
                       clock: AppClock):
    now = clock.now()
    return service.schedule(session, principal.corp_id, broadcast_id, at=body.scheduled_at or now, now=now)


@router.post("/broadcasts/{broadcast_id}/remind", dependencies=[require("broadcasts.write")])
def remind_broadcast(broadcast_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    service.get_broadcast(session, principal.corp_id, broadcast_id)
    return {"reminded": service.request_reminders(session, principal.corp_id, broadcast_id, now=clock.now())}


@router.post("/broadcasts/{broadcast_id}/cancel", response_model=schemas.BroadcastOut,
             dependencies=[require("broadcasts.write")])
def cancel_broadcast(broadcast_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.cancel(session, principal.corp_id, broadcast_id, now=clock.now())


@router.get("/broadcasts/{broadcast_id}/report", response_model=schemas.ReportOut,
            dependencies=[require("broadcasts.read")])
def broadcast_report(broadcast_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    report = results.report(session, principal.corp_id, broadcast_id, now=clock.now())
    return schemas.ReportOut(
        audience=report.audience, sent=report.sent, tasks=report.tasks, tasks_confirmed=report.tasks_confirmed,
        delivered=report.delivered, blocked_by_quota=report.blocked_by_quota, deferred=report.deferred,
        blocked=report.blocked, expired=report.expired, failed=report.failed, by_rule=_rules(report.by_rule),
        variants=[_variant(v) for v in report.variants], holdout=_variant(report.holdout),
        touches_this_week=report.touches_this_week)
