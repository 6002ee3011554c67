"""Membership: the corp's levels and settings, enrolment, and level recomputation.

A customer is enrolled once (``member`` keyed by customer). Their membership number is the
``member_no`` identity they already have (imported from a POS or CRM), else ``<prefix><id>``,
which is then written as their ``member_no`` identity so identity resolution finds them by it.

Levels are recomputed set-based in one UPDATE: a member holds the highest-ranked level whose
threshold they meet (total spend from ``customer_trait`` or lifetime points); only members whose
level changes are written. Levels follow spend both ways: a refund can lower a level.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, String, and_, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.tenancy import Principal
from siyu.loyalty import repository
from siyu.models.customer import Customer, Identity, IdentityKind
from siyu.models.loyalty import LoyaltySettings, Member, MemberLevel, PointsEntry
from siyu.models.trait import CustomerTrait

#: Customers per statement (SQLite's bound-parameter limit; short statements).
CHUNK_SIZE = 2000


# -- settings -------------------------------------------------------------------------------------------

def settings(session: Session, corp_id: int) -> LoyaltySettings:
    """The corp's settings (defaults, unsaved, until an operator changes them)."""
    stored = repository.settings_of(session, corp_id)
    if stored is not None:
        return stored
    return LoyaltySettings(corp_id=corp_id, points_per_yuan=Decimal("1.00"), points_validity_months=12,
                           member_no_prefix="M")


def update_settings(session: Session, corp_id: int, *, now: datetime, points_per_yuan: Decimal | None = None,
                    points_validity_months: int | None = None, member_no_prefix: str | None = None
                    ) -> LoyaltySettings:
    stored = repository.settings_of(session, corp_id)
    if stored is None:
        current = settings(session, corp_id)
        stored = LoyaltySettings(corp_id=corp_id, points_per_yuan=current.points_per_yuan,
                                 points_validity_months=current.points_validity_months,
                                 member_no_prefix=current.member_no_prefix, created_at=now, updated_at=now)
        session.add(stored)
    if points_per_yuan is not None:
        stored.points_per_yuan = cents(points_per_yuan)
    if points_validity_months is not None:
        stored.points_validity_months = points_validity_months
    if member_no_prefix is not None:
        stored.member_no_prefix = member_no_prefix
    stored.updated_at = now
    session.flush()
    ensure_daily_run(session, now)
    return stored


def ensure_daily_run(session: Session, now: datetime) -> None:
    """A programme exists, so the daily run (earn sweep, expiry, levels) must be queued."""
    from siyu.loyalty.tasks import ensure_schedule

    ensure_schedule(session, now)


# -- levels ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LevelDraft:
    name: str
    rank: int
    min_spend: Decimal | None = None
    min_points: int | None = None
    description: str | None = None


def cents(amount: Decimal | int | str | None) -> Decimal | None:
    """``amount`` to two places, as the database stores it (so a fresh object reads as a stored one)."""
    return None if amount is None else Decimal(amount).quantize(Decimal("0.01"))


def _check_level(session: Session, corp_id: int, draft: LevelDraft, except_id: int | None = None) -> None:
    if draft.min_spend is not None and draft.min_spend < 0:
        raise InvalidInput("error.loyalty_negative", field="min_spend")
    if draft.min_points is not None and draft.min_points < 0:
        raise InvalidInput("error.loyalty_negative", field="min_points")
    if repository.level_taken(session, corp_id, name=draft.name, except_id=except_id):
        raise Conflict("error.loyalty_level_name_taken", field="name", name=draft.name)
    if repository.level_taken(session, corp_id, rank=draft.rank, except_id=except_id):
        raise Conflict("error.loyalty_level_rank_taken", field="rank", rank=draft.rank)


def create_level(session: Session, corp_id: int, draft: LevelDraft, *, now: datetime) -> MemberLevel:
    _check_level(session, corp_id, draft)
    level = MemberLevel(corp_id=corp_id, name=draft.name, rank=draft.rank, min_spend=cents(draft.min_spend),
                        min_points=draft.min_points, description=draft.description, created_at=now, updated_at=now)
    session.add(level)
    session.flush()
    ensure_daily_run(session, now)
    return level


