"""Set-based statements the engine runs per batch, with a PostgreSQL fast path.

A batch has thousands of enrolments; ``IN (…)`` lists and multi-row ``VALUES`` make statements with
tens of thousands of parameters, which cost more to build and parse than to run. On PostgreSQL the
ids travel as one array (``= ANY(:ids)``) and rows as one array per column
(``INSERT … SELECT … FROM unnest(…)``); SQLite keeps the portable forms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Table, any_, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def ids_match(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(BigInteger)))
    return column.in_(list(ids))


def _pg_type(column) -> str:
    name = column.type.compile(dialect=postgresql.dialect())
    if name.startswith("VARCHAR"):
        return "text"
    return "timestamptz" if "TIME ZONE" in name or name == "UTCDATETIME" else name.lower()


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]], *, conflict: list[str] | None = None,
                returning: str | None = None) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys); with ``conflict``, rows that would violate that
    unique key are skipped. Returns the ``returning`` column of the inserted rows."""
    if not rows:
        return []
    if not is_postgres(session):
        statement = dialect_insert(session, table)
        if conflict:
            statement = statement.on_conflict_do_nothing(index_elements=conflict)
        if returning:
            return list(session.execute(statement.returning(table.c[returning]), rows).scalars())
        session.execute(statement, rows)
        return []
    names = list(rows[0])
    types = {name: _pg_type(table.c[name]) for name in names}
    arrays: dict[str, list[Any]] = {}
    for name in names:
        values = [row[name] for row in rows]
        if types[name] == "json":
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        arrays[f"a_{name}"] = values
    select_list = ", ".join(f"u.{name}::{types[name]}" if types[name] == "json" else f"u.{name}" for name in names)
    unnest = ", ".join(f"CAST(:a_{name} AS {'text' if types[name] == 'json' else types[name]}[])" for name in names)
    sql = (f'INSERT INTO {table.name} ({", ".join(names)}) SELECT {select_list} FROM unnest({unnest}) '
           f'AS u({", ".join(names)})')
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
        return list(session.execute(text(sql), arrays).scalars())
    session.execute(text(sql), arrays)
    return []
