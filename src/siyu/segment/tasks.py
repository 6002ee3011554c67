"""Job handlers of segments.

* ``segment.refresh`` ``{"corp_id"}`` — one tick of the corp's maintained membership
  (``membership.refresh_corp``: event rollup, dirty set, re-evaluation), then the next tick
  ``TICK`` later under a key per corp and tick, so a chain that is started twice still runs once
  per tick. Creating a dynamic segment starts the chain; a tick of a corp without dynamic segments
  ends it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.jobs import JobContext, enqueue, job_handler
from siyu.models.segment import Segment
from siyu.segment import membership

REFRESH = "segment.refresh"
#: how often the maintained membership catches up with the data (an order moves a customer between
#: segments within about this long plus the tick's own time)
TICK = timedelta(seconds=3)


def tick_key(corp_id: int, due_epoch: int) -> str:
    return f"{REFRESH}:{corp_id}:{due_epoch}"


def schedule_next(session: Session, corp_id: int, clock: Clock, *, immediately: bool = False) -> int | None:
    """Queue the corp's next tick (a keyed no-op when that tick is queued already)."""
    seconds = TICK.total_seconds()
    now = clock.now()
    due = now if immediately else now + TICK
    slot = int(due.timestamp() // seconds)
    return enqueue(session, REFRESH, {"corp_id": corp_id}, due_at=due, key=tick_key(corp_id, slot),
                   corp_id=corp_id, clock=clock)


def has_dynamic_segments(session: Session, corp_id: int) -> bool:
    return (session.scalar(select(func.count()).select_from(Segment)
                           .where(Segment.corp_id == corp_id, Segment.kind == "dynamic")) or 0) > 0


@job_handler(REFRESH)
def refresh(ctx: JobContext, corp_id: int) -> dict[str, Any]:
    if not has_dynamic_segments(ctx.session, corp_id):
        return {"segments": 0}
    results = membership.refresh_corp(ctx.session, corp_id, ctx.clock.now())
    schedule_next(ctx.session, corp_id, ctx.clock)
    return {"segments": len(results), "entered": sum(r.entered for r in results),
            "exited": sum(r.exited for r in results)}
