"""Every query of the contact policy. Statements name ``corp_id``: the gate is called by services and
jobs of every domain (journeys, broadcasts, welcome messages), never straight from a request."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.models.corp import Corp
from siyu.models.customer import Relation
from siyu.models.policy import ContactPolicy, ContactPreference, Touch, TouchCounter, TouchStatus
from siyu.models.tag import CustomerTag

#: ids per IN list: well under SQLite's 32 766 bound parameters, large enough to stay set-based
CHUNK = 5000


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def id_chunks(session: Session, values: Sequence[int]) -> Iterator[Sequence[int]]:
    """Chunks of ids for ``member_of``: large on PostgreSQL (one array parameter), small on SQLite."""
    return chunks(values, 100_000 if session.get_bind().dialect.name == "postgresql" else CHUNK)


def member_of(session: Session, column, values: Sequence[int]):
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one parameter however many ids
    (an IN list of thousands of parameters costs more to build than the query costs to run)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(BigInteger())))
    return column.in_(list(values))


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_PG_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "VARCHAR": "text", "DATETIME": "timestamptz",
             "TIMESTAMP": "timestamptz"}


def _pg_type(column) -> str:
    compiled = str(column.type.compile(dialect=postgresql.dialect())).split("(")[0].upper()
    return next((name for prefix, name in _PG_TYPES.items() if compiled.startswith(prefix)), "text")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def pg_unnest_insert(session: Session, table, rows: list[dict[str, Any]], *, suffix: str = "",
                     columns: Sequence[str] | None = None):
    """PostgreSQL: ``INSERT INTO table (…) SELECT * FROM unnest(:a, :b, …) <suffix>`` — one statement
    and one array parameter per column, however many rows (a parameter list per row costs far more
    to build and parse than the insert costs to run)."""
    names = list(columns or rows[0].keys())
    casts = ", ".join(f"CAST(:{name} AS {_pg_type(table.c[name])}[])" for name in names)
    statement = text(f'INSERT INTO {table.name} ({", ".join(names)}) SELECT * FROM unnest({casts}) {suffix}')
    return session.execute(statement, {name: [_plain(row[name]) for row in rows] for name in names})


def pg_next_ids(session: Session, table, count: int) -> list[int]:
    """``count`` ids from the table's own sequence, in order, so rows inserted in bulk can be named."""
    return list(session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                     "FROM generate_series(1, :count)"), {"count": count}))


def policy_row(session: Session, corp_id: int) -> ContactPolicy | None:
    return session.get(ContactPolicy, corp_id)


def tag_exists(session: Session, corp_id: int, tag_id: int) -> bool:
    from siyu.models.tag import Tag

    return session.scalar(select(Tag.id).where(Tag.corp_id == corp_id, Tag.id == tag_id,
                                               Tag.deleted_at.is_(None))) is not None


def corp_timezone(session: Session, corp_id: int) -> str:
    return session.scalar(select(Corp.timezone).where(Corp.id == corp_id)) or "Asia/Shanghai"


