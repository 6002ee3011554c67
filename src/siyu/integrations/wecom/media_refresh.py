"""Keep the material library's WeCom media ids alive: temporary media expire after three days, so
the job ``content.refresh_media {"corp_id"}`` re-uploads every media material whose id is missing or
expires within ``siyu.content.service.REFRESH_MARGIN``, and schedules its next run."""

from __future__ import annotations

from datetime import timedelta

from siyu.content.service import media_due
from siyu.integrations.wecom.broadcast_outbox import fresh_media
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.outbox import client_for
from siyu.kit.jobs import JobContext, PermanentJobError, job_handler

JOB = "content.refresh_media"
EVERY = timedelta(hours=6)


@job_handler(JOB)
def refresh_media(ctx: JobContext, corp_id: int, reschedule: bool = True) -> None:
    now = ctx.clock.now()
    due = [m.id for m in media_due(ctx.session, corp_id, now=now)]
    if due:
        try:
            fresh_media(ctx.session, client_for(ctx, corp_id), corp_id, due, now)
        except WeComNotConnected as error:
            raise PermanentJobError(str(error)) from error
        except WeComApiError as error:
            if error.retryable:
                raise
            raise PermanentJobError(str(error)) from error
    if reschedule:
        slot = int(now.timestamp() // EVERY.total_seconds()) + 1
        ctx.enqueue(JOB, {"corp_id": corp_id}, delay=EVERY, key=f"{JOB}:{corp_id}:{slot}", corp_id=corp_id)
