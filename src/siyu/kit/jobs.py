"""Durable jobs: rows with ``due_at`` and a lease, claimed by any number of workers.

* ``enqueue`` writes the job in the caller's transaction, so it exists only if that commits.
* Workers claim due jobs in one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``
  on PostgreSQL; on SQLite the claim runs under ``BEGIN IMMEDIATE``, which serialises writers. A claim
  holds a lease that a heartbeat extends while the job runs.
* On SQLite a handler's transaction also starts with ``BEGIN IMMEDIATE``: a deferred transaction that
  reads and later writes fails at once ("database is locked") if any other connection committed in
  between, which a busy queue makes likely. The price is that a handler holds SQLite's single write
  lock while it runs, so handlers must stay short (they should anyway: no sleeping in job code).
* A handler's writes and the job's completion commit together, guarded by the lease owner: a worker
  that lost its lease (it was presumed dead and the job re-claimed) cannot complete it, so database
  effects happen once.
* Failures back off exponentially; after ``max_attempts`` (or a ``PermanentJobError``) the job is dead
  with its last error kept, and an operator can retry it.
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.kit.clock import Clock, get_clock
from siyu.kit.db import Database, dialect_insert
from siyu.models.job import Job, JobStatus

log = structlog.get_logger("siyu.jobs")


#: A factory of units of work (``with sessions() as session: …`` commits or rolls back).
SessionScope = Callable[[], AbstractContextManager[Session]]


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (bad input, a refused request)."""


@dataclass
class JobContext:
    """What a handler gets: the session of its transaction, the clock, and its job."""

    session: Session
    clock: Clock
    job_id: int
    corp_id: int | None
    attempt: int
    worker_id: str

    def own_sessions(self) -> SessionScope:
        """Units of work of their own, for long jobs that commit chunk by chunk (imports, syncs):
        neither one transaction (and, on SQLite, the single write lock) held for minutes nor the
        progress lost to a crash. Each unit takes the write lock up front on SQLite, so a
        read-then-write unit never meets a stale snapshot. The job's own transaction, which has
        only read its job row, is ended first; the worker completes the job in a fresh one."""
        self.session.rollback()
        engine = self.session.get_bind()
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

    def enqueue(self, name: str, args: dict[str, Any] | None = None, **options: Any) -> int | None:
        """Enqueue a follow-up job in this job's transaction (it runs only if this one completes)."""
        options.setdefault("clock", self.clock)
        return enqueue(self.session, name, args, **options)


Handler = Callable[..., Any]


@dataclass
class _Registration:
    handler: Handler
    max_attempts: int | None = None


_registry: dict[str, _Registration] = {}


