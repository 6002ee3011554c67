"""Every query of identities, identity rules and merges, scoped per principal.

Resolution runs for a corp, not for a user (ingest, imports, WeCom sync): it reads through
``system_principal(corp_id)``, a corp-wide principal, so the same tenant filter applies. Writes
(and the reads of merge moves, which reach every table with a ``customer_id`` found from the schema)
carry an explicit ``corp_id`` condition. Bulk statements take arrays as single parameters on
PostgreSQL and chunks of 5,000 on SQLite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    BindParameter,
    DateTime,
    Select,
    String,
    Table,
    any_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

# Importing the customer repository registers the data-scope rule of Customer.
import siyu.customer.repository  # noqa: F401
from siyu.kit.db import dialect_insert
from siyu.kit.tenancy import Principal, data_scope, scoped
from siyu.models.customer import Customer, Identity
from siyu.models.identity import CustomerMerge, IdentityRule
from siyu.models.user import Role

CHUNK = 5000
#: PostgreSQL takes whole arrays as one parameter: chunks only bound the statement's memory.
PG_CHUNK = 50_000
T = TypeVar("T")


def system_principal(corp_id: int) -> Principal:
    """A corp-wide principal for work done on behalf of the corp itself (jobs, imports, ingest)."""
    return Principal(user_id=0, corp_id=corp_id, role=Role.admin, username="system")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _array(values: list, item_type) -> BindParameter:
    from sqlalchemy.dialects.postgresql import ARRAY

    return bindparam(None, values, type_=ARRAY(item_type))


_CUSTOM_PLANS = "siyu.custom_plans"


@contextmanager
def custom_plans(session: Session) -> Iterator[None]:
    """PostgreSQL plans each statement inside for its actual parameters (``plan_cache_mode =
    force_custom_plan``) until the block ends; a no-op on SQLite. For array look-ups only.

    psycopg prepares a statement on the server once it has run five times on a connection, and
    PostgreSQL then may switch to a *generic* plan made without the parameters' values. For a
    look-up like ``corp_id = $1 AND kind = $2 AND value = ANY($3)`` the generic plan scans every
    identity of the kind through the index on (corp_id, kind) and tests each against the whole
    array: quadratic, 0.6 s instead of 8 ms for 900 values over 16 k identities, and worse as the
    table grows. Keep writes out of the block: the setting also re-plans the foreign-key checks
    PostgreSQL runs per inserted row (cached plans of their own), which made bulk inserts slower."""
    if not _is_postgres(session) or session.info.get(_CUSTOM_PLANS):
        yield  # SQLite, or an enclosing block already set it
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    session.info[_CUSTOM_PLANS] = True
    try:
        yield
    finally:
        session.info.pop(_CUSTOM_PLANS, None)
    # not on an error: the transaction (or savepoint) is rolled back, and the setting with it
    session.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))


def _visible_customer_ids(principal: Principal) -> Select:
    return scoped(select(Customer.id), Customer, principal)


@data_scope(Identity)
def _identity_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(Identity.customer_id.in_(_visible_customer_ids(principal)))


@data_scope(CustomerMerge)
def _merge_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(CustomerMerge.survivor_id.in_(_visible_customer_ids(principal)))


# -- rules -----------------------------------------------------------------------------------------

def stored_rules(session: Session, principal: Principal) -> list[IdentityRule]:
    return list(session.scalars(scoped(select(IdentityRule), IdentityRule, principal).order_by(IdentityRule.kind)))


def save_rule(session: Session, principal: Principal, values: dict[str, Any], now: datetime) -> None:
    """Insert or replace the corp's rule for ``values["kind"]``."""
    row = {**values, "corp_id": principal.corp_id, "created_at": now, "updated_at": now}
    statement = dialect_insert(session, IdentityRule).values(row)
    changed = {k: statement.excluded[k] for k in ("max_per_customer", "priority", "merge_key", "blocked_values",
                                                  "updated_at")}
    session.execute(statement.on_conflict_do_update(index_elements=["corp_id", "kind"], set_=changed))


