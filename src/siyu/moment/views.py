"""Console: moments (朋友圈) — the task list with status, the create form (text, attachments from the
material library, visible range by staff and/or tag, previewed against the gate) and the detail with
publish status, visible customers, likes and comments, and the touch each visible customer received.
Everything goes through ``moment.service`` like the REST API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.content.service import list_materials
from siyu.kit.errors import SiyuError
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.models import Customer, Staff, Tag
from siyu.models.moment import MomentTask
from siyu.models.policy import Touch
from siyu.moment import service

router = APIRouter()
PAGE = "/moments"
TOUCHES_SHOWN = 200


def _choices(session: Session, corp_id: int) -> dict:
    staff = session.execute(select(Staff.id, Staff.name).where(Staff.corp_id == corp_id).order_by(Staff.name)).all()
    # WeCom limits a moment's visibility by its own corp tags: only tags synced with WeCom are offered
    tags = session.execute(select(Tag.id, Tag.name).where(Tag.corp_id == corp_id, Tag.deleted_at.is_(None),
                                                          Tag.wecom_tag_id.is_not(None)).order_by(Tag.name)).all()
    materials = [(m.id, m.title, m.kind) for m in list_materials(session, corp_id)]
    return {"staff": staff, "tags": tags, "materials": materials}


def _ids(posted, name: str) -> list[int]:
    return [int(v) for v in posted.getlist(name) if str(v).isdigit()]


@router.get(PAGE)
def moments_page(request: Request, session: DbSession, principal: Principal = console_page("moments")):
    tasks = session.scalars(select(MomentTask).where(MomentTask.corp_id == principal.corp_id)
                            .order_by(MomentTask.id.desc()).limit(200)).all()
    return render(request, "moment/index.html", {"tasks": tasks})


@router.get(PAGE + "/new")
def new_moment_page(request: Request, session: DbSession,
                    principal: Principal = console_page("moments", "broadcasts.write")):
    form = FormState("moment", {"staff_ids": [], "tag_ids": [], "material_ids": []})
    return render(request, "moment/new.html", {"form": form, **_choices(session, principal.corp_id)})


@router.post(PAGE)
async def create_moment(request: Request, session: DbSession, clock: AppClock,
                        principal: Principal = console_page("moments", "broadcasts.write")):
    posted = await request.form()
    values = {"text": str(posted.get("text") or ""), "staff_ids": _ids(posted, "staff_ids"),
              "tag_ids": _ids(posted, "tag_ids"), "material_ids": _ids(posted, "material_ids")}
    form = FormState("moment", values)
    try:
        task = service.create_moment(session, principal.corp_id, text=values["text"], staff_ids=values["staff_ids"],
                                     tag_ids=values["tag_ids"], material_ids=values["material_ids"], now=clock.now())
    except SiyuError as error:
        record(error, form, request_language(request))
        session.rollback()
        return render(request, "moment/new.html", {"form": form, **_choices(session, principal.corp_id)},
                      status_code=422)
    return RedirectResponse(f"{PAGE}/{task.id}", status_code=303)


@router.get(PAGE + "/{moment_task_id}")
def moment_page(moment_task_id: int, request: Request, session: DbSession, clock: AppClock,
                principal: Principal = console_page("moments")):
    task = service.get_moment(session, principal.corp_id, moment_task_id)
    corp_id = principal.corp_id
    names = dict(session.execute(select(Staff.id, Staff.name).where(Staff.corp_id == corp_id)).all())
    touched = (Touch.corp_id == corp_id, Touch.source_kind == "moment", Touch.source_id == str(task.id))
    by_staff = dict(session.execute(select(Touch.staff_id, func.count()).where(*touched)
                                    .group_by(Touch.staff_id)).all())
    senders = task.staff_ids or sorted(names, key=lambda s: names[s])
    touches = session.execute(select(Touch.customer_id, Customer.name, Touch.staff_id, Touch.status, Touch.rule,
                                     Touch.occurred_at).join(Customer, Customer.id == Touch.customer_id)
                              .where(*touched).order_by(Touch.id).limit(TOUCHES_SHOWN)).all()
    tag_names = dict(session.execute(select(Tag.id, Tag.name).where(Tag.corp_id == corp_id,
                                                                    Tag.id.in_(task.tag_ids))).all())
    context = {"task": task, "staff_names": names, "senders": [(s, by_staff.get(s, 0)) for s in senders],
               "touches": touches, "tag_names": tag_names, "touch_count": sum(by_staff.values()),
               "materials": [(m.id, m.title) for m in list_materials(session, corp_id) if m.id in task.material_ids]}
    if task.synced_at is None:
        context["preview"] = service.preview(session, corp_id, staff_ids=list(task.staff_ids),
                                             tag_ids=list(task.tag_ids), now=clock.now())
    return render(request, "moment/detail.html", context)


@router.post(PAGE + "/{moment_task_id}/sync")
def sync_moment(moment_task_id: int, session: DbSession, clock: AppClock,
                principal: Principal = console_page("moments", "broadcasts.write")):
    service.get_moment(session, principal.corp_id, moment_task_id)
    enqueue(session, service.SYNC_JOB, {"corp_id": principal.corp_id, "moment_task_id": moment_task_id},
            corp_id=principal.corp_id, clock=clock)
    return RedirectResponse(f"{PAGE}/{moment_task_id}?syncing=1", status_code=303)