def job_handler(name: str, *, max_attempts: int | None = None) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, **args)`` under ``name`` (e.g. ``"journey.step_due"``)."""

    def register(handler: Handler) -> Handler:
        if name in _registry and _registry[name].handler is not handler:
            raise ValueError(f"job handler {name!r} registered twice")
        _registry[name] = _Registration(handler, max_attempts)
        return handler

    return register


def registered_handlers() -> dict[str, Handler]:
    """Every registered handler by job name."""
    return {name: reg.handler for name, reg in _registry.items()}


#: Modules whose import registers the built-in handlers.
HANDLER_MODULES = ["siyu.kit.outbox", "siyu.integrations.wecom.handlers", "siyu.integrations.wecom.tasks",
                   "siyu.customer.tasks", "siyu.ingest.tasks", "siyu.order.tasks", "siyu.tag.tasks",
                   "siyu.segment.tasks", "siyu.policy.tasks", "siyu.broadcast.tasks", "siyu.journey.webhook",
                   "siyu.acquisition.tasks", "siyu.red_packet.tasks", "siyu.loyalty.tasks", "siyu.staff_task.tasks",
                   # the WeCom deliverers of the outbox, one module per provider
                   "siyu.integrations.wecom.outbox", "siyu.integrations.wecom.broadcast_outbox",
                   "siyu.integrations.wecom.broadcast_sync", "siyu.integrations.wecom.media_refresh",
                   "siyu.integrations.wecom.moment_outbox", "siyu.integrations.wecom.journey_outbox",
                   "siyu.integrations.wecom.acquisition_outbox"]


def load_handler_modules(extra: str | list[str] = "") -> None:
    """Import every module that registers handlers (built-ins plus ``SIYU_JOB_MODULES``)."""
    names = list(HANDLER_MODULES)
    if isinstance(extra, str):
        names += [n.strip() for n in extra.split(",") if n.strip()]
    else:
        names += extra
    for module in names:
        importlib.import_module(module)


def enqueue(
    session: Session,
    name: str,
    args: dict[str, Any] | None = None,
    *,
    due_at: datetime | None = None,
    delay: timedelta | None = None,
    key: str | None = None,
    corp_id: int | None = None,
    max_attempts: int | None = None,
    clock: Clock | None = None,
) -> int | None:
    """Add a job in the caller's transaction; it becomes visible to workers when that commits.

    With ``key``, a second enqueue of the same key is a no-op (unique constraint), which makes
    enqueueing idempotent under races. Returns the new job's id, or ``None`` when a job with ``key``
    already exists."""
    clock = clock or get_clock()
    when = due_at or clock.now()
    if delay:
        when = when + delay
    if max_attempts is None:
        max_attempts = _default_max_attempts(name)
    now = clock.now()
    values = dict(
        name=name, args=args or {}, key=key, due_at=when, corp_id=corp_id, status=JobStatus.queued,
        attempts=0, max_attempts=max_attempts, created_at=now, updated_at=now,
    )
    # The row goes in as parameters, not ``.values(...)``: one cached compiled statement instead of
    # a new statement (and cache key over every literal) per job — enqueueing sits on hot paths.
    statement = dialect_insert(session, Job.__table__)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    return session.execute(statement.returning(Job.__table__.c.id), values).scalar_one_or_none()


def _default_max_attempts(name: str) -> int:
    registration = _registry.get(name)
    if registration and registration.max_attempts:
        return registration.max_attempts
    from siyu.kit.settings import get_settings

    return get_settings().job_max_attempts


def enqueue_many(session: Session, name: str, args_list: list[dict[str, Any]], *, corp_id: int | None = None,
                 clock: Clock | None = None) -> None:
    """Add one job per ``args`` (due now, no ``key``) in one statement, in the caller's transaction —
    for callers that create many at once, such as the WeCom inbox storing a batch of callbacks."""
    if not args_list:
        return
    now = (clock or get_clock()).now()
    max_attempts = _default_max_attempts(name)
    session.execute(Job.__table__.insert(), [
        dict(name=name, args=args, key=None, due_at=now, corp_id=corp_id, status=JobStatus.queued, attempts=0,
             max_attempts=max_attempts, created_at=now, updated_at=now)
        for args in args_list])


def backoff_seconds(attempt: int) -> float:
    """2 s, 4 s, 8 s … capped at one hour."""
    return float(min(2 ** max(attempt, 1), 3600))


def retry_job(session: Session, job_id: int, clock: Clock | None = None) -> bool:
    """Put a dead job back in the queue with a fresh attempt budget. Returns False if not dead."""
    clock = clock or get_clock()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.dead)
        .values(status=JobStatus.queued, attempts=0, due_at=clock.now(), lease_until=None,
                locked_by=None, finished_at=None, updated_at=clock.now())
    )
    return result.rowcount == 1


def default_worker_id() -> str:
    """``host:pid:thread`` — unique among live workers, readable in the console."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class Worker:
    """Claims and runs due jobs until ``stop`` is set. Safe to run many, in many processes."""

    database: Database
    clock: Clock = field(default_factory=get_clock)
    worker_id: str = field(default_factory=default_worker_id)
    lease_seconds: float = 60.0
    batch_size: int = 20
    idle_seconds: float = 0.5
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Loop until ``stop`` is set. A database error (a restart, a lock timeout) is logged and the
        loop carries on: the jobs it touched are rows and come back when their lease runs out."""
        log.info("worker.start", worker=self.worker_id)
        while not self.stop.is_set():
            try:
                ran = self.run_once()
            except Exception as exc:  # noqa: BLE001 — the loop must outlive any one failure
                log.error("worker.loop_failed", worker=self.worker_id, error=repr(exc))
                ran = 0
            if ran == 0:
                self.stop.wait(self.idle_seconds)
        log.info("worker.stop", worker=self.worker_id)

    def run_once(self) -> int:
        """Claim one batch and run it. Returns how many jobs were claimed."""
        claimed = self.claim()
        if not claimed:
            return 0
        heartbeat = _Heartbeat(self, claimed)
        heartbeat.start()
        try:
            for job_id in claimed:
                if self.stop.is_set():
                    self._release(job_id)
                    continue
                self.execute(job_id)
                heartbeat.done(job_id)
        finally:
            heartbeat.finish()
        return len(claimed)

    def claim(self) -> list[int]:
        """Lease up to ``batch_size`` due jobs (queued and due, or running with an expired lease)."""
        now = self.clock.now()
        lease = now + timedelta(seconds=self.lease_seconds)
        with self.database.session(immediate=True) as session:
            due = or_(
                and_(Job.status == JobStatus.queued, Job.due_at <= now),
                and_(Job.status == JobStatus.running, Job.lease_until < now),
            )
            candidates = select(Job.id).where(due).order_by(Job.due_at, Job.id).limit(self.batch_size)
            if not self.database.is_sqlite:
                candidates = candidates.with_for_update(skip_locked=True)
            rows = session.execute(
                update(Job)
                .where(Job.id.in_(candidates.scalar_subquery()))
                .values(status=JobStatus.running, lease_until=lease, locked_by=self.worker_id,
                        attempts=Job.attempts + 1, started_at=now, updated_at=now)
                .returning(Job.id, Job.attempts, Job.max_attempts)
                .execution_options(synchronize_session=False)
            ).all()
            claimed: list[int] = []
            for job_id, attempts, max_attempts in rows:
                if attempts > max_attempts:
                    # Its last allowed attempt died with its worker (the lease ran out): it is dead,
                    # and the attempt counted by this claim never started.
                    session.execute(
                        update(Job).where(Job.id == job_id)
                        .values(status=JobStatus.dead, attempts=attempts - 1, finished_at=now,
                                lease_until=None, locked_by=None, updated_at=now,
                                last_error=(f"lease expired on attempt {attempts - 1}; "
                                            "the worker running it stopped responding"))
                        .execution_options(synchronize_session=False)
                    )
                else:
                    claimed.append(job_id)
        return sorted(claimed)

    def extend_leases(self, job_ids: list[int]) -> None:
        """Push the leases of jobs this worker still holds ``lease_seconds`` into the future."""
        if not job_ids:
            return
        lease = self.clock.now() + timedelta(seconds=self.lease_seconds)
        with self.database.session() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(job_ids), Job.locked_by == self.worker_id, Job.status == JobStatus.running)
                .values(lease_until=lease)
            )

    def _release(self, job_id: int) -> None:
        with self.database.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.locked_by == self.worker_id, Job.status == JobStatus.running)
                .values(status=JobStatus.queued, attempts=Job.attempts - 1, lease_until=None, locked_by=None,
                        updated_at=self.clock.now())
            )

    def execute(self, job_id: int) -> None:
        """Run one job this worker has claimed; does nothing if the claim was taken over."""
        error: BaseException | None = None
        permanent = False
        try:
            with self.database.session(immediate=True) as session:
                job = session.get(Job, job_id)
                if job is None or job.locked_by != self.worker_id or job.status != JobStatus.running:
                    return
                registration = _registry.get(job.name)
                if registration is None:
                    raise PermanentJobError(f"no handler registered for job {job.name!r}")
                context = JobContext(session, self.clock, job.id, job.corp_id, job.attempts, self.worker_id)
                registration.handler(context, **(job.args or {}))
                now = self.clock.now()
                completed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.locked_by == self.worker_id, Job.status == JobStatus.running)
                    .values(status=JobStatus.done, finished_at=now, lease_until=None, last_error=None,
                            updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if completed.rowcount != 1:
                    # Our lease was taken over; undo this run's effects so they happen once.
                    raise _LeaseLost()
        except _LeaseLost:
            log.warning("job.lease_lost", job=job_id, worker=self.worker_id)
            return
        except PermanentJobError as exc:
            error, permanent = exc, True
        except Exception as exc:  # noqa: BLE001 — every handler failure is recorded on the job
            error = exc
        if error is not None:
            self._record_failure(job_id, error, permanent)

    def _record_failure(self, job_id: int, error: BaseException, permanent: bool) -> None:
        now = self.clock.now()
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        with self.database.session(immediate=True) as session:
            job = session.get(Job, job_id)
            if job is None or job.locked_by != self.worker_id or job.status != JobStatus.running:
                return
            dead = permanent or job.attempts >= job.max_attempts
            job.status = JobStatus.dead if dead else JobStatus.queued
            job.last_error = detail[:4000]
            job.lease_until = None
            job.locked_by = None
            if not dead:
                job.due_at = now + timedelta(seconds=backoff_seconds(job.attempts))
            job.finished_at = now if dead else None
            job.updated_at = now
        log.warning("job.failed", job=job_id, error=detail, dead=dead)


class _LeaseLost(Exception):
    pass


class _Heartbeat:
    """Extends the leases of a claimed batch while it runs, so long jobs are not taken over."""

    def __init__(self, worker: Worker, job_ids: list[int]) -> None:
        self.worker = worker
        self.pending = set(job_ids)
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="job-heartbeat")

    def start(self) -> None:
        self.thread.start()

    def done(self, job_id: int) -> None:
        with self.lock:
            self.pending.discard(job_id)

    def finish(self) -> None:
        self.finished.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        interval = max(self.worker.lease_seconds / 3, 0.05)
        while not self.finished.wait(interval):
            with self.lock:
                ids = sorted(self.pending)
            try:
                self.worker.extend_leases(ids)
            except Exception as exc:  # noqa: BLE001 — a missed beat only risks a takeover
                log.warning("job.heartbeat_failed", error=str(exc))