# -- resolution reads ------------------------------------------------------------------------------

def owners(session: Session, principal: Principal, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """``(kind, value) → customer_id`` for the pairs that exist: one query per kind, the values as
    one array parameter on PostgreSQL (``value = ANY(…)``, an index scan) and IN chunks on SQLite."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in pairs:
        by_kind[kind].append(value)
    found: dict[tuple[str, str], int] = {}
    postgres = _is_postgres(session)
    with custom_plans(session):
        for kind, values in by_kind.items():
            for chunk in _chunks(values, PG_CHUNK if postgres else CHUNK):
                matches = Identity.value == any_(_array(list(chunk), String)) if postgres \
                    else Identity.value.in_(chunk)
                statement = scoped(select(Identity.value, Identity.customer_id).where(Identity.kind == kind, matches),
                                   Identity, principal)
                for value, customer_id in session.execute(statement):
                    found[(kind, value)] = customer_id
    return found


def _member(session: Session, column, values: Sequence[int]):
    """``column IN values``; one array parameter on PostgreSQL, whatever the count."""
    if _is_postgres(session):
        return column == any_(_array(list(values), BigInteger))
    return column.in_(values)


def holdings(session: Session, principal: Principal, customer_ids: Iterable[int]) -> dict[int, dict[str, set[str]]]:
    """Every identity of these customers, as ``customer → kind → values``."""
    held: dict[int, dict[str, set[str]]] = {}
    with custom_plans(session):
        for chunk in _chunks(sorted(set(customer_ids))):
            for customer_id in chunk:
                held[customer_id] = defaultdict(set)
            statement = scoped(select(Identity.customer_id, Identity.kind, Identity.value)
                               .where(_member(session, Identity.customer_id, chunk)), Identity, principal)
            for customer_id, kind, value in session.execute(statement):
                held[customer_id][kind].add(value)
    return held


def lock_customers(session: Session, principal: Principal, customer_ids: Iterable[int]) -> dict[int, int | None]:
    """``customer → merged_into_id``, row-locked (PostgreSQL) in id order so that two resolutions
    touching the same customers queue instead of deadlocking."""
    found: dict[int, int | None] = {}
    with custom_plans(session):
        for chunk in _chunks(sorted(set(customer_ids))):
            statement = scoped(select(Customer.id, Customer.merged_into_id).where(
                _member(session, Customer.id, chunk)), Customer, principal).order_by(Customer.id).with_for_update()
            found.update({row[0]: row[1] for row in session.execute(statement)})
    return found


def merged_into(session: Session, principal: Principal, customer_id: int) -> int | None | bool:
    """The customer ``customer_id`` was merged into, ``None`` if it is live, ``False`` if unknown."""
    row = session.execute(scoped(select(Customer.merged_into_id).where(Customer.id == customer_id),
                                 Customer, principal)).one_or_none()
    return False if row is None else row[0]


# -- resolution writes -----------------------------------------------------------------------------

_CUSTOMER_COLUMNS = {"name": String, "gender": String, "city": String, "phone": String,
                     "birthday": DateTime(timezone=True)}


def insert_customers(session: Session, corp_id: int, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    """Create customers (``rows`` of profile fields), returning their ids in the order of ``rows``.
    PostgreSQL takes the ids from the sequence first, then inserts from arrays in one statement."""
    if not rows:
        return []
    if _is_postgres(session):
        ids: list[int] = []
        for chunk in _chunks(rows, PG_CHUNK):
            ids_chunk = list(session.scalars(select(func.nextval(func.pg_get_serial_sequence("customer", "id")))
                                             .select_from(func.generate_series(1, len(chunk)))))
            columns = {"id": _array(ids_chunk, BigInteger)}
            columns.update({name: _array([row.get(name) for row in chunk], kind)
                            for name, kind in _CUSTOMER_COLUMNS.items()})
            source = func.unnest(*columns.values()).table_valued(*columns).render_derived("source")
            session.execute(insert(Customer).from_select(
                [*columns, "corp_id", "first_seen_at", "created_at", "updated_at"],
                select(*[source.c[name] for name in columns], literal(corp_id, BigInteger),
                       *[literal(now, DateTime(timezone=True))] * 3)))
            ids += ids_chunk
        return ids
    values = [{"corp_id": corp_id, "first_seen_at": now, "created_at": now, "updated_at": now, **row}
              for row in rows]
    ids = []
    for chunk in _chunks(values):
        ids += session.scalars(dialect_insert(session, Customer).returning(Customer.id, sort_by_parameter_order=True),
                               list(chunk)).all()
    return ids


def insert_identities(session: Session, corp_id: int, rows: list[tuple[str, str, int]],
                      now: datetime) -> set[tuple[str, str]]:
    """Attach ``(kind, value, customer_id)`` rows; returns the pairs inserted. A pair missing from the
    answer was taken by another transaction first (the unique constraint decided)."""
    inserted: set[tuple[str, str]] = set()
    # A fixed order, so two transactions inserting overlapping pairs lock them in the same order.
    ordered = sorted(rows)
    if _is_postgres(session):
        for chunk in _chunks(ordered, PG_CHUNK):
            source = func.unnest(_array([k for k, _, _ in chunk], String), _array([v for _, v, _ in chunk], String),
                                 _array([c for _, _, c in chunk], BigInteger)) \
                .table_valued("kind", "value", "customer_id", with_ordinality="position").render_derived("source")
            rows_in_order = select(literal(corp_id, BigInteger), source.c.customer_id, source.c.kind, source.c.value,
                                   literal(now, DateTime(timezone=True)), literal(now, DateTime(timezone=True))) \
                .order_by(source.c.position)
            statement = (dialect_insert(session, Identity)
                         .from_select(["corp_id", "customer_id", "kind", "value", "created_at", "updated_at"],
                                      rows_in_order)
                         .on_conflict_do_nothing(index_elements=["corp_id", "kind", "value"])
                         .returning(Identity.kind, Identity.value))
            inserted.update((kind, value) for kind, value in session.execute(statement))
        return inserted
    values = [{"corp_id": corp_id, "kind": k, "value": v, "customer_id": c, "created_at": now, "updated_at": now}
              for k, v, c in ordered]
    for chunk in _chunks(values):
        statement = (dialect_insert(session, Identity).on_conflict_do_nothing(
            index_elements=["corp_id", "kind", "value"]).returning(Identity.kind, Identity.value))
        inserted.update((kind, value) for kind, value in session.execute(statement, list(chunk)))
    return inserted


def fill_profiles(session: Session, corp_id: int, profiles: dict[int, dict[str, Any]]) -> None:
    """Fill the profile fields these customers do not have yet (known values are kept).
    Only customers missing a field they are given are written (a known buyer's repeat order, the
    common case, writes nothing): on PostgreSQL with one ``UPDATE … FROM unnest(…)`` per chunk, on
    SQLite with one executemany per combination of fields given."""
    if not profiles:
        return
    if _is_postgres(session):
        _fill_profiles_postgres(session, corp_id, profiles)
        return
    table = Customer.__table__
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for customer_id, profile in sorted(profiles.items()):
        names = tuple(sorted(profile))
        if names:
            by_fields[names].append({"b_id": customer_id, **{f"b_{n}": profile[n] for n in names}})
    for names, rows in by_fields.items():
        statement = (update(table).where(table.c.corp_id == corp_id, table.c.id == bindparam("b_id"),
                                         or_(*(table.c[n].is_(None) for n in names)))
                     .values({n: func.coalesce(table.c[n], bindparam(f"b_{n}", type_=table.c[n].type)) for n in names}))
        for chunk in _chunks(rows):
            session.connection().execute(statement, list(chunk))


def _fill_profiles_postgres(session: Session, corp_id: int, profiles: dict[int, dict[str, Any]]) -> None:
    table = Customer.__table__
    names = [name for name in _CUSTOMER_COLUMNS if any(profile.get(name) is not None
                                                       for profile in profiles.values())]
    if not names:
        return
    ordered = sorted(profiles.items())  # a fixed order: two writers lock their rows in the same order
    for chunk in _chunks(ordered, PG_CHUNK):
        columns = {"id": _array([customer_id for customer_id, _ in chunk], BigInteger)}
        columns.update({name: _array([profile.get(name) for _, profile in chunk], _CUSTOMER_COLUMNS[name])
                        for name in names})
        given = func.unnest(*columns.values()).table_valued(*columns).render_derived("given")
        missing = [table.c[name].is_(None) & given.c[name].is_not(None) for name in names]
        session.execute(update(table).where(table.c.corp_id == corp_id, table.c.id == given.c.id, or_(*missing))
                        .values({name: func.coalesce(table.c[name], given.c[name]) for name in names}))


def delete_unused_customers(session: Session, corp_id: int, customer_ids: Iterable[int]) -> list[int]:
    """Remove customers created by this resolution that ended up holding nothing; returns their ids."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    return sorted(session.scalars(delete(Customer).where(
        Customer.corp_id == corp_id, Customer.id.in_(ids),
        ~exists().where(Identity.customer_id == Customer.id)).returning(Customer.id)).all())


