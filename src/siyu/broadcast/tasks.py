"""Job handlers of broadcasts: the scheduled dispatch and the deferred waves."""

from __future__ import annotations

from siyu.broadcast import service
from siyu.kit.jobs import JobContext, job_handler


@job_handler("broadcast.dispatch")
def dispatch(ctx: JobContext, corp_id: int, broadcast_id: int) -> None:
    service.dispatch(ctx.session, corp_id, broadcast_id, now=ctx.clock.now())


@job_handler("broadcast.wave")
def wave(ctx: JobContext, corp_id: int, broadcast_id: int, wave: int) -> None:
    service.send_wave(ctx.session, corp_id, broadcast_id, wave, now=ctx.clock.now())
