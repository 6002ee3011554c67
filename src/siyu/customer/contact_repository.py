"""Queries behind WeCom contact changes: identities, customers and relations of one corp.

They run in the callback handler job, which acts for the corp named by the job (no principal), so
every statement names ``corp_id``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.models.customer import Customer, Identity, Relation, RelationStatus


def customer_by_identity(session: Session, corp_id: int, kind: str, value: str) -> Customer | None:
    """The customer an identity points at, following merges to the surviving customer."""
    customer = session.scalars(
        select(Customer).join(Identity, Identity.customer_id == Customer.id)
        .where(Identity.corp_id == corp_id, Identity.kind == kind, Identity.value == value)
    ).one_or_none()
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None and customer.id not in seen:
        seen.add(customer.id)
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def insert_identity(session: Session, corp_id: int, customer_id: int, kind: str, value: str, at) -> bool:
    """Attach an identity unless (corp, kind, value) exists. True when this call inserted it."""
    inserted = session.execute(
        dialect_insert(session, Identity.__table__)
        .values(corp_id=corp_id, customer_id=customer_id, kind=kind, value=value, created_at=at,
                updated_at=at)
        .on_conflict_do_nothing(index_elements=["corp_id", "kind", "value"])
        .returning(Identity.__table__.c.id)
    ).scalar_one_or_none()
    return inserted is not None


def relation(session: Session, corp_id: int, staff_id: int, customer_id: int) -> Relation | None:
    return session.scalars(
        select(Relation).where(Relation.corp_id == corp_id, Relation.staff_id == staff_id,
                               Relation.customer_id == customer_id)
    ).one_or_none()


def insert_relation_if_absent(session: Session, values: dict) -> bool:
    """Insert a relation unless (corp, staff, customer) exists. True when this call inserted it."""
    inserted = session.execute(
        dialect_insert(session, Relation.__table__).values(**values)
        .on_conflict_do_nothing(index_elements=["corp_id", "staff_id", "customer_id"])
        .returning(Relation.__table__.c.id)
    ).scalar_one_or_none()
    return inserted is not None


def pending_transfers(session: Session, corp_id: int, customer_id: int) -> list[Relation]:
    """Relations handed over in a transfer that has not completed (``transferred``, not ended)."""
    return list(session.scalars(
        select(Relation).where(Relation.corp_id == corp_id, Relation.customer_id == customer_id,
                               Relation.status == RelationStatus.transferred, Relation.ended_at.is_(None))
        .order_by(Relation.id)
    ))
