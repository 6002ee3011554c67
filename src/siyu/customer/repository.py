"""Queries of customers and their orders, scoped per principal.

A store manager sees customers served by staff of their subtree or whose home store is in it; a
staff user sees the customers they serve (any relation, past or present, so history stays readable).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal, data_scope, scoped
from siyu.models.customer import Customer, Relation
from siyu.models.order import Order
from siyu.models.org import Staff
from siyu.org.repository import subtree_department_ids


def _served_by_subtree(principal: Principal):
    return exists().where(
        Relation.customer_id == Customer.id,
        Relation.staff_id.in_(select(Staff.id).where(Staff.department_id.in_(subtree_department_ids(principal)))),
    )


@data_scope(Customer)
def _customer_scope(statement: Select, principal: Principal) -> Select:
    if principal.department_path:
        return statement.where(
            or_(Customer.home_store_id.in_(subtree_department_ids(principal)), _served_by_subtree(principal))
        )
    return statement.where(
        exists().where(Relation.customer_id == Customer.id, Relation.staff_id == principal.staff_id)
    )


@data_scope(Order)
def _order_scope(statement: Select, principal: Principal) -> Select:
    if principal.department_path:
        return statement.where(Order.store_id.in_(subtree_department_ids(principal)))
    served = select(Relation.customer_id).where(Relation.staff_id == principal.staff_id)
    return statement.where(or_(Order.staff_id == principal.staff_id, Order.customer_id.in_(served)))


def customers_query(principal: Principal, *, search: str | None = None) -> Select[Any]:
    statement = scoped(select(Customer), Customer, principal).where(Customer.merged_into_id.is_(None))
    if search:
        # autoescape: a search for "_" or "%" means those characters, not wildcards
        statement = statement.where(or_(Customer.name.contains(search, autoescape=True),
                                        Customer.phone.contains(search, autoescape=True)))
    return statement


def get_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    return session.scalars(
        scoped(select(Customer).where(Customer.id == customer_id), Customer, principal)
    ).one_or_none()


def orders_of_customer(session: Session, principal: Principal, customer_id: int, limit: int = 100) -> list[Order]:
    return list(session.scalars(
        scoped(select(Order).where(Order.customer_id == customer_id), Order, principal)
        .order_by(Order.paid_at.desc()).limit(limit)
    ))
