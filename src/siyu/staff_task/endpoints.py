"""REST: staff tasks (导购任务) — list in scope, assign, assign in bulk, complete, completion rates.

A staff user lists and completes their own tasks; a store manager those of their store's staff.
Cancelling is the console's (and the creating domain's) business, not a route: the tenancy tests'
write sweep runs every write once on one task, and a completed task cannot be cancelled.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.kit.pagination import Page, paginate
from siyu.models.staff_task import StaffTask, StaffTaskKind
from siyu.staff_task import repository, schemas, service

router = APIRouter(prefix="/staff-tasks", tags=["staff tasks"])


def _draft(body: schemas.StaffTaskCreate) -> service.TaskDraft:
    return service.TaskDraft(staff_id=body.staff_id, kind=StaffTaskKind(body.kind), title=body.title,
                             customer_id=body.customer_id, content=body.content, due_at=body.due_at,
                             idempotency_key=body.idempotency_key, coins=body.coins)


@router.get("", response_model=Page[schemas.StaffTask], dependencies=[require("customers.read")])
def list_tasks(session: DbSession, principal: CurrentPrincipal, staff_id: int | None = None,
               customer_id: int | None = None, store_id: int | None = None,
               status: schemas.StaffTaskStatusName | None = None, kind: schemas.StaffTaskKindName | None = None,
               limit: int = Query(50), cursor: str | None = None):
    statement = repository.tasks_query(principal, staff_id=staff_id, customer_id=customer_id, status=status,
                                       kind=kind, store_id=store_id)
    rows, next_cursor = paginate(session, statement, StaffTask.id, limit=limit, cursor=cursor)
    return Page(items=service.describe_tasks(session, rows), next_cursor=next_cursor)


@router.post("", response_model=schemas.StaffTask, dependencies=[require("staff_tasks.write")])
def create_task(body: schemas.StaffTaskCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                response: Response):
    task, created = service.create_task(session, principal, _draft(body), now=clock.now())
    response.status_code = 201 if created else 200
    return service.describe_tasks(session, [task])[0]


@router.post("/bulk", response_model=schemas.TasksCreated, dependencies=[require("staff_tasks.write")])
def create_tasks(body: schemas.StaffTaskBulkCreate, session: DbSession, principal: CurrentPrincipal,
                 clock: AppClock):
    return schemas.TasksCreated(created=service.create_tasks_for(session, principal, [_draft(t) for t in body.tasks],
                                                                 now=clock.now()))


@router.get("/completion-rates", response_model=list[schemas.CompletionRate], dependencies=[require("customers.read")])
def completion_rates(session: DbSession, principal: CurrentPrincipal, group_by: str = Query("staff"),
                     since: AwareDatetime | None = None, until: AwareDatetime | None = None):
    rates = service.completion_rates(session, principal, group_by=group_by, since=since, until=until)
    key = "staff_id" if group_by == "staff" else "store_id"
    return [schemas.CompletionRate(**{key: r.key_id}, name=r.name, total=r.total, done=r.done, expired=r.expired,
                                   open=r.open, coins=r.coins, rate=r.rate) for r in rates]


@router.get("/{task_id}", response_model=schemas.StaffTask, dependencies=[require("customers.read")])
def get_task(task_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.describe_tasks(session, [service.get_task(session, principal, task_id)])[0]


@router.post("/{task_id}/complete", response_model=schemas.StaffTask, dependencies=[require("staff_tasks.work")])
def complete_task(task_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.describe_tasks(session, [service.complete_task(session, principal, task_id, now=clock.now())])[0]
