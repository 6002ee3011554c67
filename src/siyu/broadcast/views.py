"""Console: broadcasts — the list, the wizard (audience → message → preview and send) and the delivery
dashboard of one broadcast. Everything goes through ``broadcast.service`` like the REST API."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.broadcast import repository, results, service
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.errors import InvalidInput, SiyuError
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.models import Department, DepartmentKind, GroupChat, Staff, StaffStatus, Tag
from siyu.models.broadcast import BroadcastStatus
from siyu.policy.settings import load as load_policy

router = APIRouter()
PAGE = "/broadcasts"


def _choices(session: Session, corp_id: int) -> dict:
    tags = session.execute(select(Tag.id, Tag.name).where(Tag.corp_id == corp_id, Tag.deleted_at.is_(None))
                           .order_by(Tag.name)).all()
    stores = session.execute(select(Department.id, Department.name).where(
        Department.corp_id == corp_id, Department.kind == DepartmentKind.store).order_by(Department.name)).all()
    segments = []
    try:
        from siyu.models.segment import Segment

        segments = session.execute(select(Segment.id, Segment.name).where(Segment.corp_id == corp_id)
                                   .order_by(Segment.name)).all()
    except ImportError:  # segments are optional at this layer
        pass
    groups = session.execute(select(GroupChat.id, GroupChat.name, GroupChat.chat_id).where(
        GroupChat.corp_id == corp_id, GroupChat.dismissed_at.is_(None), GroupChat.status != "dismissed")
        .order_by(GroupChat.name)).all()
    owners = session.execute(select(Staff.id, Staff.name).where(
        Staff.corp_id == corp_id, Staff.status == StaffStatus.active,
        Staff.id.in_(select(GroupChat.owner_staff_id).where(GroupChat.corp_id == corp_id))).order_by(Staff.name)).all()
    return {"tags": tags, "stores": stores, "segments": segments,
            "groups": [(group_id, name or chat_id) for group_id, name, chat_id in groups], "owners": owners}


@router.get(PAGE)
def broadcasts_page(request: Request, session: DbSession, principal: Principal = console_page("broadcasts")):
    return render(request, "broadcast/index.html", {"broadcasts": repository.broadcasts(session, principal.corp_id)})


@router.get(PAGE + "/new")
def new_broadcast_page(request: Request, session: DbSession,
                       principal: Principal = console_page("broadcasts", "broadcasts.write")):
    form = FormState("broadcast", {"kind": "customers", "priority": "marketing", "holdout_percent": "0",
                                   "tag_match": "any"})
    return render(request, "broadcast/new.html", {"form": form, **_choices(session, principal.corp_id)})


@router.post(PAGE)
async def create_broadcast(request: Request, session: DbSession, clock: AppClock,
                           principal: Principal = console_page("broadcasts", "broadcasts.write")):
    posted = await request.form()
    values = {key: str(posted.get(key) or "") for key in ("kind", "name", "priority", "holdout_percent",
                                                           "tag_match", "segment_id", "text_a", "text_b",
                                                           "scheduled_at")}
    for name in ("tag_ids", "store_ids", "group_chat_ids", "owner_staff_ids"):
        values[name] = [int(v) for v in posted.getlist(name) if str(v).isdigit()]
    values["kind"] = values["kind"] or "customers"
    form = FormState("broadcast", values)
    language = request_language(request)
    if values["kind"] == "groups":
        audience = {"group_chat_ids": values["group_chat_ids"], "owner_staff_ids": values["owner_staff_ids"],
                    "store_ids": values["store_ids"]}
    else:
        audience = {"tag_ids": values["tag_ids"], "tag_match": values["tag_match"] or "any",
                    "store_ids": values["store_ids"]}
        if values["segment_id"].isdigit():
            audience["segment_id"] = int(values["segment_id"])
    variants = [service.VariantDraft(values["text_a"])]
    if values["text_b"].strip():
        variants.append(service.VariantDraft(values["text_b"]))
    try:
        holdout = int(values["holdout_percent"] or 0)
        broadcast = service.create_broadcast(session, principal.corp_id, name=values["name"], audience=audience,
                                             variants=variants, priority=values["priority"] or "marketing",
                                             holdout_percent=holdout, created_by=principal.user_id, now=clock.now(),
                                             kind=values["kind"])
    except ValueError:
        form.errors["holdout_percent"] = InvalidInput("error.broadcast_holdout_invalid",
                                                      field="holdout_percent").message(language)
    except SiyuError as error:
        record(error, form, language, rename={"variants[0].text": "text_a", "variants[1].text": "text_b",
                                              "variants": "text_a"})
    if form.failed:
        session.rollback()
        context = {"form": form, **_choices(session, principal.corp_id)}
        return render(request, "broadcast/new.html", context, status_code=422)
    return RedirectResponse(f"{PAGE}/{broadcast.id}", status_code=303)


@router.get(PAGE + "/{broadcast_id}")
def broadcast_page(broadcast_id: int, request: Request, session: DbSession, clock: AppClock, notice: str = "",
                   principal: Principal = console_page("broadcasts")):
    broadcast = service.get_broadcast(session, principal.corp_id, broadcast_id)
    now = clock.now()
    context = {"broadcast": broadcast, "variants": repository.variants(session, broadcast_id), "notice": notice,
               "timezone": load_policy(session, principal.corp_id).timezone}
    if broadcast.status in (BroadcastStatus.draft, BroadcastStatus.scheduled):
        plan = service.preview(session, principal.corp_id, broadcast_id, now=now)
        names = dict(session.execute(select(Staff.id, Staff.name).where(
            Staff.id.in_(list(plan.by_staff) + list(plan.groups)))).all())
        context |= {"plan": plan, "staff_names": names,
                    "top_staff": sorted(plan.by_staff.items(), key=lambda item: -item[1])[:12]}
    else:
        context["report"] = results.report(session, principal.corp_id, broadcast_id, now=now)
    return render(request, "broadcast/detail.html", context)


@router.post(PAGE + "/{broadcast_id}/send")
def send_broadcast(broadcast_id: int, request: Request, session: DbSession, clock: AppClock,
                   scheduled_at: str = Form(""), principal: Principal = console_page("broadcasts", "broadcasts.write")):
    now = clock.now()
    at = now
    if scheduled_at.strip():
        tz = ZoneInfo(load_policy(session, principal.corp_id).timezone)
        try:
            at = datetime.fromisoformat(scheduled_at.strip()).replace(tzinfo=tz)
        except ValueError:
            raise InvalidInput("error.broadcast_schedule_past", field="scheduled_at") from None
    service.schedule(session, principal.corp_id, broadcast_id, at=at, now=now)
    return RedirectResponse(f"{PAGE}/{broadcast_id}", status_code=303)


@router.post(PAGE + "/{broadcast_id}/remind")
def remind(broadcast_id: int, session: DbSession, clock: AppClock,
           principal: Principal = console_page("broadcasts", "broadcasts.write")):
    service.get_broadcast(session, principal.corp_id, broadcast_id)
    count = service.request_reminders(session, principal.corp_id, broadcast_id, now=clock.now())
    return RedirectResponse(f"{PAGE}/{broadcast_id}?notice=reminded:{count}", status_code=303)


@router.post(PAGE + "/{broadcast_id}/sync")
def sync(broadcast_id: int, session: DbSession, clock: AppClock,
         principal: Principal = console_page("broadcasts", "broadcasts.write")):
    service.get_broadcast(session, principal.corp_id, broadcast_id)
    enqueue(session, service.SYNC_JOB, {"corp_id": principal.corp_id, "broadcast_id": broadcast_id, "round": 0},
            corp_id=principal.corp_id, clock=clock)
    return RedirectResponse(f"{PAGE}/{broadcast_id}", status_code=303)


@router.post(PAGE + "/{broadcast_id}/cancel")
def cancel(broadcast_id: int, session: DbSession, clock: AppClock,
           principal: Principal = console_page("broadcasts", "broadcasts.write")):
    service.cancel(session, principal.corp_id, broadcast_id, now=clock.now())
    return RedirectResponse(f"{PAGE}/{broadcast_id}", status_code=303)
