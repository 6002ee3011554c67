"""Job handlers of ingest: ``ingest.expand_batch`` turns one stored batch into events."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import DataError

from siyu.ingest import expansion, repository
from siyu.kit.jobs import JobContext, job_handler

log = structlog.get_logger("siyu.ingest")


#: other waiting batches of the corp a job takes along (set-wise work is cheaper per event)
SIBLINGS = 9


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
