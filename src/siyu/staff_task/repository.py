"""Queries of staff tasks. A task is visible exactly when its staff member is (the staff data scope:
a staff user sees themselves, a store manager the staff of their subtree)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

# Importing the domain repositories registers the data-scope rules of Staff and Customer.
import siyu.customer.repository  # noqa: F401
import siyu.org.repository  # noqa: F401
from siyu.kit.tenancy import Principal, data_scope, scoped
from siyu.models.customer import Customer
from siyu.models.org import Department, Staff
from siyu.models.staff_task import StaffTask, StaffTaskStatus


def visible_staff_ids(principal: Principal) -> Select:
    return scoped(select(Staff.id), Staff, principal)


@data_scope(StaffTask)
def _task_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(StaffTask.staff_id.in_(visible_staff_ids(principal).scalar_subquery()))


def tasks_query(principal: Principal, *, staff_id: int | None = None, customer_id: int | None = None,
                status: str | None = None, kind: str | None = None, store_id: int | None = None,
                source_kind: str | None = None) -> Select[Any]:
    statement = scoped(select(StaffTask), StaffTask, principal)
    if staff_id is not None:
        statement = statement.where(StaffTask.staff_id == staff_id)
    if customer_id is not None:
        statement = statement.where(StaffTask.customer_id == customer_id)
    if status is not None:
        statement = statement.where(StaffTask.status == status)
    if kind is not None:
        statement = statement.where(StaffTask.kind == kind)
    if source_kind is not None:
        statement = statement.where(StaffTask.source_kind == source_kind)
    if store_id is not None:
        statement = statement.where(StaffTask.staff_id.in_(select(Staff.id).where(Staff.department_id == store_id)))
    return statement


def get_task(session: Session, principal: Principal, task_id: int) -> StaffTask | None:
    return session.scalars(scoped(select(StaffTask), StaffTask, principal).where(StaffTask.id == task_id)
                           ).one_or_none()


def staff_of_corp(session: Session, corp_id: int, staff_ids: set[int]) -> set[int]:
    if not staff_ids:
        return set()
    return set(session.scalars(select(Staff.id).where(Staff.corp_id == corp_id, Staff.id.in_(staff_ids))))


def customers_of_corp(session: Session, corp_id: int, customer_ids: set[int]) -> set[int]:
    if not customer_ids:
        return set()
    return set(session.scalars(select(Customer.id).where(Customer.corp_id == corp_id,
                                                         Customer.id.in_(customer_ids))))


def visible_staff(session: Session, principal: Principal, staff_id: int) -> Staff | None:
    return session.scalars(scoped(select(Staff), Staff, principal).where(Staff.id == staff_id)).one_or_none()


def visible_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    return session.scalars(scoped(select(Customer), Customer, principal).where(Customer.id == customer_id)
                           ).one_or_none()


def names(session: Session, staff_ids: set[int], customer_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    staff = dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))).all()) if staff_ids else {}
    customers = (dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))).all())
                 if customer_ids else {})
    return staff, customers


def completion_counts(session: Session, principal: Principal, *, group_by: str, since=None, until=None
                      ) -> list[tuple[int | None, str | None, int, int, int, int, int]]:
    """(key id, name, total, done, expired, open, coins) per staff member or per store, for tasks
    created in ``[since, until)`` and visible to the principal."""
    status = StaffTask.status
    columns = (func.count(StaffTask.id),
               func.sum(case((status == StaffTaskStatus.done, 1), else_=0)),
               func.sum(case((status == StaffTaskStatus.expired, 1), else_=0)),
               func.sum(case((status == StaffTaskStatus.open, 1), else_=0)),
               func.sum(case((status == StaffTaskStatus.done, StaffTask.coins), else_=0)))
    if group_by == "store":
        key, name = Department.id, Department.name
        statement = (select(key, name, *columns).select_from(StaffTask)
                     .join(Staff, Staff.id == StaffTask.staff_id)
                     .outerjoin(Department, Department.id == Staff.department_id))
    else:
        key, name = Staff.id, Staff.name
        statement = select(key, name, *columns).select_from(StaffTask).join(Staff, Staff.id == StaffTask.staff_id)
    statement = scoped(statement, StaffTask, principal)
    if since is not None:
        statement = statement.where(StaffTask.created_at >= since)
    if until is not None:
        statement = statement.where(StaffTask.created_at < until)
    rows = session.execute(statement.group_by(key, name).order_by(name, key))
    return [(k, n, int(t), int(d or 0), int(e or 0), int(o or 0), int(c or 0)) for k, n, t, d, e, o, c in rows]


def task_by_key(session: Session, corp_id: int, idempotency_key: str) -> StaffTask | None:
    return session.scalars(select(StaffTask).where(StaffTask.corp_id == corp_id,
                                                   StaffTask.idempotency_key == idempotency_key)).one_or_none()

