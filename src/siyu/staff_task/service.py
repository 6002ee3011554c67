"""Staff tasks: created in bulk (from drafts or straight from a query), completed or cancelled one by
one, expired when overdue, and counted per staff member and store.

Creation is one INSERT with ``ON CONFLICT DO NOTHING`` on the corp's idempotency key, so a journey
node or broadcast reminder that runs twice creates each task once. Status changes are conditional
UPDATEs (``WHERE status = 'open'``): two staff members completing one task cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, String, cast, func, literal, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.tenancy import Principal
from siyu.models.org import Staff
from siyu.models.staff_task import StaffTask, StaffTaskKind, StaffTaskStatus
from siyu.staff_task import repository, schemas

tasks_table = StaffTask.__table__
#: Drafts per INSERT (SQLite's bound-parameter limit).
CHUNK_SIZE = 500


@dataclass(frozen=True)
class TaskDraft:
    staff_id: int
    kind: StaffTaskKind
    title: str
    customer_id: int | None = None
    content: str | None = None
    due_at: datetime | None = None
    idempotency_key: str | None = None
    coins: int = 0


def _row(corp_id: int, draft: TaskDraft, source_kind: str, source_ref: str | None, now: datetime,
         created_by_user_id: int | None) -> dict:
    return dict(corp_id=corp_id, staff_id=draft.staff_id, customer_id=draft.customer_id,
                kind=StaffTaskKind(draft.kind).value, title=draft.title, content=draft.content, due_at=draft.due_at,
                status=StaffTaskStatus.open.value, source_kind=source_kind, source_ref=source_ref,
                idempotency_key=draft.idempotency_key, coins=draft.coins, completed_at=None,
                completed_by_user_id=None, created_by_user_id=created_by_user_id, created_at=now, updated_at=now)


def check_drafts(session: Session, corp_id: int, drafts: Sequence[TaskDraft]) -> None:
    """Refuse drafts naming staff or customers the corp does not have, naming the draft's place."""
    staff = repository.staff_of_corp(session, corp_id, {d.staff_id for d in drafts})
    customers = repository.customers_of_corp(session, corp_id, {d.customer_id for d in drafts if d.customer_id})
    for index, draft in enumerate(drafts):
        if draft.staff_id not in staff:
            raise InvalidInput("error.staff_task_unknown_staff", field=f"tasks[{index}].staff_id", index=index)
        if draft.customer_id is not None and draft.customer_id not in customers:
            raise InvalidInput("error.staff_task_unknown_customer", field=f"tasks[{index}].customer_id", index=index)
        if draft.coins < 0:
            raise InvalidInput("error.loyalty_negative", field=f"tasks[{index}].coins")


def create_tasks(session: Session, corp_id: int, drafts: Sequence[TaskDraft], *, source_kind: str,
                 now: datetime, source_ref: str | None = None, created_by_user_id: int | None = None) -> int:
    """Create every draft whose idempotency key is new (drafts without a key always are). Returns
    how many were created. Only flushes."""
    if not drafts:
        return 0
    return len(_insert(session, corp_id, drafts, source_kind=source_kind, source_ref=source_ref, now=now,
                       created_by_user_id=created_by_user_id))


def _insert(session: Session, corp_id: int, drafts: Sequence[TaskDraft], *, source_kind: str,
            source_ref: str | None, now: datetime, created_by_user_id: int | None) -> list[int]:
    """Ids of the tasks created (drafts whose key exists are skipped)."""
    check_drafts(session, corp_id, drafts)
    created: list[int] = []
    for start in range(0, len(drafts), CHUNK_SIZE):
        rows = [_row(corp_id, draft, source_kind, source_ref, now, created_by_user_id)
                for draft in drafts[start:start + CHUNK_SIZE]]
        statement = (dialect_insert(session, tasks_table)
                     .on_conflict_do_nothing(index_elements=["corp_id", "idempotency_key"])
                     .returning(tasks_table.c.id))
        created += session.scalars(statement, rows).all()
    if created:
        _ensure_expiry(session, now)
    return created


