"""Job handlers of ingest: ``ingest.expand_batch`` turns one stored batch into events."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.exc import DataError

from siyu.ingest import expansion, repository
from siyu.kit.jobs import JobContext, job_handler

log = structlog.get_logger("siyu.ingest")


#: other waiting batches of the corp a job takes along (set-wise work is cheaper per event)
SIBLINGS = 9
#: when a batch is being expanded by another job, look at it again after this
BUSY_DELAY = timedelta(seconds=5)


@job_handler("ingest.expand_batch")
def expand_batch(ctx: JobContext, batch_id: int) -> None:
    """Expand batch ``batch_id`` with up to ``SIBLINGS`` waiting batches of its corp (their own jobs
    then find them done). If the group fails on its data (a value the database refuses), this batch
    is tried alone, and if it fails alone it is marked ``failed`` with the reason, for the console —
    one bad batch never holds up the others. Anything else (the database going away) fails the job,
    which retries."""
    for siblings in (SIBLINGS, 0):
        try:
            with ctx.session.begin_nested():
                result = expansion.expand_batches(ctx.session, batch_id, ctx.clock, siblings=siblings)
        except expansion.BatchBusy:
            # Another job took this batch along and has not committed: look again shortly rather
            # than wait for it (if it rolls back, the batch is still waiting and this expands it).
            ctx.enqueue("ingest.expand_batch", {"batch_id": batch_id}, corp_id=ctx.corp_id, delay=BUSY_DELAY)
            return
        except _DATA_ERRORS as exc:
            error = exc
            continue
        if result is not None:
            log.debug("ingest.batch_expanded", batch=batch_id, messages=result.messages, inserted=result.inserted)
        return
    repository.finish_batch(ctx.session, batch_id, status="failed", at=ctx.clock.now(),
                            error=f"{type(error).__name__}: {error}"[:2000])
    log.warning("ingest.batch_failed", batch=batch_id, error=repr(error))


_DATA_ERRORS = (ValueError, KeyError, TypeError, DataError)