def update_level(session: Session, principal: Principal, level_id: int, changes: dict, *, now: datetime
                 ) -> MemberLevel:
    """Change a level; ``changes`` holds only the fields given (``None`` clears a threshold)."""
    level = _level(session, principal, level_id)
    draft = LevelDraft(name=changes.get("name") or level.name,
                       rank=level.rank if changes.get("rank") is None else changes["rank"],
                       min_spend=changes.get("min_spend", level.min_spend),
                       min_points=changes.get("min_points", level.min_points),
                       description=changes.get("description", level.description))
    _check_level(session, level.corp_id, draft, except_id=level.id)
    for name, value in vars(draft).items():
        setattr(level, name, value)
    level.min_spend = cents(level.min_spend)
    level.updated_at = now
    session.flush()
    return level


def delete_level(session: Session, principal: Principal, level_id: int) -> None:
    """Delete a level; its members hold no level until the next recomputation places them."""
    level = _level(session, principal, level_id)
    session.execute(update(Member).where(Member.corp_id == level.corp_id, Member.level_id == level.id)
                    .values(level_id=None))
    session.delete(level)
    session.flush()


def _level(session: Session, principal: Principal, level_id: int) -> MemberLevel:
    level = repository.get_level(session, principal, level_id)
    if level is None:
        raise NotFound("error.loyalty_level_not_found")
    return level


# -- enrolment ------------------------------------------------------------------------------------------

def enrol(session: Session, corp_id: int, customers: Iterable[int] | Select, *, now: datetime,
          birthday: date | None = None) -> int:
    """Enrol these customers — ids, or a ``Select`` of customer ids (one statement for any number)
    — leaving alone those of another corp, merged away or already members. Returns how many were
    newly enrolled. Only flushes."""
    session.flush()
    if isinstance(customers, Select):
        enrolled = _enrol(session, corp_id, lambda column: column.in_(customers), now, birthday)
    else:
        ids = sorted({int(customer_id) for customer_id in customers})
        enrolled = 0
        for start in range(0, len(ids), CHUNK_SIZE):
            chunk = ids[start:start + CHUNK_SIZE]
            enrolled += _enrol(session, corp_id, lambda column, chunk=chunk: repository.among(session, column, chunk),
                               now, birthday)
    expire_loaded(session, Member)
    return enrolled


def _enrol(session: Session, corp_id: int, among, now: datetime, birthday: date | None) -> int:
    prefix = settings(session, corp_id).member_no_prefix
    known = (select(Identity.customer_id, func.min(Identity.value).label("value"))
             .where(Identity.corp_id == corp_id, Identity.kind == IdentityKind.member_no.value,
                    among(Identity.customer_id))
             .group_by(Identity.customer_id).subquery())
    rows = (select(Customer.id, literal(corp_id), func.coalesce(known.c.value, literal(prefix) + cast(Customer.id, String)),
                   literal(now, Member.joined_at.type), literal(birthday, Member.birthday.type), literal(0), literal(0),
                   literal(now, Member.created_at.type), literal(now, Member.updated_at.type))
            .outerjoin(known, known.c.customer_id == Customer.id)
            .where(Customer.corp_id == corp_id, among(Customer.id), Customer.merged_into_id.is_(None)))
    inserted = len(session.scalars(dialect_insert(session, Member.__table__).from_select(
        ["customer_id", "corp_id", "member_no", "joined_at", "birthday", "points_balance", "points_earned_total",
         "created_at", "updated_at"], rows).on_conflict_do_nothing().returning(Member.customer_id)).all())
    if inserted:
        # generated numbers become identities, so resolution finds the member by them
        has_identity = select(Identity.id).where(
            Identity.corp_id == corp_id, Identity.kind == IdentityKind.member_no.value,
            Identity.value == Member.member_no).exists()
        numbers = select(Member.corp_id, Member.customer_id, literal(IdentityKind.member_no.value), Member.member_no,
                         literal(now, Identity.created_at.type), literal(now, Identity.updated_at.type)).where(
            Member.corp_id == corp_id, among(Member.customer_id), ~has_identity)
        session.execute(dialect_insert(session, Identity.__table__).from_select(
            ["corp_id", "customer_id", "kind", "value", "created_at", "updated_at"], numbers).on_conflict_do_nothing())
    return inserted


