"""Job handlers of staff tasks.

* ``staff_tasks.expire`` ``{"hour"}`` — open tasks past their due time become expired, in every
  corp; then the run of the next hour is queued under a key per hour (so it is queued once).
  ``ensure_schedule`` starts the chain; creating tasks calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.kit.jobs import JobContext, enqueue, job_handler
from siyu.staff_task import service

EXPIRE = "staff_tasks.expire"


def _next_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _key(hour: datetime) -> str:
    return f"{EXPIRE}:{hour.strftime('%Y-%m-%dT%H')}"


def ensure_schedule(session: Session, now: datetime) -> int | None:
    """Make sure the next hourly run is queued (a keyed no-op when it already is)."""
    hour = _next_hour(now)
    return enqueue(session, EXPIRE, {"hour": hour.isoformat()}, due_at=hour, key=_key(hour))


@job_handler(EXPIRE)
def expire_overdue(ctx: JobContext, hour: str) -> dict[str, Any]:
    expired = service.expire_overdue(ctx.session, None, now=ctx.clock.now())
    following = _next_hour(datetime.fromisoformat(hour))
    ctx.enqueue(EXPIRE, {"hour": following.isoformat()}, due_at=following, key=_key(following))
    return {"expired": expired}
