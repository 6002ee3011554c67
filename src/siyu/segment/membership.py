"""Maintained membership of dynamic segments, and the change log journeys consume.

A tick (``refresh_corp``) for one corp:

1. brings the event rollup up to date (``rollup.refresh``);
2. derives the *dirty set* — customers any of whose facts changed since the last tick — from the
   watermark columns of the tables segments read (``customer.updated_at``, ``customer_trait
   .updated_at``, ``tag_history.at``, ``relation.updated_at``, ``relation_tag.tagged_at``,
   ``event.received_at``, ``customer_order.updated_at``, ``group_chat_member.updated_at``, merges and
   the change log of static segments), looking ``OVERLAP`` further back so late commits are not
   missed — no hooks in other domains are needed. Touches and member levels live in tables without
   a corp-wide time index (other domains'), so conditions on them count as time-sensitive instead;
3. re-evaluates every dynamic segment for the dirty customers only, and fully (every customer) when it
   was never filled, when it is time-sensitive (a relative window: time alone changes who matches) and
   its last full run is older than ``TIME_SENSITIVE_EVERY``, and at least every ``FULL_EVERY``.

Entries insert a ``segment_membership`` row; exits close it (``exited_at``). Each entry and exit is
also a ``segment_change`` row, inserted set-based after the membership statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, literal, or_, select, union, update
from sqlalchemy.orm import Session

from siyu.models.customer import Customer, Relation
from siyu.models.event import Event
from siyu.models.group import GroupChatMember
from siyu.models.identity import CustomerMerge
from siyu.models.order import Order
from siyu.models.segment import Segment, SegmentChange, SegmentMembership, SegmentRefreshState
from siyu.models.tag import RelationTag, TagHistory
from siyu.models.trait import CustomerTrait
from siyu.segment import language as lang
from siyu.segment import rollup
from siyu.segment.compiler import Compiler

OVERLAP = rollup.OVERLAP
TIME_SENSITIVE_EVERY = timedelta(minutes=15)
FULL_EVERY = timedelta(hours=24)
#: candidates per statement (SQLite binds each one in every set of the definition)
CHUNK = 2000


@dataclass
class RefreshResult:
    segment_id: int
    full: bool
    evaluated: int | None
    entered: int
    exited: int
    member_count: int


def changes_after(session: Session, corp_id: int, after_id: int, *, segment_ids: list[int] | None = None,
                  limit: int = 1000) -> list[SegmentChange]:
    """The corp's membership changes with ``id > after_id``, oldest first (``limit`` at most)."""
    statement = select(SegmentChange).where(SegmentChange.corp_id == corp_id, SegmentChange.id > after_id)
    if segment_ids is not None:
        statement = statement.where(SegmentChange.segment_id.in_(segment_ids))
    return list(session.scalars(statement.order_by(SegmentChange.id).limit(limit)))


def dirty_customers(session: Session, corp_id: int, since: datetime) -> list[int]:
    """Every customer of the corp whose segment-relevant facts changed at or after ``since``."""
    merged = or_(CustomerMerge.merged_at >= since, CustomerMerge.undone_at >= since)
    sources: list[Select] = [
        select(Customer.id).where(Customer.corp_id == corp_id, Customer.updated_at >= since),
        select(CustomerTrait.customer_id).where(CustomerTrait.corp_id == corp_id, CustomerTrait.updated_at >= since),
        select(TagHistory.customer_id).where(TagHistory.corp_id == corp_id, TagHistory.at >= since),
        select(Relation.customer_id).where(Relation.corp_id == corp_id, Relation.updated_at >= since),
        select(Relation.customer_id).join(RelationTag, RelationTag.relation_id == Relation.id)
        .where(RelationTag.corp_id == corp_id, RelationTag.tagged_at >= since),
        select(Event.customer_id).where(Event.corp_id == corp_id, Event.received_at >= since),
        select(Order.customer_id).where(Order.corp_id == corp_id, Order.updated_at >= since),
        select(GroupChatMember.customer_id).where(GroupChatMember.corp_id == corp_id,
                                                  GroupChatMember.updated_at >= since),
        select(CustomerMerge.survivor_id).where(CustomerMerge.corp_id == corp_id, merged),
        select(CustomerMerge.merged_id).where(CustomerMerge.corp_id == corp_id, merged),
        select(SegmentChange.customer_id).join(Segment, Segment.id == SegmentChange.segment_id)
        .where(SegmentChange.corp_id == corp_id, SegmentChange.at >= since, Segment.kind == "static"),
    ]
    return sorted(customer_id for customer_id in session.scalars(union(*sources)) if customer_id is not None)


def _current(segment_id: int):
    return (SegmentMembership.segment_id == segment_id, SegmentMembership.exited_at.is_(None))


def apply_matching(session: Session, segment: Segment, matching: Select, candidates: list[int] | None,
                   now: datetime) -> tuple[int, int]:
    """Make the current members among ``candidates`` (everyone with ``None``) exactly ``matching``
    (a SELECT of customer ids). Returns (entered, exited); the changes are logged."""
    dialect = session.get_bind().dialect.name
    matched = matching.subquery("matched")
    is_member = exists(select(literal(1)).select_from(SegmentMembership).where(
        *_current(segment.id), SegmentMembership.customer_id == matched.c[0]))
    session.execute(SegmentMembership.__table__.insert().from_select(
        ["segment_id", "customer_id", "entered_at", "corp_id"],
        select(literal(segment.id), matched.c[0], literal(now, SegmentMembership.entered_at.type),
               literal(segment.corp_id)).where(~is_member)))
    # (the driver's rowcount of INSERT … SELECT is not reliable on every dialect: count the rows)
    entered = session.scalar(select(func.count()).select_from(SegmentMembership).where(
        *_current(segment.id), SegmentMembership.entered_at == now)) or 0
    leaving = [*_current(segment.id), SegmentMembership.entered_at < now]
    if candidates is not None:
        leaving.append(SegmentMembership.customer_id.in_(candidates))
    if dialect == "postgresql":
        again = matching.subquery("again")
        leaving.append(~exists(select(literal(1)).select_from(again)
                               .where(again.c[0] == SegmentMembership.customer_id)))
    else:
        leaving.append(SegmentMembership.customer_id.not_in(matching))
    exited = session.execute(update(SegmentMembership).where(*leaving).values(exited_at=now)
                             .execution_options(synchronize_session=False)).rowcount
    if entered:
        _log(session, segment, "entered", SegmentMembership.entered_at == now, now)
    if exited:
        _log(session, segment, "exited", SegmentMembership.exited_at == now, now)
    return entered, exited


