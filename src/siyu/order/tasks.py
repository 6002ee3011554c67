"""Job handler ``order.import`` ``{"import_id"}``: runs an uploaded order file to its end.

The import commits chunk by chunk in transactions of its own rather than in the job's: a big file
must neither hold one transaction (and, on SQLite, the single write lock) for minutes nor lose its
progress to a crash. A retried job resumes after the last committed chunk; when the last attempt
fails, the import is marked failed so that nobody waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from siyu.kit.jobs import JobContext, job_handler
from siyu.order import importer
from siyu.order.service import IMPORT_JOB

MAX_ATTEMPTS = 3


def own_sessions(ctx: JobContext) -> importer.SessionScope:
    """Units of work on the job's database, each its own transaction (on SQLite the write lock is
    taken at BEGIN, so a read-then-write chunk never meets a stale snapshot)."""
    # The job's transaction has only read its job row; ending it releases its snapshot (and on
    # SQLite the write lock). The worker completes the job in a fresh transaction afterwards.
    ctx.session.rollback()
    engine = ctx.session.get_bind()
    factory = sessionmaker(engine.execution_options(sqlite_immediate=True), expire_on_commit=False)

    @contextmanager
    def scope() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    return scope


@job_handler(IMPORT_JOB, max_attempts=MAX_ATTEMPTS)
def run_order_import(ctx: JobContext, import_id: int) -> None:
    sessions = own_sessions(ctx)
    try:
        importer.run_import(sessions, import_id, ctx.clock)
    except Exception as error:
        if ctx.attempt >= MAX_ATTEMPTS:
            importer.mark_failed(sessions, import_id, ctx.clock, f"{type(error).__name__}: {error}")
        raise
