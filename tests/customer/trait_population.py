"""A hand-made corp for trait tests: two stores and customers with orders on chosen days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from siyu.models import Corp, Customer, Department, DepartmentKind, Order


@dataclass
class TraitCorp:
    corp_id: int
    store_ids: list[int]


def make_trait_corp(session: Session, slug: str = "traits") -> TraitCorp:
    """A corp with two stores and no customers yet."""
    corp = Corp(slug=slug, name=f"{slug}品牌")
    session.add(corp)
    session.flush()
    stores = []
    for index in (1, 2):
        store = Department(corp_id=corp.id, kind=DepartmentKind.store, name=f"门店{index}", path="/")
        session.add(store)
        session.flush()
        store.path = f"/{store.id}/"
        stores.append(store.id)
    return TraitCorp(corp.id, stores)


def add_customer(session: Session, corp_id: int, name: str = "客户") -> int:
    customer = Customer(corp_id=corp_id, name=name)
    session.add(customer)
    session.flush()
    return customer.id


_numbers = iter(range(1, 10**9))


def add_order(session: Session, corp_id: int, customer_id: int | None, paid_at: datetime, amount: str, *,
              status: str = "paid", platform: str = "pos", category: str | None = None, store_id: int | None = None,
              refund_amount: str = "0") -> Order:
    order = Order(corp_id=corp_id, customer_id=customer_id, platform=platform, shop="", order_no=f"o{next(_numbers)}",
                  store_id=store_id, status=status, category=category, amount=Decimal(amount), paid_at=paid_at,
                  refund_amount=Decimal(refund_amount))
    session.add(order)
    session.flush()
    return order


def days_before(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)
