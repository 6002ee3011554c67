"""Triggers: each live journey reads its source incrementally (rows with an id above its cursor, or
the next calendar day for date triggers) and enrols the customers it finds, set-wise.

A tick also wakes enrolments waiting for an event that has arrived and records goal conversions.
Ticks are safe to run from many workers at once: the cursor row is locked (``SKIP LOCKED`` on
PostgreSQL) while a journey's trigger is read, and enrolment is ``INSERT … ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from siyu.journey import engine, ports
from siyu.journey.definition import Flow
from siyu.kit.db import dialect_insert
from siyu.models.customer import Customer, Relation
from siyu.models.event import Event
from siyu.models.journey import Journey, JourneyTriggerCursor, JourneyVersion
from siyu.models.order import PURCHASE_STATUSES, Order
from siyu.models.tag import TagHistory

#: trigger type → the enrolment ``source`` it records
SOURCES = {"channel_code": "channel_code", "segment_entered": "segment", "segment_left": "segment",
           "event": "event", "order_placed": "order", "tag_added": "tag", "date_trait": "date", "manual": "manual"}
READ_LIMIT = 10000


def _source_query(session: Session, journey: Journey, trigger: dict[str, Any]):
    """(select of (id, customer_id, reference), id column) for id-cursor triggers."""
    kind = trigger["type"]
    if kind == "channel_code":
        state = trigger.get("state") or ports.channel_code_state(session, journey.corp_id, trigger["channel_code_id"])
        return (select(Relation.id, Relation.customer_id, Relation.staff_id)
                .where(Relation.corp_id == journey.corp_id, Relation.state == state), Relation.id)
    if kind == "event":
        return (select(Event.id, Event.customer_id, Event.name)
                .where(Event.corp_id == journey.corp_id, Event.name == trigger["name"],
                       Event.customer_id.is_not(None)), Event.id)
    if kind == "order_placed":
        query = (select(Order.id, Order.customer_id, Order.order_no)
                 .where(Order.corp_id == journey.corp_id, Order.customer_id.is_not(None),
                        Order.status.in_(PURCHASE_STATUSES)))
        if trigger.get("min_amount") is not None:
            query = query.where(Order.amount >= Decimal(str(trigger["min_amount"])))
        if trigger.get("platform"):
            query = query.where(Order.platform == trigger["platform"])
        return query, Order.id
    if kind == "tag_added":
        return (select(TagHistory.id, TagHistory.customer_id, TagHistory.tag_id)
                .where(TagHistory.corp_id == journey.corp_id, TagHistory.tag_id == trigger["tag_id"],
                       TagHistory.action == "add"), TagHistory.id)
    return None, None


def start_cursor(session: Session, journey: Journey, flow: Flow, now: datetime) -> None:
    """Place a journey's cursor at the present when it goes live, so only what happens from now on
    enrols customers (history does not flood a new journey)."""
    last_id = 0
    trigger = flow.trigger
    if trigger["type"] in ("segment_entered", "segment_left"):
        last_id = _segment_high_water(session, journey, trigger)
    else:
        try:
            query, column = _source_query(session, journey, trigger)
        except ports.Unavailable:
            query, column = None, None
        if query is not None:
            last_id = session.scalar(select(func.max(column)).where(column.is_not(None))) or 0
    statement = dialect_insert(session, JourneyTriggerCursor.__table__)
    local_yesterday = (now.astimezone(flow.timezone) - timedelta(days=1)).date().isoformat()
    session.execute(statement.on_conflict_do_update(
        index_elements=["journey_id"], set_={"last_id": statement.excluded.last_id,
                                             "last_day": statement.excluded.last_day}),
        dict(journey_id=journey.id, corp_id=journey.corp_id, last_id=last_id, last_day=local_yesterday,
             checked_at=now))


def _segment_high_water(session: Session, journey: Journey, trigger: dict[str, Any]) -> int:
    try:
        changes = ports.segment_changes(session, journey.corp_id, trigger["segment_id"], 0,
                                        trigger["type"] == "segment_entered", 10**9)
    except ports.Unavailable:
        return 0
    return max((change_id for change_id, _ in changes), default=0)


def _date_candidates(session: Session, journey: Journey, flow: Flow, day: str) -> list[tuple[int, dict]]:
    trigger = flow.trigger
    days_before = trigger.get("days_before", 0)
    if trigger["trait"] == "birthday":
        target = datetime.fromisoformat(day) + timedelta(days=days_before)
        rows = session.scalars(select(Customer.id).where(
            Customer.corp_id == journey.corp_id, Customer.merged_into_id.is_(None),
            extract("month", Customer.birthday) == target.month, extract("day", Customer.birthday) == target.day))
    else:
        rows = session.scalars(ports.date_trait_customers(session, journey.corp_id, trigger["trait"], day,
                                                          days_before))
    return [(customer_id, {"trigger": "date_trait", "day": day}) for customer_id in rows]


def read_trigger(session: Session, journey: Journey, version: JourneyVersion, now: datetime,
                 is_sqlite: bool) -> int:
    """Enrol what the journey's trigger saw since its cursor; returns how many were enrolled."""
    flow = engine.flow_of(session, version.id)
    trigger = flow.trigger
    if trigger["type"] == "manual":
        return 0
    cursor_query = select(JourneyTriggerCursor).where(JourneyTriggerCursor.journey_id == journey.id)
    if not is_sqlite:
        cursor_query = cursor_query.with_for_update(skip_locked=True)
    cursor = session.scalars(cursor_query).one_or_none()
    if cursor is None:
        return 0
    candidates: list[tuple[int, dict]] = []
    if trigger["type"] == "date_trait":
        local = now.astimezone(flow.timezone)
        hour, minute = (int(p) for p in trigger.get("at", "09:00").split(":"))
        today = local.date().isoformat()
        if cursor.last_day is not None and cursor.last_day >= today or (local.hour, local.minute) < (hour, minute):
            return 0
        candidates = _date_candidates(session, journey, flow, today)
        cursor.last_day = today
    elif trigger["type"] in ("segment_entered", "segment_left"):
        changes = ports.segment_changes(session, journey.corp_id, trigger["segment_id"], cursor.last_id,
                                        trigger["type"] == "segment_entered", READ_LIMIT)
        for change_id, customer_id in changes:
            candidates.append((customer_id, {"trigger": trigger["type"], "change_id": change_id}))
            cursor.last_id = max(cursor.last_id, change_id)
    else:
        query, column = _source_query(session, journey, trigger)
        rows = session.execute(query.where(column > cursor.last_id).order_by(column).limit(READ_LIMIT)).all()
        for row_id, customer_id, reference in rows:
            candidates.append((customer_id, {"trigger": trigger["type"], "ref": str(reference), "row_id": row_id}))
            cursor.last_id = max(cursor.last_id, row_id)
    cursor.checked_at = now
    candidates = _first_per_customer(candidates)
    if trigger.get("condition") and candidates:
        matched = ports.matching(session, journey.corp_id, trigger["condition"], [c for c, _ in candidates], now)
        candidates = [(c, ctx) for c, ctx in candidates if c in matched]
    return len(engine.enrol(session, journey, version, candidates, source=SOURCES[trigger["type"]], now=now))


def _first_per_customer(candidates: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    seen: dict[int, dict] = {}
    for customer_id, context in candidates:
        seen.setdefault(customer_id, context)
    return list(seen.items())


def live_journeys(session: Session) -> list[tuple[Journey, JourneyVersion]]:
    return list(session.execute(
        select(Journey, JourneyVersion).join(JourneyVersion, (JourneyVersion.journey_id == Journey.id)
                                             & (JourneyVersion.version == Journey.live_version))
        .where(Journey.status == "live")).all())


def tick(session: Session, now: datetime, *, is_sqlite: bool) -> dict[str, int]:
    """Read every live journey's trigger, wake event waits and record goals."""
    totals = {"enrolled": 0, "woken": 0, "converted": 0, "failed": 0}
    for journey, version in live_journeys(session):
        flow = engine.flow_of(session, version.id)
        try:
            with session.begin_nested():
                totals["enrolled"] += read_trigger(session, journey, version, now, is_sqlite)
        except ports.Unavailable:
            totals["failed"] += 1
        totals["woken"] += engine.wake_event_waits(session, journey.id, flow, now)
        totals["converted"] += engine.record_goal(session, journey.id, flow, now)
    return totals
