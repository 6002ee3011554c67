"""Counts for the home dashboard. Every statement goes through ``scoped``, so a store manager counts
only their subtree and a staff user only their own customers and orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

# Importing the domain repositories registers the data-scope rules of the models counted here.
import siyu.customer.repository  # noqa: F401
import siyu.org.repository  # noqa: F401
from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer, Relation, RelationStatus
from siyu.models.order import Order
from siyu.models.org import Department, DepartmentKind, Staff, StaffStatus

#: When a customer counts as added: first seen (imports carry history), else when siyu stored them.
_ADDED_AT = func.coalesce(Customer.first_seen_at, Customer.created_at)


@dataclass(frozen=True)
class Totals:
    customers: int
    active_relations: int
    active_staff: int
    stores: int


@dataclass(frozen=True)
class Sales:
    orders: int
    amount: Decimal


def _amount(value: Any) -> Decimal:
    # SQLite sums NUMERIC as floating point; round back to cents.
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def totals(session: Session, principal: Principal) -> Totals:
    customers = session.scalar(scoped(
        select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None)), Customer, principal))
    # A relation is in scope when its staff member is: scoping through Staff keeps one rule.
    relations = session.scalar(scoped(
        select(func.count(Relation.id)).join(Staff, Staff.id == Relation.staff_id)
        .where(Relation.corp_id == principal.corp_id, Relation.status == RelationStatus.active),
        Staff, principal))
    staff = session.scalar(scoped(
        select(func.count(Staff.id)).where(Staff.status == StaffStatus.active), Staff, principal))
    stores = session.scalar(scoped(
        select(func.count(Department.id)).where(Department.kind == DepartmentKind.store),
        Department, principal))
    return Totals(int(customers or 0), int(relations or 0), int(staff or 0), int(stores or 0))


def sales_between(session: Session, principal: Principal, start: datetime, end: datetime) -> Sales:
    """Orders paid in ``(start, end]`` and their amount — up to and including ``end`` (now)."""
    row = session.execute(scoped(
        select(func.count(Order.id), func.sum(Order.amount))
        .where(Order.paid_at > start, Order.paid_at <= end),
        Order, principal)).one()
    return Sales(int(row[0] or 0), _amount(row[1]))


def customers_added_between(session: Session, principal: Principal, start: datetime, end: datetime) -> int:
    """Customers added in ``(start, end]``."""
    return int(session.scalar(scoped(
        select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None), _ADDED_AT > start,
                                              _ADDED_AT <= end), Customer, principal)) or 0)


def _buckets(column: Any, boundaries: list[datetime]) -> list[Any]:
    return [and_(column >= low, column < high) for low, high in zip(boundaries, boundaries[1:], strict=False)]


def monthly_sales(session: Session, principal: Principal, boundaries: list[datetime]) -> list[Sales]:
    """Orders and amount per period between consecutive ``boundaries`` — one scan of the window with
    a conditional sum per period, the same SQL on SQLite and PostgreSQL (no date_trunc), and month
    edges computed in the corp's time zone by the caller."""
    conditions = _buckets(Order.paid_at, boundaries)
    columns = []
    for condition in conditions:
        columns.append(func.sum(case((condition, 1), else_=0)))
        columns.append(func.sum(case((condition, Order.amount), else_=0)))
    row = session.execute(scoped(
        select(*columns).where(Order.paid_at >= boundaries[0], Order.paid_at < boundaries[-1]),
        Order, principal)).one()
    return [Sales(int(row[2 * i] or 0), _amount(row[2 * i + 1])) for i in range(len(conditions))]


def monthly_customers_added(session: Session, principal: Principal, boundaries: list[datetime]) -> list[int]:
    """Customers added per period between consecutive ``boundaries``."""
    conditions = _buckets(_ADDED_AT, boundaries)
    row = session.execute(scoped(
        select(*[func.sum(case((condition, 1), else_=0)) for condition in conditions])
        .where(Customer.merged_into_id.is_(None), _ADDED_AT >= boundaries[0], _ADDED_AT < boundaries[-1]),
        Customer, principal)).one()
    return [int(value or 0) for value in row]
