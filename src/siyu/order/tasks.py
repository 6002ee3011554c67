"""Job handler ``order.import`` ``{"import_id"}``: runs an uploaded order file to its end.

The import commits chunk by chunk in transactions of its own rather than in the job's: a big file
must neither hold one transaction (and, on SQLite, the single write lock) for minutes nor lose its
progress to a crash. A retried job resumes after the last committed chunk; when the last attempt
fails, the import is marked failed so that nobody waits for it.
"""

from __future__ import annotations

from siyu.kit.jobs import JobContext, job_handler
from siyu.order import importer
from siyu.order.service import IMPORT_JOB

MAX_ATTEMPTS = 3



@job_handler(IMPORT_JOB, max_attempts=MAX_ATTEMPTS)
def run_order_import(ctx: JobContext, import_id: int) -> None:
    sessions = ctx.own_sessions()
    try:
        importer.run_import(sessions, import_id, ctx.clock)
    except Exception as error:
        if ctx.attempt >= MAX_ATTEMPTS:
            importer.mark_failed(sessions, import_id, ctx.clock, f"{type(error).__name__}: {error}")
        raise
