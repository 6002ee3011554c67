"""Job handlers for the real-process tests (``tests/kit/test_worker_processes.py``).

Worker subprocesses import this module through ``SIYU_JOB_MODULES=tests.kit.crash_handlers``. The
tables the handlers write are plain tables on their own metadata: the tests create them on the test
database and drop them afterwards, so no model or migration exists for them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, String, Table, insert

from siyu.kit.jobs import JobContext, job_handler

HANDLER_METADATA = MetaData()

#: One row per completed ``crash.block_until_released`` job: the primary key makes a second
#: completion of the same token impossible to hide.
crash_effect = Table(
    "test_crash_effect", HANDLER_METADATA,
    Column("token", String(64), primary_key=True),
    Column("worker", String(200), nullable=False),
)

#: One row per completed ``crash.record_execution`` job.
execution_effect = Table(
    "test_execution_effect", HANDLER_METADATA,
    Column("job_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("worker", String(200), nullable=False),
    Column("started", Float, nullable=False),
)

#: A handler gives up waiting for its release after this long, so a broken test fails, not hangs.
RELEASE_WAIT_SECONDS = 60.0


def append_line(path: Path, line: str) -> None:
    """Append one line in a single ``write`` on an ``O_APPEND`` file: lines from different
    processes never interleave, and a line written before a SIGKILL survives it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (line + "\n").encode())
    finally:
        os.close(descriptor)


@job_handler("crash.block_until_released", max_attempts=5)
def block_until_released(ctx: JobContext, folder: str, token: str) -> None:
    """Write the effect (uncommitted), record that in a file outside the transaction, then wait for
    ``release``: a worker killed after the record dies with an effect written but not committed."""
    base = Path(folder)
    ctx.session.execute(insert(crash_effect).values(token=token, worker=ctx.worker_id))
    ctx.session.flush()
    append_line(base / "started.log", f"{os.getpid()} {ctx.attempt} {ctx.worker_id}")
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while not (base / "release").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the test never released the job")
        # Test-only polling: a real handler never waits like this.
        time.sleep(0.02)


@job_handler("crash.record_execution")
def record_execution(ctx: JobContext, folder: str) -> None:
    """Write the effect and log ``job_id worker pid start end`` for every execution, committed or
    not, so a job run twice (or by two workers at once) shows up in the log."""
    started = time.time()
    ctx.session.execute(insert(execution_effect).values(job_id=ctx.job_id, worker=ctx.worker_id,
                                                        started=started))
    ctx.session.flush()
    # A few milliseconds of "work" widen the window in which a double claim would overlap.
    time.sleep(0.005)
    finished = time.time()
    append_line(Path(folder) / f"executions-{os.getpid()}.log",
                f"{ctx.job_id} {ctx.worker_id} {os.getpid()} {started!r} {finished!r}")