def get_member(session: Session, corp_id: int, customer_id: int) -> Member | None:
    return repository.get_member(session, corp_id, customer_id)


def update_member(session: Session, member: Member, *, now: datetime, birthday: date | None) -> Member:
    member.birthday = birthday
    member.updated_at = now
    session.flush()
    return member


# -- levels of members ----------------------------------------------------------------------------------

def level_for_member_expression(corp_id: int):
    """The id of the level a ``member`` row qualifies for, as a correlated scalar subquery."""
    spend = (select(CustomerTrait.total_spend).where(CustomerTrait.customer_id == Member.customer_id)
             .correlate(Member).scalar_subquery())
    qualifies = or_(
        and_(MemberLevel.min_spend.is_(None), MemberLevel.min_points.is_(None)),
        and_(MemberLevel.min_spend.is_not(None), func.coalesce(spend, 0) >= MemberLevel.min_spend),
        and_(MemberLevel.min_points.is_not(None), Member.points_earned_total >= MemberLevel.min_points),
    )
    return (select(MemberLevel.id).where(MemberLevel.corp_id == corp_id, qualifies)
            .order_by(MemberLevel.rank.desc()).limit(1).correlate(Member).scalar_subquery())


def recompute_levels(session: Session, corp_id: int, *, now: datetime,
                     customer_ids: Sequence[int] | None = None) -> int:
    """Place members at the level they qualify for; returns how many changed level."""
    session.flush()
    target = level_for_member_expression(corp_id)
    statement = (update(Member).where(Member.corp_id == corp_id, Member.level_id.is_distinct_from(target))
                 .values(level_id=target, level_changed_at=now, updated_at=now)
                 .execution_options(synchronize_session=False))
    changed = 0
    if customer_ids is None:
        changed = session.execute(statement).rowcount
    else:
        ids = sorted(set(customer_ids))
        for start in range(0, len(ids), CHUNK_SIZE):
            changed += session.execute(statement.where(
                repository.among(session, Member.customer_id, ids[start:start + CHUNK_SIZE]))).rowcount
    expire_loaded(session, Member)
    return changed


# -- facts for personalisation --------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberFacts:
    member_no: str
    level_name: str | None
    points_balance: int
    #: points that expire within 30 days of ``now``
    points_expiring_30d: int
    birthday: date | None


def member_facts(session: Session, corp_id: int, customer_ids: Sequence[int], *, now: datetime
                 ) -> dict[int, MemberFacts]:
    """What a message may say about each member among ``customer_ids`` (non-members are absent)."""
    ids = sorted(set(customer_ids))
    facts: dict[int, MemberFacts] = {}
    horizon = now + timedelta(days=30)
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start:start + CHUNK_SIZE]
        expiring = (select(func.coalesce(func.sum(PointsEntry.remaining), 0))
                    .where(PointsEntry.customer_id == Member.customer_id, PointsEntry.remaining > 0,
                           PointsEntry.expires_at > now, PointsEntry.expires_at <= horizon)
                    .correlate(Member).scalar_subquery())
        rows = session.execute(
            select(Member.customer_id, Member.member_no, MemberLevel.name, Member.points_balance, expiring,
                   func.coalesce(Member.birthday, func.date(Customer.birthday)))
            .join(Customer, Customer.id == Member.customer_id)
            .outerjoin(MemberLevel, MemberLevel.id == Member.level_id)
            .where(Member.corp_id == corp_id, repository.among(session, Member.customer_id, chunk)))
        for customer_id, member_no, level_name, balance, expiring_points, birthday in rows:
            if isinstance(birthday, str):
                birthday = date.fromisoformat(birthday[:10])
            elif isinstance(birthday, datetime):
                birthday = birthday.date()
            facts[customer_id] = MemberFacts(member_no, level_name, balance, int(expiring_points), birthday)
    return facts


def expire_loaded(session: Session, model: type) -> None:
    # Set-based statements bypass the identity map; loaded objects must not show stale values.
    for instance in list(session.identity_map.values()):
        if isinstance(instance, model):
            session.expire(instance)
