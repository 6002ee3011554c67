"""The purchase history the lifetime-value models read: one row per customer and purchase day.

Orders are summed per customer and local calendar day in SQL, so a corp with millions of orders
sends its distinct purchase days, not its orders, to Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

# Importing the domain repository registers the data-scope rule of Order.
import siyu.customer.repository  # noqa: F401
from siyu.kit.tenancy import Principal, scoped
from siyu.models.corp import Corp
from siyu.models.customer import Customer
from siyu.models.order import PURCHASE_STATUSES, Order

DEFAULT_TIMEZONE = "Asia/Shanghai"


def corp_timezone(session: Session, principal: Principal) -> ZoneInfo:
    """The principal's corp's time zone, which decides where one purchase day ends."""
    name = session.scalar(select(Corp.timezone).where(Corp.id == principal.corp_id))
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def purchase_days(
    session: Session, principal: Principal, zone: ZoneInfo, until: datetime
) -> Iterator[tuple[int, date, float]]:
    """``(customer_id, local day, amount paid that day)`` for purchases paid before ``until``.

    Orders of a customer merged into another count for the survivor. Orders without a customer or
    with a non-positive amount (gifts, adjustments) are not purchases a spend model can use.
    """
    if session.get_bind().dialect.name == "postgresql":
        local_day = func.date(func.timezone(zone.key, Order.paid_at))
    else:
        # SQLite keeps naive UTC text and knows no time zones: shift by the zone's offset at
        # ``until``, exact for zones without daylight saving time (all of China's).
        offset = until.astimezone(zone).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        local_day = func.date(Order.paid_at, literal_column(f"'{minutes:+d} minutes'"))
    customer_id = func.coalesce(Customer.merged_into_id, Customer.id)
    statement = scoped(
        select(customer_id, local_day, func.sum(Order.amount))
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.status.in_(PURCHASE_STATUSES),
            Order.amount > 0,
            Order.paid_at < until,
        )
        .group_by(customer_id, local_day),
        Order,
        principal,
    )
    for customer, day, amount in session.execute(statement).yield_per(10_000):
        yield int(customer), day if isinstance(day, date) else date.fromisoformat(day), float(amount)
