"""Job handlers of loyalty.

* ``loyalty.earn_for_orders`` ``{"corp_id", "order_ids"}`` — points for these orders (every order
  not yet earned with ``null``), once per order. The order flow may enqueue it after upserting
  orders; the daily run sweeps whatever it missed.
* ``loyalty.recompute_levels`` ``{"corp_id", "customer_ids"}`` — place members at their level (all
  members with ``null``).
* ``loyalty.expire`` ``{"corp_id"}`` — expire due points lots and ended coupons.
* ``loyalty.schedule`` ``{"day"}`` — the daily run: for each corp with a loyalty programme (settings,
  levels or coupon templates), the three jobs above under a key per corp and day, then itself for
  the next day. ``ensure_schedule`` starts the chain; setting a programme up calls it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from siyu.kit.jobs import JobContext, enqueue, job_handler
from siyu.loyalty import coupons, members, points
from siyu.models.loyalty import CouponTemplate, LoyaltySettings, MemberLevel

EARN_FOR_ORDERS = "loyalty.earn_for_orders"
RECOMPUTE_LEVELS = "loyalty.recompute_levels"
EXPIRE = "loyalty.expire"
SCHEDULE = "loyalty.schedule"
#: 17:00 UTC is 01:00 in China, an hour before the trait refresh: levels then see yesterday's spend
#: at the latest; the earn sweep runs first in the queue.
DAILY_AT = time(17, 0, tzinfo=UTC)


def schedule_due_at(day: date) -> datetime:
    return datetime.combine(day, DAILY_AT)


def ensure_schedule(session: Session, now: datetime) -> int | None:
    """Make sure the next daily run is queued (a keyed no-op when it already is)."""
    day = now.astimezone(UTC).date()
    if now >= schedule_due_at(day):
        day += timedelta(days=1)
    return enqueue(session, SCHEDULE, {"day": day.isoformat()}, due_at=schedule_due_at(day),
                   key=f"{SCHEDULE}:{day.isoformat()}")


def programme_corp_ids(session: Session) -> list[int]:
    statement = union(select(LoyaltySettings.corp_id), select(MemberLevel.corp_id),
                      select(CouponTemplate.corp_id))
    return sorted(session.scalars(statement))


@job_handler(SCHEDULE)
def run_schedule(ctx: JobContext, day: str) -> dict[str, Any]:
    today = date.fromisoformat(day)
    enqueued = 0
    for corp_id in programme_corp_ids(ctx.session):
        for name in (EARN_FOR_ORDERS, EXPIRE, RECOMPUTE_LEVELS):
            if ctx.enqueue(name, {"corp_id": corp_id}, key=f"{name}:{corp_id}:{today.isoformat()}",
                           corp_id=corp_id) is not None:
                enqueued += 1
    tomorrow = today + timedelta(days=1)
    ctx.enqueue(SCHEDULE, {"day": tomorrow.isoformat()}, due_at=schedule_due_at(tomorrow),
                key=f"{SCHEDULE}:{tomorrow.isoformat()}")
    return {"enqueued": enqueued}


@job_handler(EARN_FOR_ORDERS)
def earn_for_orders(ctx: JobContext, corp_id: int, order_ids: list[int] | None = None) -> dict[str, Any]:
    added = points.earn_for_orders(ctx.session, corp_id, order_ids, now=ctx.clock.now())
    if added:
        ctx.enqueue(RECOMPUTE_LEVELS, {"corp_id": corp_id}, corp_id=corp_id)
    return {"points": added}


@job_handler(RECOMPUTE_LEVELS)
def recompute_levels(ctx: JobContext, corp_id: int, customer_ids: list[int] | None = None) -> dict[str, Any]:
    return {"changed": members.recompute_levels(ctx.session, corp_id, now=ctx.clock.now(),
                                                customer_ids=customer_ids)}


@job_handler(EXPIRE)
def expire(ctx: JobContext, corp_id: int) -> dict[str, Any]:
    now = ctx.clock.now()
    return {"points": points.expire_due(ctx.session, corp_id, now=now),
            "coupons": coupons.expire_coupons(ctx.session, corp_id, now=now)}
