"""The per-customer daily event rollup (``customer_event_day``) that event conditions read.

Counts are kept per customer, event name and *local* day (the corp's time zone), so "within 7d" means
today and the six days before, as an operator reads a calendar. The rollup is rebuilt, not added to,
for the customers whose events arrived since the last tick (``event.received_at`` with an overlap,
so an event whose transaction committed late is still seen) and for both sides of every merge or
split since then: a rebuild from the raw events is idempotent, so reading an event twice never
counts it twice. The first tick of a corp builds the whole rollup in one statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, delete, func, or_, select, text, union
from sqlalchemy.orm import Session

from siyu.models.corp import Corp
from siyu.models.event import Event
from siyu.models.identity import CustomerMerge
from siyu.models.segment import CustomerEventDay

#: how far before the last watermark a tick looks again (longer than any ingest transaction)
OVERLAP = timedelta(seconds=60)
CHUNK = 5000


def local_day(session: Session, column, timezone: str):
    """The corp-local date of a UTC timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(timezone, column), Date)
    # SQLite keeps naive UTC text; zones without daylight saving (Asia/Shanghai) have one offset.
    offset = ZoneInfo(timezone).utcoffset(datetime(2026, 1, 1))
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return func.date(column, f"{minutes:+d} minutes")


def corp_timezone(session: Session, corp_id: int) -> str:
    return session.scalar(select(Corp.timezone).where(Corp.id == corp_id)) or "Asia/Shanghai"


def rebuild(session: Session, corp_id: int, customer_ids: Iterable[int] | None) -> int:
    """Recount these customers' rollup rows from their raw events (all of the corp with ``None``).
    Returns how many customers were rebuilt (or -1 for the whole corp)."""
    timezone = corp_timezone(session, corp_id)
    day = local_day(session, Event.timestamp, timezone).label("day")

    def recount(filters: list) -> None:
        source = (select(Event.customer_id, Event.name, day, Event.corp_id, func.count())
                  .where(Event.corp_id == corp_id, Event.customer_id.is_not(None), Event.name.is_not(None),
                         *filters)
                  .group_by(Event.customer_id, Event.name, day, Event.corp_id)
                  # in key order, so the primary key index is appended to rather than split at random
                  .order_by(Event.customer_id, Event.name, day))
        session.execute(CustomerEventDay.__table__.insert().from_select(
            ["customer_id", "name", "day", "corp_id", "count"], source))

    if customer_ids is None:
        session.execute(delete(CustomerEventDay).where(CustomerEventDay.corp_id == corp_id))
        if session.get_bind().dialect.name == "postgresql":
            # one aggregation over every event of the corp: room to sort and hash in memory, for this
            # transaction only
            session.execute(text("SET LOCAL work_mem = '256MB'"))
        recount([])
        return -1
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        session.execute(delete(CustomerEventDay).where(CustomerEventDay.corp_id == corp_id,
                                                       CustomerEventDay.customer_id.in_(chunk)))
        recount([Event.customer_id.in_(chunk)])
    return len(ids)


def customers_with_new_events(session: Session, corp_id: int, since: datetime) -> list[int]:
    """Customers whose events arrived since ``since``, and both sides of merges and splits since."""
    arrived = select(Event.customer_id).where(Event.corp_id == corp_id, Event.received_at >= since,
                                              Event.customer_id.is_not(None))
    merged = or_(CustomerMerge.merged_at >= since, CustomerMerge.undone_at >= since)
    survivors = select(CustomerMerge.survivor_id).where(CustomerMerge.corp_id == corp_id, merged)
    merged_away = select(CustomerMerge.merged_id).where(CustomerMerge.corp_id == corp_id, merged)
    return sorted(session.scalars(union(arrived, survivors, merged_away)))


def refresh(session: Session, corp_id: int, events_seen_at: datetime | None, now: datetime) -> list[int]:
    """Bring the rollup up to ``now``; returns the customers rebuilt (empty after a full build)."""
    if events_seen_at is None:
        rebuild(session, corp_id, None)
        return []
    customers = customers_with_new_events(session, corp_id, events_seen_at - OVERLAP)
    rebuild(session, corp_id, customers)
    return customers