# -- identities and merges for the API -------------------------------------------------------------

def identities_of(session: Session, principal: Principal, customer_id: int) -> list[Identity]:
    return list(session.scalars(scoped(select(Identity).where(Identity.customer_id == customer_id),
                                       Identity, principal).order_by(Identity.kind, Identity.id)))


def identity_of(session: Session, principal: Principal, customer_id: int, identity_id: int) -> Identity | None:
    return session.scalars(scoped(
        select(Identity).where(Identity.id == identity_id, Identity.customer_id == customer_id), Identity, principal
    )).one_or_none()


def identity_by_value(session: Session, principal: Principal, kind: str, value: str) -> Identity | None:
    return session.scalars(scoped(select(Identity).where(Identity.kind == kind, Identity.value == value),
                                  Identity, principal)).one_or_none()


def holder_anywhere_in_corp(session: Session, corp_id: int, kind: str, value: str) -> int | None:
    """Who holds a pair in the corp, whatever the caller may see (to refuse a duplicate)."""
    return owners(session, system_principal(corp_id), [(kind, value)]).get((kind, value))


def merges_of(session: Session, principal: Principal, customer_id: int) -> list[CustomerMerge]:
    statement = scoped(select(CustomerMerge).where(
        (CustomerMerge.survivor_id == customer_id) | (CustomerMerge.merged_id == customer_id)),
        CustomerMerge, principal)
    return list(session.scalars(statement.order_by(CustomerMerge.id.desc())))


