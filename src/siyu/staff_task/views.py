"""Console: staff tasks (导购任务) — the tasks in the viewer's scope with filters, completing and
cancelling them, and completion per staff member (chart) and per store."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from siyu.auth.dependencies import AppClock, DbSession
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.staff_task import StaffTask, StaffTaskKind, StaffTaskStatus
from siyu.staff_task import repository, service

router = APIRouter()
PAGE_SIZE = 50


def _choice(value: str | None, allowed) -> str | None:
    return value if value in {member.value for member in allowed} else None


@router.get("/staff-tasks")
def tasks_page(request: Request, session: DbSession, principal: Principal = console_page("staff_tasks"),
               status: str | None = None, kind: str | None = None, staff_id: str | None = None,
               cursor: str | None = None):
    chosen_status = _choice(status, StaffTaskStatus) if status is not None else "open"
    chosen_kind = _choice(kind, StaffTaskKind)
    chosen_staff = int(staff_id) if staff_id and staff_id.isdigit() else None
    statement = repository.tasks_query(principal, status=chosen_status, kind=chosen_kind, staff_id=chosen_staff)
    rows, next_cursor = paginate(session, statement, StaffTask.id, limit=PAGE_SIZE, cursor=cursor)
    by_staff = service.completion_rates(session, principal, group_by="staff")
    context: dict[str, Any] = {
        "tasks": service.describe_tasks(session, rows), "next_cursor": next_cursor,
        "status": chosen_status or "", "kind": chosen_kind or "", "staff_id": chosen_staff,
        "statuses": [s.value for s in StaffTaskStatus], "kinds": [k.value for k in StaffTaskKind],
        "staff": [(rate.key_id, rate.name) for rate in by_staff],
        "by_staff": by_staff, "by_store": service.completion_rates(session, principal, group_by="store"),
        "can_work": principal.can("staff_tasks.work"),
        "chart": {"staff": [rate.name for rate in by_staff], "done": [rate.done for rate in by_staff],
                  "expired": [rate.expired for rate in by_staff], "open": [rate.open for rate in by_staff]},
        "notice": request.query_params.get("notice"),
    }
    return render(request, "staff_task/index.html", context)


def _back(back: str, notice: str) -> RedirectResponse:
    # only our own page: a form cannot send the operator elsewhere
    target = back if back.startswith("/staff-tasks") else "/staff-tasks"
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}notice={notice}", status_code=303)


@router.post("/staff-tasks/{task_id}/complete")
def complete(task_id: int, session: DbSession, clock: AppClock, back: str = Form("/staff-tasks"),
             principal: Principal = console_page("staff_tasks", "staff_tasks.work")):
    service.complete_task(session, principal, task_id, now=clock.now())
    return _back(back, "done")


@router.post("/staff-tasks/{task_id}/cancel")
def cancel(task_id: int, session: DbSession, clock: AppClock, back: str = Form("/staff-tasks"),
           principal: Principal = console_page("staff_tasks", "staff_tasks.write")):
    service.cancel_task(session, principal, task_id, now=clock.now())
    return _back(back, "cancelled")
