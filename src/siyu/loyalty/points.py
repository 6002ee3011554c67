"""The points ledger: earn, spend, adjust and expire, each entry once per idempotency key.

Every change is one ``points_entry`` row and one conditional UPDATE of ``member.points_balance`` in
SQL (``balance = balance - n WHERE balance >= n``), never read-then-write. Entries that add points
are lots: ``remaining`` is what is left of them, ``expires_at = occurred_at + N months``. Spending
takes from the lots that expire first (FIFO), in one UPDATE over a running sum. So the balance is
always the sum of the remaining lots.

Concurrency: the entry is inserted first (``ON CONFLICT DO NOTHING`` on the corp's idempotency key:
a second caller with the key waits for the first and then writes nothing); the balance UPDATE then
locks the member row, so spends of one member are serialised and each sees the lots as the one
before it left them. A refusal rolls back to a savepoint, leaving no entry.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, Select, String, and_, case, cast, exists, func, literal, null, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.loyalty import members, repository
from siyu.models.loyalty import Member, PointsEntry, PointsKind
from siyu.models.order import PURCHASE_STATUSES, Order

entries = PointsEntry.__table__
#: Orders per statement of the earn sweep.
ORDER_CHUNK = 5000


@dataclass(frozen=True)
class PointsOutcome:
    """``entry`` is the new entry, or the earlier one with the same key (``applied`` False);
    ``refusal`` says why nothing happened (``insufficient_points``, ``not_a_member``)."""

    entry: PointsEntry | None
    applied: bool
    refusal: str | None
    balance: int


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months; the 31st becomes the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def expiry_for(session: Session, corp_id: int, occurred_at: datetime) -> datetime | None:
    months = members.settings(session, corp_id).points_validity_months
    return add_months(occurred_at, months) if months else None


def earn(session: Session, corp_id: int, customer_id: int, points: int, *, source_kind: str,
         idempotency_key: str, now: datetime, source_ref: str | None = None, order_id: int | None = None,
         note: str | None = None, user_id: int | None = None, kind: PointsKind = PointsKind.earn) -> PointsOutcome:
    """Add ``points`` (> 0) as a lot expiring per the corp's settings; enrols the customer."""
    if points <= 0:
        raise ValueError("earn needs a positive number of points")
    members.enrol(session, corp_id, [customer_id], now=now)
    if repository.get_member(session, corp_id, customer_id) is None:
        return PointsOutcome(None, False, "not_a_member", 0)
    entry_id = _insert_entry(session, corp_id, customer_id, kind, points, source_kind, source_ref, idempotency_key,
                             now, order_id=order_id, note=note, user_id=user_id,
                             expires_at=expiry_for(session, corp_id, now), remaining=points)
    if entry_id is None:
        return _replayed(session, corp_id, customer_id, idempotency_key)
    session.execute(update(Member).where(Member.customer_id == customer_id)
                    .values(points_balance=Member.points_balance + points,
                            points_earned_total=Member.points_earned_total + points, updated_at=now)
                    .execution_options(synchronize_session=False))
    return _applied(session, customer_id, entry_id)


