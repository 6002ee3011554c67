"""Job handlers of the trait maintenance.

* ``traits.refresh_customers`` ``{"corp_id", "customer_ids"}`` — recompute these customers' traits
  (for callers that prefer to defer the work past their own transaction).
* ``traits.refresh_scores`` ``{"corp_id"}`` — new R/F/M cut points for the corp, then every
  customer's scores, class and lifecycle stage (time moves, so stages change without new orders).
* ``traits.refit_value_model`` ``{"corp_id"}`` — refit the BG/NBD + Gamma-Gamma models.
* ``traits.schedule`` ``{"day"}`` — the daily scheduler: enqueues the two corp jobs above for each
  corp with a key per corp and day (so a scheduler that runs twice enqueues once), then enqueues
  itself for the next day, also under a key per day. ``ensure_schedule`` starts the chain and is
  safe to call at any time (the first trait change of a process calls it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.customer import trait_repository, trait_value, traits
from siyu.kit.clock import Clock
from siyu.kit.jobs import JobContext, enqueue, job_handler

REFRESH_CUSTOMERS = "traits.refresh_customers"
REFRESH_SCORES = "traits.refresh_scores"
REFIT_VALUE_MODEL = "traits.refit_value_model"
SCHEDULE = "traits.schedule"
#: 18:00 UTC is 02:00 in China: the refresh runs when stores are closed and ingest is quiet.
DAILY_AT = time(18, 0, tzinfo=UTC)


def schedule_due_at(day: date) -> datetime:
    """When the daily refresh of ``day`` (a UTC date) runs."""
    return datetime.combine(day, DAILY_AT)


def schedule_key(day: date) -> str:
    return f"{SCHEDULE}:{day.isoformat()}"


def ensure_schedule(session: Session, clock: Clock) -> int | None:
    """Make sure the next daily run is queued (a no-op when it already is). Returns the new job id."""
    now = clock.now()
    day = now.astimezone(UTC).date()
    if now >= schedule_due_at(day):
        day += timedelta(days=1)
    return enqueue(session, SCHEDULE, {"day": day.isoformat()}, due_at=schedule_due_at(day), key=schedule_key(day),
                   clock=clock)


def daily_job_keys(corp_id: int, day: date) -> dict[str, str]:
    """The idempotency keys of a corp's daily jobs."""
    return {name: f"{name}:{corp_id}:{day.isoformat()}" for name in (REFRESH_SCORES, REFIT_VALUE_MODEL)}


@job_handler(SCHEDULE)
def run_schedule(ctx: JobContext, day: str) -> dict[str, Any]:
    """Enqueue every corp's daily refresh for ``day`` and the scheduler of the next day."""
    today = date.fromisoformat(day)
    enqueued = 0
    for corp_id in trait_repository.corp_ids_with_customers(ctx.session):
        for name, key in daily_job_keys(corp_id, today).items():
            if ctx.enqueue(name, {"corp_id": corp_id}, key=key, corp_id=corp_id) is not None:
                enqueued += 1
    tomorrow = today + timedelta(days=1)
    ctx.enqueue(SCHEDULE, {"day": tomorrow.isoformat()}, due_at=schedule_due_at(tomorrow),
                key=schedule_key(tomorrow))
    return {"enqueued": enqueued}


@job_handler(REFRESH_CUSTOMERS)
def refresh_customers(ctx: JobContext, corp_id: int, customer_ids: list[int]) -> None:
    traits.mark_customers_changed(ctx.session, corp_id, customer_ids, clock=ctx.clock)


@job_handler(REFRESH_SCORES)
def refresh_scores(ctx: JobContext, corp_id: int) -> None:
    traits.refresh_scores(ctx.session, corp_id, clock=ctx.clock)


@job_handler(REFIT_VALUE_MODEL, max_attempts=3)
def refit_value_model(ctx: JobContext, corp_id: int) -> None:
    trait_value.refit_value_model(ctx.session, corp_id, clock=ctx.clock)
