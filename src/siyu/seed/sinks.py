"""Set-based writers for the bulk tables, one per database, sharing one transaction.

On PostgreSQL rows stream through psycopg 3's ``COPY … FROM STDIN`` on the raw connection behind
the SQLAlchemy session (the fastest path into PostgreSQL, and constant memory: rows are consumed as
they are generated). On SQLite they go through SQLAlchemy core ``insert()`` executed with batches of
parameters (``executemany``). Both write inside the caller's transaction, so a seed that fails or is
killed leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Protocol

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Connection

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
        statement = insert(table)
        iterator = iter(rows)
        written = 0
        while batch := [dict(zip(columns, row, strict=True)) for row in islice(iterator, SQLITE_BATCH)]:
            self.connection.execute(statement, batch)
            written += len(batch)
            progress(len(batch))
        return written


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