def relations_of(session: Session, corp_id: int, customer_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """(staff_id, status) of every relation of the given customers."""
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for chunk in id_chunks(session, customer_ids):
        rows = session.execute(select(Relation.customer_id, Relation.staff_id, Relation.status)
                               .where(Relation.corp_id == corp_id, member_of(session, Relation.customer_id, chunk)))
        for customer_id, staff_id, status in rows:
            found[customer_id].append((staff_id, str(status)))
    return found


def preferences_of(session: Session, corp_id: int, customer_ids: Sequence[int]
                   ) -> dict[int, tuple[str | None, bool]]:
    """(time zone, opted out) of the given customers that have a preference row."""
    found: dict[int, tuple[str | None, bool]] = {}
    for chunk in id_chunks(session, customer_ids):
        rows = session.execute(select(ContactPreference.customer_id, ContactPreference.timezone,
                                      ContactPreference.opted_out_at)
                               .where(ContactPreference.corp_id == corp_id,
                                      member_of(session, ContactPreference.customer_id, chunk)))
        for customer_id, timezone, opted_out_at in rows:
            found[customer_id] = (timezone, opted_out_at is not None)
    return found


def tagged_with(session: Session, corp_id: int, tag_id: int | None, customer_ids: Sequence[int]) -> set[int]:
    if tag_id is None:
        return set()
    found: set[int] = set()
    for chunk in id_chunks(session, customer_ids):
        found.update(session.scalars(select(CustomerTag.customer_id).where(
            CustomerTag.corp_id == corp_id, CustomerTag.tag_id == tag_id,
            member_of(session, CustomerTag.customer_id, chunk))))
    return found


def counts_of(session: Session, corp_id: int, keys: Iterable[tuple[int, str, datetime]]
              ) -> dict[tuple[int, str, datetime], int]:
    """Current counts of the given (customer, counter, period start) keys (absent: zero)."""
    by_period: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    for customer_id, counter, start in set(keys):
        by_period[(counter, start)].append(customer_id)
    found: dict[tuple[int, str, datetime], int] = {}
    for (counter, start), customer_ids in by_period.items():
        for chunk in id_chunks(session, customer_ids):
            rows = session.execute(select(TouchCounter.customer_id, TouchCounter.count).where(
                TouchCounter.corp_id == corp_id, TouchCounter.counter == counter,
                TouchCounter.period_start == start, member_of(session, TouchCounter.customer_id, chunk)))
            for customer_id, count in rows:
                found[(customer_id, counter, start)] = count
    return found


def take_slots(session: Session, corp_id: int, counter: str, rows: list[tuple[int, datetime, int]]
               ) -> set[tuple[int, datetime]]:
    """Take one slot of ``counter`` for each (customer, period start, cap); keys must be distinct.
    Returns the keys that got one. The conditional upsert is atomic per row: concurrent callers
    queue on the row lock and the loser sees the winner's count."""
    if not rows:
        return set()
    table = TouchCounter.__table__
    if _is_postgres(session):
        result = pg_unnest_insert(session, table, [
            {"corp_id": corp_id, "customer_id": customer_id, "counter": counter, "period_start": start, "count": 1,
             "cap": cap} for customer_id, start, cap in rows],
            suffix="ON CONFLICT (customer_id, counter, period_start) DO UPDATE SET count = touch_counter.count + 1, "
                   "cap = excluded.cap WHERE touch_counter.count < excluded.cap RETURNING customer_id, period_start")
        return {(customer_id, start) for customer_id, start in result}
    insert = dialect_insert(session, table)
    statement = insert.on_conflict_do_update(
        index_elements=["customer_id", "counter", "period_start"],
        set_={"count": table.c.count + 1, "cap": insert.excluded.cap},
        where=table.c.count < insert.excluded.cap,
    ).returning(table.c.customer_id, table.c.period_start)
    params = [{"corp_id": corp_id, "customer_id": customer_id, "counter": counter, "period_start": start,
               "count": 1, "cap": cap} for customer_id, start, cap in rows]
    taken: set[tuple[int, datetime]] = set()
    for chunk in chunks(params, 1000):
        taken.update((customer_id, start) for customer_id, start in session.execute(statement, list(chunk)))
    return taken


def give_back_slots(session: Session, corp_id: int, counter: str, keys: list[tuple[int, datetime]]) -> None:
    """Return slots taken in this transaction by touches a later counter refused."""
    grouped: dict[tuple[datetime, int], list[int]] = defaultdict(list)
    multiplicity: dict[tuple[int, datetime], int] = defaultdict(int)
    for key in keys:
        multiplicity[key] += 1
    for (customer_id, start), times in multiplicity.items():
        grouped[(start, times)].append(customer_id)
    for (start, times), customer_ids in grouped.items():
        for chunk in id_chunks(session, customer_ids):
            session.execute(update(TouchCounter).where(
                TouchCounter.corp_id == corp_id, TouchCounter.counter == counter,
                TouchCounter.period_start == start, member_of(session, TouchCounter.customer_id, chunk),
            ).values(count=TouchCounter.count - times).execution_options(synchronize_session=False))


def touches_by_key(session: Session, corp_id: int, keys: Sequence[str]) -> dict[str, Touch]:
    found: dict[str, Touch] = {}
    for chunk in chunks(keys):
        for touch in session.scalars(select(Touch).where(Touch.corp_id == corp_id, Touch.dedupe_key.in_(chunk))):
            found[touch.dedupe_key] = touch
    return found


def insert_touches(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Write ledger rows; returns their ids in the order given."""
    if not rows:
        return []
    table = Touch.__table__
    if _is_postgres(session):
        ids = pg_next_ids(session, table, len(rows))
        pg_unnest_insert(session, table, [{"id": touch_id, **row} for touch_id, row in zip(ids, rows, strict=True)])
        return ids
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for chunk in chunks(rows, 1000):
        ids.extend(session.scalars(statement, list(chunk)))
    return ids


def touches(session: Session, corp_id: int, touch_ids: Sequence[int]) -> list[Touch]:
    found: list[Touch] = []
    for chunk in id_chunks(session, touch_ids):
        found.extend(session.scalars(select(Touch).where(Touch.corp_id == corp_id, member_of(session, Touch.id, chunk))
                                     .order_by(Touch.id)))
    return found


def update_touches(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key (``id`` in each row)."""
    if rows:
        session.execute(update(Touch), rows)


def due_deferred_ids(session: Session, corp_id: int, now: datetime, limit: int) -> list[int]:
    return list(session.scalars(select(Touch.id).where(
        Touch.corp_id == corp_id, Touch.status == TouchStatus.deferred, Touch.deferred_until <= now,
        Touch.expires_at > now).order_by(Touch.deferred_until, Touch.id).limit(limit)))


def expire_deferred(session: Session, corp_id: int, now: datetime) -> int:
    result = session.execute(update(Touch).where(
        Touch.corp_id == corp_id, Touch.status == TouchStatus.deferred, Touch.expires_at <= now,
    ).values(status=TouchStatus.expired, updated_at=now).execution_options(synchronize_session=False))
    return result.rowcount


def set_status(session: Session, corp_id: int, touch_ids: Sequence[int], status: TouchStatus,
               at: datetime, *, only_from: Sequence[TouchStatus]) -> int:
    changed = 0
    for chunk in id_chunks(session, touch_ids):
        result = session.execute(update(Touch).where(
            Touch.corp_id == corp_id, member_of(session, Touch.id, chunk), Touch.status.in_(list(only_from)),
        ).values(status=status, updated_at=at).execution_options(synchronize_session=False))
        changed += result.rowcount
    return changed


def touches_per_customer(session: Session, corp_id: int, since: datetime) -> dict[int, int]:
    """How many customers got 1, 2, 3 … touches (allowed or sent) since ``since``."""
    per_customer = (select(Touch.customer_id, func.count().label("n"))
                    .where(Touch.corp_id == corp_id, Touch.occurred_at >= since,
                           Touch.status.in_([TouchStatus.allowed, TouchStatus.sent]))
                    .group_by(Touch.customer_id).subquery())
    rows = session.execute(select(per_customer.c.n, func.count()).group_by(per_customer.c.n)
                           .order_by(per_customer.c.n))
    return {int(n): int(customers) for n, customers in rows}


def preference(session: Session, corp_id: int, customer_id: int) -> ContactPreference | None:
    return session.scalars(select(ContactPreference).where(
        ContactPreference.corp_id == corp_id, ContactPreference.customer_id == customer_id)).one_or_none()