def _ensure_expiry(session: Session, now: datetime) -> None:
    # Open tasks with a due time exist: the hourly expiry must be queued (a keyed no-op if it is).
    from siyu.staff_task.tasks import ensure_schedule

    ensure_schedule(session, now)


def create_tasks_from_query(session: Session, corp_id: int, pairs: Select, *, kind: StaffTaskKind, title: str,
                            source_kind: str, key_prefix: str, now: datetime, content: str | None = None,
                            due_at: datetime | None = None, source_ref: str | None = None, coins: int = 0) -> int:
    """One task per ``(staff_id, customer_id)`` row of ``pairs``, in one INSERT … SELECT, keyed
    ``<key_prefix>:<staff_id>:<customer_id>`` (``customer_id`` may be NULL: key ends ``:``).
    The caller's query must keep to ``corp_id``. Returns how many were created."""
    source = pairs.subquery()
    staff_id, customer_id = source.c[0], source.c[1]
    key = (literal(f"{key_prefix}:") + cast(staff_id, String) + literal(":")
           + func.coalesce(cast(customer_id, String), ""))
    rows = select(
        literal(corp_id), staff_id, customer_id, literal(StaffTaskKind(kind).value), literal(title),
        literal(content, String), literal(due_at, StaffTask.due_at.type), literal(StaffTaskStatus.open.value),
        literal(source_kind), literal(source_ref, String), key, literal(coins),
        literal(now, StaffTask.created_at.type), literal(now, StaffTask.updated_at.type),
    ).select_from(source).where(staff_id.is_not(None))
    statement = (dialect_insert(session, tasks_table).from_select(
        ["corp_id", "staff_id", "customer_id", "kind", "title", "content", "due_at", "status", "source_kind",
         "source_ref", "idempotency_key", "coins", "created_at", "updated_at"], rows)
        .on_conflict_do_nothing(index_elements=["corp_id", "idempotency_key"]).returning(tasks_table.c.id))
    created = len(session.execute(statement).all())
    if created:
        _ensure_expiry(session, now)
    return created


def _task(session: Session, principal: Principal, task_id: int) -> StaffTask:
    task = repository.get_task(session, principal, task_id)
    if task is None:
        raise NotFound("error.staff_task_not_found")
    return task


def _close(session: Session, task: StaffTask, status: StaffTaskStatus, now: datetime, user_id: int | None
           ) -> StaffTask:
    values: dict = {"status": status, "updated_at": now}
    if status == StaffTaskStatus.done:
        values |= {"completed_at": now, "completed_by_user_id": user_id}
    changed = session.execute(update(StaffTask).where(StaffTask.id == task.id,
                                                      StaffTask.status == StaffTaskStatus.open)
                              .values(**values).execution_options(synchronize_session=False)).rowcount
    session.refresh(task)
    if not changed:
        raise Conflict("error.staff_task_not_open", status=task.status.value)
    return task


def complete_task(session: Session, principal: Principal, task_id: int, *, now: datetime) -> StaffTask:
    """Mark an open task done (its coins count for the staff member)."""
    return _close(session, _task(session, principal, task_id), StaffTaskStatus.done, now, principal.user_id)


def cancel_task(session: Session, principal: Principal, task_id: int, *, now: datetime) -> StaffTask:
    return _close(session, _task(session, principal, task_id), StaffTaskStatus.cancelled, now, principal.user_id)


