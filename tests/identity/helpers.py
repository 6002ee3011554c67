"""Shared steps of the identity tests: resolve claims in their own transaction, read the outcome."""

from __future__ import annotations

from sqlalchemy import select

from siyu.identity.service import IdentityClaim, Resolution, resolve_claims
from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.models import Customer, CustomerMerge, Identity


def claim(*pairs: tuple[str, object], **profile: object) -> IdentityClaim:
    return IdentityClaim(list(pairs), dict(profile) or None)


def resolve(database: Database, corp_id: int, clock: Clock, *claims: IdentityClaim,
            reason: str = "test") -> Resolution:
    """Resolve ``claims`` in one write transaction, as a request or a job would."""
    with database.session(immediate=True) as session:
        return resolve_claims(session, corp_id, list(claims), reason=reason, clock=clock)


def holders(database: Database, corp_id: int) -> dict[tuple[str, str], int]:
    """Every identity of the corp: (kind, value) → customer id."""
    with database.session() as session:
        rows = session.execute(select(Identity.kind, Identity.value, Identity.customer_id)
                               .where(Identity.corp_id == corp_id))
        return {(kind, value): customer_id for kind, value, customer_id in rows}


def live_customers(database: Database, corp_id: int) -> list[int]:
    with database.session() as session:
        return list(session.scalars(select(Customer.id).where(
            Customer.corp_id == corp_id, Customer.merged_into_id.is_(None)).order_by(Customer.id)))


def merges(database: Database, corp_id: int) -> list[tuple[int, int, str, str | None, str | None]]:
    """(survivor, merged, reason, kind, value) of every merge of the corp, oldest first."""
    with database.session() as session:
        rows = session.scalars(select(CustomerMerge).where(CustomerMerge.corp_id == corp_id)
                               .order_by(CustomerMerge.id))
        return [(m.survivor_id, m.merged_id, m.reason, m.identity_kind, m.identity_value) for m in rows]


def make_customer(database: Database, corp_id: int, *pairs: tuple[str, str], name: str | None = None) -> int:
    """A customer holding exactly ``pairs`` (values already canonical)."""
    with database.session() as session:
        customer = Customer(corp_id=corp_id, name=name)
        session.add(customer)
        session.flush()
        session.add_all([Identity(corp_id=corp_id, customer_id=customer.id, kind=k, value=v) for k, v in pairs])
        return customer.id