def merge_of(session: Session, principal: Principal, merge_id: int, *, lock: bool = False) -> CustomerMerge | None:
    statement = scoped(select(CustomerMerge).where(CustomerMerge.id == merge_id), CustomerMerge, principal)
    return session.scalars(statement.with_for_update() if lock else statement).one_or_none()


def open_merge_of(session: Session, principal: Principal, merged_id: int) -> CustomerMerge | None:
    """The merge (not undone) that took ``merged_id`` away, if any."""
    return session.scalars(scoped(select(CustomerMerge).where(
        CustomerMerge.merged_id == merged_id, CustomerMerge.undone_at.is_(None)), CustomerMerge, principal)
        .order_by(CustomerMerge.id.desc()).limit(1)).one_or_none()


def add_merges(session: Session, merges: list[CustomerMerge]) -> list[int]:
    session.add_all(merges)
    session.flush()
    return [merge.id for merge in merges]


# -- moving rows between customers (merge and split) -----------------------------------------------

def move_rows(session: Session, table: Table, corp_id: int, source_id: int, target_id: int,
              dedupe: Sequence[str]) -> list[int]:
    """Re-point ``table`` rows of ``source_id`` to ``target_id``; returns the ids moved."""
    return sorted(row_id for row_id, _ in move_rows_of(session, table, corp_id, {source_id: target_id}, dedupe))