def spend(session: Session, corp_id: int, customer_id: int, points: int, *, source_kind: str,
          idempotency_key: str, now: datetime, source_ref: str | None = None, note: str | None = None,
          user_id: int | None = None, kind: PointsKind = PointsKind.spend) -> PointsOutcome:
    """Take ``points`` (> 0) from the balance, FIFO by expiry; refused when the balance is short."""
    if points <= 0:
        raise ValueError("spend needs a positive number of points")
    session.flush()
    if repository.get_member(session, corp_id, customer_id) is None:
        return PointsOutcome(None, False, "not_a_member", 0)
    savepoint = session.begin_nested()
    entry_id = _insert_entry(session, corp_id, customer_id, kind, -points, source_kind, source_ref,
                             idempotency_key, now, note=note, user_id=user_id)
    if entry_id is None:
        savepoint.rollback()
        return _replayed(session, corp_id, customer_id, idempotency_key)
    taken = session.execute(update(Member).where(Member.customer_id == customer_id,
                                                 Member.points_balance >= points)
                            .values(points_balance=Member.points_balance - points, updated_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    if taken == 0:
        savepoint.rollback()
        return PointsOutcome(None, False, "insufficient_points", repository.balance_of(session, customer_id))
    consume_fifo(session, customer_id, points)
    savepoint.commit()
    return _applied(session, customer_id, entry_id)


def adjust(session: Session, corp_id: int, customer_id: int, points: int, *, idempotency_key: str,
           now: datetime, note: str | None = None, user_id: int | None = None, source_kind: str = "manual",
           source_ref: str | None = None) -> PointsOutcome:
    """An operator's correction: positive adds a lot, negative spends FIFO (refused below zero)."""
    if points == 0:
        raise ValueError("an adjustment changes the balance")
    common = dict(source_kind=source_kind, idempotency_key=idempotency_key, now=now, source_ref=source_ref,
                  note=note, user_id=user_id, kind=PointsKind.adjust)
    if points > 0:
        return earn(session, corp_id, customer_id, points, **common)
    members.enrol(session, corp_id, [customer_id], now=now)
    return spend(session, corp_id, customer_id, -points, **common)


def consume_fifo(session: Session, customer_id: int, points: int) -> None:
    """Take ``points`` from the customer's lots, those expiring first first (never-expiring last)."""
    never_last = case((PointsEntry.expires_at.is_(None), 1), else_=0)
    running = (select(PointsEntry.id.label("id"), PointsEntry.remaining.label("remaining"),
                      func.sum(PointsEntry.remaining).over(
                          order_by=(never_last, PointsEntry.expires_at, PointsEntry.id)).label("through"))
               .where(PointsEntry.customer_id == customer_id, PointsEntry.remaining > 0).subquery())
    before = running.c.through - running.c.remaining
    take = case((running.c.through <= points, running.c.remaining), else_=points - before)
    session.execute(update(PointsEntry).where(PointsEntry.id == running.c.id, before < points)
                    .values(remaining=PointsEntry.remaining - take)
                    .execution_options(synchronize_session=False))
    members.expire_loaded(session, PointsEntry)


def _insert_entry(session: Session, corp_id: int, customer_id: int, kind: PointsKind, points: int, source_kind: str,
                  source_ref: str | None, idempotency_key: str, now: datetime, *, order_id: int | None = None,
                  note: str | None = None, user_id: int | None = None, expires_at: datetime | None = None,
                  remaining: int = 0) -> int | None:
    row = dict(corp_id=corp_id, customer_id=customer_id, kind=kind.value, points=points, source_kind=source_kind,
               source_ref=source_ref, order_id=order_id, idempotency_key=idempotency_key, note=note,
               occurred_at=now, expires_at=expires_at, remaining=remaining, created_by_user_id=user_id,
               created_at=now)
    statement = (dialect_insert(session, entries).on_conflict_do_nothing(index_elements=["corp_id", "idempotency_key"])
                 .returning(entries.c.id))
    return session.execute(statement, row).scalar_one_or_none()


def _applied(session: Session, customer_id: int, entry_id: int) -> PointsOutcome:
    entry = session.get(PointsEntry, entry_id)
    return PointsOutcome(entry, True, None, repository.balance_of(session, customer_id))


def _replayed(session: Session, corp_id: int, customer_id: int, idempotency_key: str) -> PointsOutcome:
    entry = repository.entry_by_key(session, corp_id, idempotency_key)
    return PointsOutcome(entry, False, None, repository.balance_of(session, customer_id))


# -- expiry ---------------------------------------------------------------------------------------------

def _due_lots(corp_id: int, now: datetime):
    return and_(PointsEntry.corp_id == corp_id, PointsEntry.remaining > 0, PointsEntry.expires_at.is_not(None),
                PointsEntry.expires_at <= now)


def expire_due(session: Session, corp_id: int, *, now: datetime) -> int:
    """Expire what is left of every lot due by ``now``: one ``expire`` entry per lot (key
    ``expire:<lot id>``), balances lowered, lots emptied. Returns the points expired."""
    session.flush()
    due = _due_lots(corp_id, now)
    customers = select(PointsEntry.customer_id).where(due).distinct()
    # Lock the members first, in one order: a spend that runs meanwhile waits, and a spend that ran
    # before has already left its lots as they are now.
    session.execute(select(Member.customer_id).where(Member.customer_id.in_(customers))
                    .order_by(Member.customer_id).with_for_update())
    total = session.scalar(select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(due)) or 0
    if not total:
        return 0
    lots = select(
        PointsEntry.corp_id, PointsEntry.customer_id, literal(PointsKind.expire.value), -PointsEntry.remaining,
        literal("expiry"), cast(PointsEntry.id, String), literal("expire:") + cast(PointsEntry.id, String),
        literal(now, PointsEntry.occurred_at.type), literal(0), literal(now, PointsEntry.created_at.type),
    ).where(due)
    session.execute(dialect_insert(session, entries).from_select(
        ["corp_id", "customer_id", "kind", "points", "source_kind", "source_ref", "idempotency_key", "occurred_at",
         "remaining", "created_at"], lots).on_conflict_do_nothing(index_elements=["corp_id", "idempotency_key"]))
    expiring = (select(func.coalesce(func.sum(PointsEntry.remaining), 0))
                .where(due, PointsEntry.customer_id == Member.customer_id).correlate(Member).scalar_subquery())
    session.execute(update(Member).where(Member.corp_id == corp_id, Member.customer_id.in_(customers))
                    .values(points_balance=Member.points_balance - expiring, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.execute(update(PointsEntry).where(due).values(remaining=0).execution_options(synchronize_session=False))
    members.expire_loaded(session, Member)
    members.expire_loaded(session, PointsEntry)
    return int(total)


@dataclass(frozen=True)
class ExpiringPoints:
    customer_id: int
    points: int
    first_expires_at: datetime


def expiring_points_query(corp_id: int, *, now: datetime, within_days: int) -> Select:
    """Per customer: points of lots expiring in ``(now, now + within_days]`` and the first expiry."""
    horizon = now + timedelta(days=within_days)
    return (select(PointsEntry.customer_id.label("customer_id"), func.sum(PointsEntry.remaining).label("points"),
                   func.min(PointsEntry.expires_at).label("first_expires_at"))
            .where(PointsEntry.corp_id == corp_id, PointsEntry.remaining > 0, PointsEntry.expires_at > now,
                   PointsEntry.expires_at <= horizon)
            .group_by(PointsEntry.customer_id))


def expiring_points(session: Session, corp_id: int, *, now: datetime, within_days: int,
                    customer_ids: list[int] | None = None, visible: Select | None = None) -> list[ExpiringPoints]:
    statement = expiring_points_query(corp_id, now=now, within_days=within_days)
    if customer_ids is not None:
        statement = statement.where(repository.among(session, PointsEntry.customer_id, customer_ids))
    if visible is not None:
        statement = statement.where(PointsEntry.customer_id.in_(visible.scalar_subquery()))
    rows = session.execute(statement.order_by(PointsEntry.customer_id))
    return [ExpiringPoints(customer_id, int(points), first) for customer_id, points, first in rows]


# -- earning from orders --------------------------------------------------------------------------------

def earn_for_orders(session: Session, corp_id: int, order_ids: list[int] | None = None, *, now: datetime) -> int:
    """Points for purchase orders with a customer, once per order (key ``order:<id>``):
    ``floor(amount × points_per_yuan)``, a lot from the order's payment time. ``order_ids=None``
    sweeps every order not yet earned. Returns the points added."""
    rate = members.settings(session, corp_id).points_per_yuan
    if rate <= 0:
        return 0
    session.flush()
    earned = (exists().where(PointsEntry.order_id == Order.id, PointsEntry.kind == PointsKind.earn.value))
    raw = Order.amount * literal(rate)
    points = func.floor(raw) if repository.is_postgresql(session) else cast(raw, Integer)
    base = (select(Order.id).where(Order.corp_id == corp_id, Order.customer_id.is_not(None),
                                   Order.status.in_(PURCHASE_STATUSES), raw >= 1, ~earned))
    if order_ids is not None:
        base = base.where(repository.among(session, Order.id, order_ids))
    # every buyer enrolled first, in one statement
    members.enrol(session, corp_id, base.with_only_columns(Order.customer_id).distinct(), now=now)
    total = 0
    last_id = 0
    while True:
        statement = base.where(Order.id > last_id).order_by(Order.id).limit(ORDER_CHUNK)
        chunk = list(session.scalars(statement))
        if not chunk:
            return total
        last_id = chunk[-1]
        total += _earn_chunk(session, corp_id, chunk, points, now)


def _earn_chunk(session: Session, corp_id: int, order_ids: list[int], points, now: datetime) -> int:
    months = members.settings(session, corp_id).points_validity_months
    lots = (select(literal(corp_id), Order.customer_id, literal(PointsKind.earn.value), points, literal("order"),
                   Order.order_no, Order.id, literal("order:") + cast(Order.id, String), Order.paid_at,
                   months_after(session, Order.paid_at, months), points, literal(now, PointsEntry.created_at.type))
            .join(Member, Member.customer_id == Order.customer_id)
            .where(repository.among(session, Order.id, order_ids)))
    inserted = session.scalars(
        dialect_insert(session, entries).from_select(
            ["corp_id", "customer_id", "kind", "points", "source_kind", "source_ref", "order_id", "idempotency_key",
             "occurred_at", "expires_at", "remaining", "created_at"], lots)
        .on_conflict_do_nothing(index_elements=["corp_id", "idempotency_key"]).returning(entries.c.id)).all()
    if not inserted:
        return 0
    added = (select(PointsEntry.customer_id, func.sum(PointsEntry.points).label("points"))
             .where(repository.among(session, PointsEntry.id, inserted)).group_by(PointsEntry.customer_id).subquery())
    session.execute(update(Member).where(Member.customer_id == added.c.customer_id)
                    .values(points_balance=Member.points_balance + added.c.points,
                            points_earned_total=Member.points_earned_total + added.c.points, updated_at=now)
                    .execution_options(synchronize_session=False))
    members.expire_loaded(session, Member)
    return int(session.scalar(select(func.sum(PointsEntry.points)).where(
        repository.among(session, PointsEntry.id, inserted))) or 0)


def months_after(session: Session, moment, months: int):
    """SQL for ``moment`` plus ``months`` calendar months, the month's last day when the day does not
    exist (PostgreSQL's interval arithmetic; on SQLite ``add_months`` as a function), or NULL for 0."""
    if not months:
        return null()
    if repository.is_postgresql(session):
        return moment + func.make_interval(0, months)
    connection = session.connection().connection.driver_connection
    connection.create_function("siyu_add_months", 2, _sqlite_add_months, deterministic=True)
    return func.siyu_add_months(moment, months, type_=PointsEntry.expires_at.type)


def _sqlite_add_months(stored: str | None, months: int) -> str | None:
    # SQLite stores UtcDateTime as naive ISO text in UTC
    if stored is None:
        return None
    return add_months(datetime.fromisoformat(stored), months).strftime("%Y-%m-%d %H:%M:%S.%f")
