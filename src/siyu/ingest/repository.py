"""Queries of ingest sources, raw batches and events.

Console and API reads go through ``scoped`` (sources, batches and events are corp-wide data: only
corp-wide roles see them). The ingest endpoint acts for the corp its write key names, and the
expansion job for the corp of its batch, so their statements take ``corp_id`` (or the key) explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session, defer

from siyu.kit.db import dialect_insert
from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer, Identity
from siyu.models.event import Event, IngestBatch, IngestSource

# -- console and API (scoped) ----------------------------------------------------------------------


def sources_query(principal: Principal) -> Select[Any]:
    return scoped(select(IngestSource), IngestSource, principal)


def get_source(session: Session, principal: Principal, source_id: int) -> IngestSource | None:
    return session.scalars(sources_query(principal).where(IngestSource.id == source_id)).one_or_none()


def events_query(principal: Principal, *, source_id: int | None = None) -> Select[Any]:
    statement = scoped(select(Event), Event, principal)
    if source_id is not None:
        statement = statement.where(Event.source_id == source_id)
    return statement


def batches_query(principal: Principal, *, source_id: int | None = None) -> Select[Any]:
    # The raw body stays in the database: listings never need it.
    statement = scoped(select(IngestBatch).options(defer(IngestBatch.body)), IngestBatch, principal)
    if source_id is not None:
        statement = statement.where(IngestBatch.source_id == source_id)
    return statement


# -- the ingest endpoint ---------------------------------------------------------------------------


def source_by_key_hash(session: Session, key_hash: str) -> tuple[int, int, bool] | None:
    """(source id, corp id, enabled) of the source holding this key hash; the key names the corp."""
    row = session.execute(
        select(IngestSource.id, IngestSource.corp_id, IngestSource.enabled)
        .where(IngestSource.write_key_hash == key_hash)
    ).first()
    return (row.id, row.corp_id, row.enabled) if row else None


_batch_inserts: dict[str, Any] = {}


def insert_batch(session: Session, values: dict[str, Any]) -> int:
    """Store a raw batch; returns its id. The compiled statement is reused across requests."""
    dialect = session.get_bind().dialect.name
    if dialect not in _batch_inserts:
        _batch_inserts[dialect] = (dialect_insert(session, IngestBatch.__table__)
                                   .returning(IngestBatch.__table__.c.id))
    return session.execute(_batch_inserts[dialect], values).scalar_one()


# -- the expansion job -----------------------------------------------------------------------------


def batch_state(session: Session, batch_id: int) -> str | None:
    """The batch's status, ``None`` if there is no such batch."""
    return session.scalar(select(IngestBatch.status).where(IngestBatch.id == batch_id))


def batch_to_expand(session: Session, batch_id: int) -> IngestBatch | None:
    """The batch, row-locked, or ``None`` when another transaction holds it (``SKIP LOCKED``): two
    workers never expand one batch at once, and neither waits for the other."""
    return session.scalars(select(IngestBatch).where(IngestBatch.id == batch_id)
                           .with_for_update(skip_locked=True)).one_or_none()


def sibling_batches(session: Session, corp_id: int, batch_id: int, limit: int) -> list[IngestBatch]:
    """Up to ``limit`` other received batches of the corp that no other transaction holds (``SKIP
    LOCKED``; SQLite serialises writers anyway) — the newest: workers claim jobs oldest first, so
    the newest batches are the ones no other worker is about to start on."""
    if limit <= 0:
        return []
    return list(session.scalars(
        select(IngestBatch).where(IngestBatch.status == "received", IngestBatch.corp_id == corp_id,
                                  IngestBatch.id != batch_id)
        .order_by(IngestBatch.id.desc()).limit(limit).with_for_update(skip_locked=True)))


def source_kind(session: Session, source_id: int) -> str:
    return session.scalar(select(IngestSource.kind).where(IngestSource.id == source_id)) or "http"


def finish_batch(session: Session, batch_id: int, *, status: str, at: datetime, error: str | None = None) -> None:
    session.execute(update(IngestBatch).where(IngestBatch.id == batch_id)
                    .values(status=status, processed_at=at, error=error))


_EVENT_COLUMNS = ("corp_id", "source_id", "customer_id", "message_id", "type", "name", "user_id", "anonymous_id",
                  "properties", "traits", "context", "timestamp", "received_at")