def move_rows_of(session: Session, table: Table, corp_id: int, targets: dict[int, int],
                 dedupe: Sequence[str]) -> list[tuple[int, int]]:
    """Re-point the rows of each customer in ``targets`` (source → target) in one statement;
    returns ``(row id, target)`` per row moved. Rows that would collide with a row the target
    already has on the ``dedupe`` columns stay where they are. Each id appears once in ``targets``
    (keys and values), so the answer maps back to its source."""
    if not targets:
        return []
    target_of = case(targets, value=table.c.customer_id)
    statement = update(table).where(table.c.corp_id == corp_id, table.c.customer_id.in_(list(targets)))
    if dedupe:
        twin = table.alias("twin")
        statement = statement.where(~exists().where(
            twin.c.customer_id == target_of, *[twin.c[name] == table.c[name] for name in dedupe]))
    statement = statement.values(customer_id=target_of).returning(table.c.id, table.c.customer_id)
    return [(row_id, customer_id) for row_id, customer_id in session.execute(statement)]


def rows_of(session: Session, table: Table, corp_id: int, customer_ids: list[int]) -> list[tuple[int, int]]:
    """``(row id, customer id)`` of these customers' rows in ``table``."""
    statement = select(table.c.id, table.c.customer_id).where(table.c.corp_id == corp_id,
                                                              table.c.customer_id.in_(customer_ids))
    return [(row_id, customer_id) for row_id, customer_id in session.execute(statement.order_by(table.c.id))]


def delete_rows_of(session: Session, table: Table, corp_id: int, customer_ids: list[int]) -> None:
    """Delete per-customer rows (aggregates the survivors' refresh recomputes)."""
    session.execute(delete(table).where(table.c.corp_id == corp_id, table.c.customer_id.in_(customer_ids)))


def profile_fields(session: Session, corp_id: int, customer_ids: list[int],
                   fields: Sequence[str]) -> dict[int, dict[str, Any]]:
    statement = scoped(select(Customer.id, *[getattr(Customer, name) for name in fields])
                       .where(Customer.id.in_(customer_ids)), Customer, system_principal(corp_id))
    return {row[0]: dict(zip(fields, row[1:], strict=True)) for row in session.execute(statement)}


def set_customer_fields(session: Session, corp_id: int, values: dict[int, dict[str, Any]]) -> None:
    """Set profile fields per customer: one executemany per combination of fields."""
    table = Customer.__table__
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for customer_id, fields in sorted(values.items()):
        by_fields[tuple(sorted(fields))].append({"b_id": customer_id, **{f"b_{n}": v for n, v in fields.items()}})
    for names, rows in by_fields.items():
        statement = (update(table).where(table.c.corp_id == corp_id, table.c.id == bindparam("b_id"))
                     .values({n: bindparam(f"b_{n}", type_=table.c[n].type) for n in names}))
        session.connection().execute(statement, rows)


def mark_merged(session: Session, corp_id: int, survivor_of: dict[int, int]) -> None:
    """Point each merged customer at its survivor."""
    table = Customer.__table__
    session.execute(update(table).where(table.c.corp_id == corp_id, table.c.id.in_(list(survivor_of)))
                    .values(merged_into_id=case(survivor_of, value=table.c.id)))


def move_back(session: Session, table: Table, corp_id: int, ids: Sequence[int], source_id: int,
              target_id: int) -> list[int]:
    """Re-point the listed rows still on ``source_id`` to ``target_id``; returns those moved."""
    moved: list[int] = []
    for chunk in _chunks(sorted(ids)):
        moved += session.scalars(update(table).where(
            table.c.corp_id == corp_id, table.c.customer_id == source_id, table.c.id.in_(chunk))
            .values(customer_id=target_id).returning(table.c.id)).all()
    return sorted(moved)
