"""Job handlers of the contact policy."""

from __future__ import annotations

from datetime import timedelta

from siyu.kit.jobs import JobContext, job_handler
from siyu.policy import service

EXPIRE_EVERY = timedelta(hours=1)


@job_handler("policy.expire_deferred")
def expire_deferred(ctx: JobContext, corp_id: int, reschedule: bool = True) -> None:
    """Deferred touches past their expiry become ``expired``; runs hourly per corp once started."""
    now = ctx.clock.now()
    service.expire_deferred(ctx.session, corp_id, now=now)
    if reschedule:
        slot = int(now.timestamp() // EXPIRE_EVERY.total_seconds()) + 1
        ctx.enqueue("policy.expire_deferred", {"corp_id": corp_id}, delay=EXPIRE_EVERY,
                    key=f"policy.expire_deferred:{corp_id}:{slot}", corp_id=corp_id)