#: PostgreSQL: the whole batch as one JSON parameter, unpacked by the server. A multi-row VALUES
#: statement with 13 parameters per event costs more to build, convert and send than the insert
#: itself; ``json_to_recordset`` (not jsonb) keeps each JSON column's text, and so its key order.
_PG_INSERT_EVENTS = text(
    "INSERT INTO event (" + ", ".join(_EVENT_COLUMNS) + ") SELECT " + ", ".join(f"r.{c}" for c in _EVENT_COLUMNS)
    + " FROM json_to_recordset(CAST(:rows AS json)) AS r(corp_id bigint, source_id bigint, customer_id bigint, "
    "message_id varchar, type varchar, name varchar, user_id varchar, anonymous_id varchar, properties json, "
    "traits json, context json, timestamp timestamptz, received_at timestamptz) "
    "ON CONFLICT (corp_id, message_id) DO NOTHING RETURNING id")


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """``INSERT … ON CONFLICT (corp_id, message_id) DO NOTHING``; returns how many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        document = json.dumps([{name: _json_value(row[name]) for name in _EVENT_COLUMNS} for row in rows],
                              ensure_ascii=False, separators=(",", ":"))
        return len(session.execute(_PG_INSERT_EVENTS, {"rows": document}).all())
    statement = (dialect_insert(session, Event.__table__)
                 .on_conflict_do_nothing(index_elements=["corp_id", "message_id"])
                 .returning(Event.__table__.c.id))
    return len(session.execute(statement, list(rows)).all())


def identity_kinds(session: Session, corp_id: int, kinds: Iterable[str], values: Iterable[str]) -> set[tuple[str, str]]:
    """Which of ``values`` are known under which of ``kinds`` in the corp."""
    values = list(set(values))
    if not values:
        return set()
    rows = session.execute(select(Identity.kind, Identity.value).where(
        Identity.corp_id == corp_id, Identity.kind.in_(list(kinds)), Identity.value.in_(values)))
    return {(row.kind, row.value) for row in rows}


def survivors(session: Session, corp_id: int, customer_ids: Iterable[int]) -> dict[int, int]:
    """Each customer id → the customer it ends up as (following ``merged_into_id``), set-wise."""
    result = {customer_id: customer_id for customer_id in customer_ids}
    pending = set(result.values())
    for _ in range(64):
        if not pending:
            break
        moved = dict(session.execute(select(Customer.id, Customer.merged_into_id).where(
            Customer.corp_id == corp_id, Customer.id.in_(pending), Customer.merged_into_id.is_not(None))).all())
        if not moved:
            break
        for start, current in result.items():
            if current in moved:
                result[start] = moved[current]
        pending = set(moved.values())
    return result


_PROFILE_FIELDS = ("name", "gender", "city", "birthday", "phone")


def update_profiles(session: Session, corp_id: int, profiles: dict[int, dict[str, Any]], at: datetime) -> None:
    """Write identify traits onto customers (the fields given; the others are kept). PostgreSQL: one
    ``UPDATE … FROM unnest(…)`` for them all; SQLite: one executemany per set of fields present."""
    if session.get_bind().dialect.name == "postgresql":
        _update_profiles_postgres(session, corp_id, profiles, at)
        return
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for customer_id, profile in profiles.items():
        fields = tuple(name for name in _PROFILE_FIELDS if profile.get(name) is not None)
        if fields:
            by_fields.setdefault(fields, []).append(
                {"b_id": customer_id, **{f"b_{name}": profile[name] for name in fields}})
    table = Customer.__table__
    for fields, rows in by_fields.items():
        statement = (update(table).where(table.c.id == bindparam("b_id"), table.c.corp_id == corp_id)
                     .values(updated_at=at, **{name: bindparam(f"b_{name}") for name in fields}))
        session.connection().execute(statement, rows)


def _update_profiles_postgres(session: Session, corp_id: int, profiles: dict[int, dict[str, Any]],
                              at: datetime) -> None:
    from sqlalchemy.dialects.postgresql import ARRAY

    rows = sorted((customer_id, profile) for customer_id, profile in profiles.items()
                  if any(profile.get(name) is not None for name in _PROFILE_FIELDS))
    if not rows:
        return
    table = Customer.__table__
    columns = {"id": bindparam(None, [customer_id for customer_id, _ in rows], type_=ARRAY(BigInteger))}
    columns.update({name: bindparam(None, [profile.get(name) for _, profile in rows],
                                    type_=ARRAY(table.c[name].type)) for name in _PROFILE_FIELDS})
    given = func.unnest(*columns.values()).table_valued(*columns).render_derived("given")
    session.execute(update(table).where(table.c.corp_id == corp_id, table.c.id == given.c.id).values(
        updated_at=at, **{name: func.coalesce(given.c[name], table.c[name]) for name in _PROFILE_FIELDS}))


def touch_source(session: Session, source_id: int, at: datetime) -> None:
    """Move ``last_event_at`` forward (never back: batches may be expanded out of order)."""
    session.execute(update(IngestSource).where(
        IngestSource.id == source_id,
        or_(IngestSource.last_event_at.is_(None), IngestSource.last_event_at < at)).values(last_event_at=at))
