"""Cursor pagination: newest first, keyed by id, so pages stay stable while rows are added."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from siyu.kit.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500
MAX_ID = 2**63 - 1


class Page(BaseModel, Generic[T]):
    """One page of a collection; pass ``next_cursor`` as ``cursor`` for the next (``None``: the end)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    """An opaque cursor for "rows after ``last_id``"."""
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def _payload(cursor: str) -> dict:
    padded = cursor + "=" * (-len(cursor) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def check_limit(limit: int) -> None:
    """Refuse a page size outside 1 … ``MAX_LIMIT``."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput("error.invalid_limit", field="limit", maximum=MAX_LIMIT)


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after. Anything but a cursor we issued is refused as invalid input."""
    try:
        last_id = _payload(cursor)["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("error.invalid_cursor", field="cursor") from exc
    # Ids are positive 64-bit integers; anything else (a float, a bool, 10**30) would either page
    # wrongly or overflow the database driver.
    if type(last_id) is not int or not 0 < last_id <= MAX_ID:
        raise InvalidInput("error.invalid_cursor", field="cursor")
    return last_id


def paginate(session: Session, statement: Select[Any], id_column: Any, *, limit: int, cursor: str | None):
    """Run ``statement`` (already scoped) one page at a time. Returns (rows, next_cursor)."""
    check_limit(limit)
    if cursor:
        statement = statement.where(id_column < decode_cursor(cursor))
    rows = list(session.scalars(statement.order_by(id_column.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def encode_time_cursor(at: datetime, last_id: int) -> str:
    """An opaque cursor for "rows older than (``at``, ``last_id``)"."""
    payload = {"at": at.astimezone(UTC).isoformat(), "id": last_id}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, id) a time cursor points after; anything else is refused as invalid input."""
    try:
        payload = _payload(cursor)
        at, last_id = datetime.fromisoformat(payload["at"]), payload["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("error.invalid_cursor", field="cursor") from exc
    if at.tzinfo is None or type(last_id) is not int or not 0 < last_id <= MAX_ID:
        raise InvalidInput("error.invalid_cursor", field="cursor")
    return at, last_id


def paginate_by_time(session: Session, statement: Select[Any], time_column: Any, id_column: Any, *,
                     limit: int, cursor: str | None):
    """Like ``paginate``, newest first by ``time_column`` (ties by id): for timelines, where the
    order rows were written in is not the order they happened in. Returns (rows, next_cursor)."""
    check_limit(limit)
    if cursor:
        at, last_id = decode_time_cursor(cursor)
        statement = statement.where(or_(time_column < at, and_(time_column == at, id_column < last_id)))
    rows = list(session.scalars(statement.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_time_cursor(getattr(last, time_column.key), last.id)
