"""Set-based writers for the bulk tables, one per database, sharing one transaction.

On PostgreSQL rows stream through psycopg 3's ``COPY … FROM STDIN`` on the raw connection behind
the SQLAlchemy session (the fastest path into PostgreSQL, and constant memory: rows are consumed as
they are generated). On SQLite they go through SQLAlchemy core ``insert()`` executed with batches of
parameters (``executemany``). JSON columns arrive already serialised (text), the form COPY takes;
on SQLite, tables of plain columns (integers, text, JSON text, timestamps — the event table) are
bound by the driver directly, skipping SQLAlchemy's per-value processing. Both write inside the
caller's transaction, so a seed that fails or is killed leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Protocol

from sqlalchemy import JSON, Integer, String, Table, func, insert, select, text
from sqlalchemy.engine import Connection

from siyu.kit.db import UtcDateTime

#: rows per ``executemany`` call on SQLite
SQLITE_BATCH = 5_000

Progress = Callable[[int], None]


class BulkWriter(Protocol):
    """What the seed needs of a database: reserve primary keys, then append rows to a table."""

    def reserve_ids(self, table: Table, count: int) -> list[int]:
        """``count`` fresh primary keys of ``table`` for rows this writer will insert."""
        ...

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple], progress: Progress) -> int:
        """Append ``rows`` (tuples in ``columns`` order); report progress; return the row count."""
        ...


class SQLiteWriter:
    """Core ``insert()`` with ``executemany`` batches. Ids are handed out from ``max(id) + 1``: the
    seed holds SQLite's write lock (``BEGIN IMMEDIATE``) for its whole transaction, so nobody else
    can take them meanwhile."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._next_id: dict[str, int] = {}

    def reserve_ids(self, table: Table, count: int) -> list[int]:
        if table.name not in self._next_id:
            current = self.connection.scalar(select(func.max(table.c.id)))
            self._next_id[table.name] = (current or 0) + 1
        first = self._next_id[table.name]
        self._next_id[table.name] = first + count
        return list(range(first, first + count))

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple], progress: Progress) -> int:
        iterator = iter(rows)
        written = 0
        plain = _plain_statement(table, columns)
        if plain is not None:
            sql, times = plain
            while batch := list(islice(iterator, SQLITE_BATCH)):
                if times:
                    batch = [_with_times(row, times) for row in batch]
                self.connection.exec_driver_sql(sql, batch)
                written += len(batch)
                progress(len(batch))
            return written
        statement = insert(table)
        while batch := [dict(zip(columns, row, strict=True)) for row in islice(iterator, SQLITE_BATCH)]:
            self.connection.execute(statement, batch)
            written += len(batch)
            progress(len(batch))
        return written


def _plain_statement(table: Table, columns: Sequence[str]) -> tuple[str, list[int]] | None:
    """For a table whose ``columns`` are all integers, text, JSON (as serialised text) and
    timestamps: the driver-level ``INSERT`` and the positions of its timestamps. Binding through the
    driver instead of SQLAlchemy's per-value processors is what makes the event table cheap. None for
    other tables (decimals, enums, …), which go through SQLAlchemy."""
    positions = []
    for position, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, UtcDateTime):
            positions.append(position)
        elif not isinstance(kind, Integer | String | JSON):
            return None
    column_list = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table.name}" ({column_list}) VALUES ({", ".join("?" * len(columns))})', positions


def _with_times(row: tuple, positions: list[int]) -> tuple:
    values = list(row)
    for position in positions:
        values[position] = _sqlite_time(values[position])
    return tuple(values)


def _sqlite_time(moment: datetime | None) -> str | None:
    """A timestamp as SQLAlchemy stores it on SQLite (naive UTC, microseconds always written)."""
    return None if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


class PostgresCopyWriter:
    """``COPY table (columns) FROM STDIN`` through psycopg, rows converted by psycopg's C dumpers.
    Ids come from the table's own sequence, so concurrent writers never collide with them."""

    #: rows between two progress reports while a COPY streams
    REPORT_EVERY = 10_000

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def reserve_ids(self, table: Table, count: int) -> list[int]:
        rows = self.connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": table.name, "count": count},
        )
        return [row[0] for row in rows]

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple], progress: Progress) -> int:
        driver = self.connection.connection.driver_connection
        column_list = ", ".join(f'"{c}"' for c in columns)
        written = pending = 0
        statement = f'COPY "{table.name}" ({column_list}) FROM STDIN'
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
                pending += 1
                if pending == self.REPORT_EVERY:
                    written += pending
                    progress(pending)
                    pending = 0
        written += pending
        progress(pending)
        return written


def writer_for(connection: Connection) -> BulkWriter:
    if connection.dialect.name == "postgresql":
        return PostgresCopyWriter(connection)
    return SQLiteWriter(connection)