def apply_chunk(session: Session, segment: Segment, matching: Select, chunk: list[int],
                now: datetime) -> tuple[int, int]:
    """``apply_matching`` for one chunk of dirty customers: the matching ids are read once (a chunk is
    small), and the entries and exits written from the two lists."""
    matched = set(session.scalars(matching))
    current = set(session.scalars(select(SegmentMembership.customer_id).where(
        *_current(segment.id), SegmentMembership.customer_id.in_(chunk))))
    entering, leaving = sorted(matched - current), sorted(current - matched)
    if entering:
        session.execute(SegmentMembership.__table__.insert(), [
            {"segment_id": segment.id, "customer_id": customer_id, "entered_at": now, "corp_id": segment.corp_id}
            for customer_id in entering])
    if leaving:
        session.execute(update(SegmentMembership).where(*_current(segment.id),
                                                        SegmentMembership.customer_id.in_(leaving))
                        .values(exited_at=now).execution_options(synchronize_session=False))
    changes = [("entered", customer_id) for customer_id in entering] + [("exited", c) for c in leaving]
    if changes:
        session.execute(SegmentChange.__table__.insert(), [
            {"corp_id": segment.corp_id, "segment_id": segment.id, "customer_id": customer_id, "change": change,
             "at": now} for change, customer_id in changes])
    return len(entering), len(leaving)


def _log(session: Session, segment: Segment, change: str, moment_filter, now: datetime) -> None:
    rows = (select(literal(segment.corp_id), literal(segment.id), SegmentMembership.customer_id, literal(change),
                   literal(now, SegmentChange.at.type))
            .where(SegmentMembership.segment_id == segment.id, moment_filter)
            .order_by(SegmentMembership.customer_id))
    session.execute(SegmentChange.__table__.insert().from_select(
        ["corp_id", "segment_id", "customer_id", "change", "at"], rows))


def current_count(session: Session, segment_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SegmentMembership).where(*_current(segment_id))) or 0


def refresh_segment(session: Session, segment: Segment, now: datetime, *, dirty: list[int] | None) -> RefreshResult:
    """Re-evaluate one dynamic segment: for ``dirty`` customers, or fully with ``None``."""
    definition = lang.parse_definition(segment.definition)
    entered = exited = 0
    if dirty is None:
        matching = Compiler(session, segment.corp_id, now).customer_ids(definition.condition)
        entered, exited = apply_matching(session, segment, matching, None, now)
        segment.full_refreshed_at = now
    else:
        for start in range(0, len(dirty), CHUNK):
            chunk = dirty[start:start + CHUNK]
            matching = Compiler(session, segment.corp_id, now, chunk).customer_ids(definition.condition)
            done = apply_chunk(session, segment, matching, chunk, now)
            entered, exited = entered + done[0], exited + done[1]
    segment.refreshed_at = now
    segment.watermark_at = now
    segment.member_count = current_count(session, segment.id)
    session.flush()
    return RefreshResult(segment.id, dirty is None, None if dirty is None else len(dirty), entered, exited,
                         segment.member_count)


def needs_full(segment: Segment, now: datetime) -> bool:
    if segment.full_refreshed_at is None:
        return True
    if now - segment.full_refreshed_at >= FULL_EVERY:
        return True
    definition = lang.parse_definition(segment.definition)
    return definition.time_sensitive() and now - segment.full_refreshed_at >= TIME_SENSITIVE_EVERY


def refresh_state(session: Session, corp_id: int, now: datetime) -> SegmentRefreshState:
    state = session.get(SegmentRefreshState, corp_id)
    if state is None:
        state = SegmentRefreshState(corp_id=corp_id, updated_at=now)
        session.add(state)
        session.flush()
    return state


def refresh_corp(session: Session, corp_id: int, now: datetime, *, segment_ids: list[int] | None = None,
                 force_full: bool = False) -> list[RefreshResult]:
    """One tick for a corp (see the module docstring). ``segment_ids`` limits it to those segments."""
    state = refresh_state(session, corp_id, now)
    rollup.refresh(session, corp_id, state.events_seen_at, now)
    state.events_seen_at = now
    dirty: list[int] | None = None
    if state.changes_seen_at is not None:
        dirty = dirty_customers(session, corp_id, state.changes_seen_at - OVERLAP)
    statement = select(Segment).where(Segment.corp_id == corp_id, Segment.kind == "dynamic",
                                      Segment.definition.is_not(None)).order_by(Segment.id)
    if segment_ids is not None:
        statement = statement.where(Segment.id.in_(segment_ids))
    results = []
    for segment in session.scalars(statement).all():
        full = force_full or dirty is None or needs_full(segment, now)
        results.append(refresh_segment(session, segment, now, dirty=None if full else dirty))
    if segment_ids is None:
        state.changes_seen_at = now
    state.updated_at = now
    session.flush()
    return results