def cancel_tasks_of_source(session: Session, corp_id: int, *, source_kind: str, source_ref: str,
                           now: datetime) -> int:
    """Cancel every open task that ``source_kind``/``source_ref`` created. Returns how many."""
    return session.execute(update(StaffTask).where(
        StaffTask.corp_id == corp_id, StaffTask.source_kind == source_kind, StaffTask.source_ref == source_ref,
        StaffTask.status == StaffTaskStatus.open).values(status=StaffTaskStatus.cancelled, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount


def expire_overdue(session: Session, corp_id: int | None, *, now: datetime) -> int:
    """Open tasks past their due time become expired (every corp's with ``corp_id=None``)."""
    statement = update(StaffTask).where(StaffTask.status == StaffTaskStatus.open, StaffTask.due_at.is_not(None),
                                        StaffTask.due_at <= now)
    if corp_id is not None:
        statement = statement.where(StaffTask.corp_id == corp_id)
    return session.execute(statement.values(status=StaffTaskStatus.expired, updated_at=now)
                           .execution_options(synchronize_session=False)).rowcount


@dataclass(frozen=True)
class CompletionRate:
    key_id: int | None
    name: str | None
    total: int
    done: int
    expired: int
    open: int
    coins: int

    @property
    def rate(self) -> float:
        """Done among the tasks the staff member had to finish and that are settled: done or
        expired (open ones may still be done; cancelled ones were withdrawn)."""
        settled = self.done + self.expired
        return round(self.done / settled, 4) if settled else 0.0


def completion_rates(session: Session, principal: Principal, *, group_by: str = "staff",
                     since: datetime | None = None, until: datetime | None = None) -> list[CompletionRate]:
    if group_by not in ("staff", "store"):
        raise InvalidInput("error.staff_task_group_by", field="group_by")
    return [CompletionRate(*row) for row in repository.completion_counts(session, principal, group_by=group_by,
                                                                         since=since, until=until)]


def visible_staff_ids(session: Session, principal: Principal) -> list[int]:
    return list(session.scalars(repository.visible_staff_ids(principal)))


# -- for a principal (API and console) --------------------------------------------------------------------

def _check_visible(session: Session, principal: Principal, drafts: Sequence[TaskDraft], *, single: bool) -> None:
    """404 for a staff member or customer the principal cannot see, naming the field (and draft)."""
    visible_staff = set(session.scalars(repository.visible_staff_ids(principal).where(
        Staff.id.in_({d.staff_id for d in drafts}))))
    customer_ids = {d.customer_id for d in drafts if d.customer_id is not None}
    visible_customers = {c for c in customer_ids if repository.visible_customer(session, principal, c) is not None}
    for index, draft in enumerate(drafts):
        prefix = "" if single else f"tasks[{index}]."
        if draft.staff_id not in visible_staff:
            raise NotFound("error.staff_not_found", field=f"{prefix}staff_id")
        if draft.customer_id is not None and draft.customer_id not in visible_customers:
            raise NotFound("error.customer_not_found", field=f"{prefix}customer_id")


def create_task(session: Session, principal: Principal, draft: TaskDraft, *, now: datetime
                ) -> tuple[StaffTask, bool]:
    """One task assigned by hand; returns it and whether it is new (False: its key was used)."""
    _check_visible(session, principal, [draft], single=True)
    created = _insert(session, principal.corp_id, [draft], source_kind="manual", source_ref=f"user:{principal.user_id}",
                      now=now, created_by_user_id=principal.user_id)
    if created:
        return session.get(StaffTask, created[0]), True
    return repository.task_by_key(session, principal.corp_id, draft.idempotency_key), False


def create_tasks_for(session: Session, principal: Principal, drafts: Sequence[TaskDraft], *, now: datetime) -> int:
    _check_visible(session, principal, drafts, single=False)
    return create_tasks(session, principal.corp_id, drafts, source_kind="manual",
                        source_ref=f"user:{principal.user_id}", now=now, created_by_user_id=principal.user_id)


def get_task(session: Session, principal: Principal, task_id: int) -> StaffTask:
    return _task(session, principal, task_id)


def describe_tasks(session: Session, tasks: Sequence[StaffTask]) -> list[schemas.StaffTask]:
    """Tasks as the API and console show them, with staff and customer names."""
    staff, customers = repository.names(session, {t.staff_id for t in tasks},
                                        {t.customer_id for t in tasks if t.customer_id})
    return [schemas.StaffTask.model_validate(task).model_copy(update={
        "staff_name": staff.get(task.staff_id), "customer_name": customers.get(task.customer_id)}) for task in tasks]
