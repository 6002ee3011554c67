"""Full and incremental sync of a corp's WeCom data into siyu.

Phases (each resumable from the run's checkpoint, see ``sync_runner``):

=============  ===========================================================  ======  ===========
phase          what                                                         full    incremental
=============  ===========================================================  ======  ===========
departments    ``department/list`` → the tree with materialised paths       yes     yes
staff          ``user/list`` per department + ``get_follow_user_list``      yes     yes
tags           ``get_corp_tag_list`` → tag groups and tags                  yes     yes
customers      ``batch/get_by_user`` in chunks of 100 follow users          yes     —
relations      ``externalcontact/list`` per follow user: end / fetch new    yes     yes
groups         ``groupchat/list`` + ``groupchat/get`` → chats and members   yes     yes
=============  ===========================================================  ======  ===========

Every write is an idempotent upsert, so running a sync twice changes nothing the second time, and a
run that crashed resumes from its last committed unit (``WeComSync.start`` picks it up again).

Use from code::

    sync = WeComSync(sessions, WeComClientFactory(sessions, clock), clock)
    run = sync.sync(corp_id)           # full the first time, incremental afterwards

or enqueue it for a worker with ``request_sync`` (the console's "sync now").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import structlog
from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from siyu.integrations.wecom.client import WeComClientFactory
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.sync_customers import run_customer_pages, run_relation_reconciliation
from siyu.integrations.wecom.sync_groups import run_group_chats
from siyu.integrations.wecom.sync_org import (
    RESTRICTED,
    ensure_staff,
    fetch_departments,
    fetch_members,
    upsert_departments,
    upsert_staff,
)
from siyu.integrations.wecom.sync_runner import CommitHook, ProgressListener, SyncRunner, SyncTuning
from siyu.integrations.wecom.sync_tags import upsert_corp_tags
from siyu.integrations.wecom.tokens import SessionScope
from siyu.kit.clock import Clock
from siyu.kit.jobs import enqueue
from siyu.models.wecom import SyncStatus, WeComConnection, WeComSyncRun

log = structlog.get_logger("siyu.wecom.sync")
FULL = "full"
INCREMENTAL = "incremental"
PHASES: dict[str, tuple[str, ...]] = {
    FULL: ("departments", "staff", "tags", "customers", "relations", "groups"),
    INCREMENTAL: ("departments", "staff", "tags", "relations", "groups"),
}
#: Checkpoint keys that later phases need.
_CARRIED = ("address_book", "department_ids", "follow_users")
#: A run marked running that has not moved for this long was abandoned by a crashed process.
STALE_AFTER = timedelta(minutes=10)
JOB_NAME = "wecom.sync"


def _departments(runner: SyncRunner) -> None:
    try:
        departments = fetch_departments(runner.address_book)
    except WeComApiError as error:
        if error.errcode not in RESTRICTED:
            raise
        # The secret may not read the address book: staff come from the follow users only.
        errcode = error.errcode
        log.warning("wecom.sync.address_book_refused", run=runner.run_id, errcode=errcode)
        runner.commit(lambda session: {"refused_errcode": errcode},
                      checkpoint={"address_book": False, "department_ids": []}, done=1, total=1)
        return
    now = runner.clock.now()
    ids = [department.id for department in departments]
    runner.commit(lambda session: upsert_departments(session, runner.corp_id, departments, now).as_dict(),
                  checkpoint={"address_book": True, "department_ids": ids}, done=1, total=1)


def _staff(runner: SyncRunner) -> None:
    follow_users = sorted(set(runner.contact.get_follow_user_list().follow_user))
    address_book = bool(runner.checkpoint.get("address_book"))
    members = (fetch_members(runner.address_book, runner.checkpoint.get("department_ids", []))
               if address_book else [])
    now = runner.clock.now()

    def write(session: Session) -> dict[str, int]:
        keep = set(follow_users) if runner.full and address_book else None
        counts = upsert_staff(session, runner.corp_id, members, now, keep_userids=keep).as_dict()
        counts["created"] += ensure_staff(session, runner.corp_id, follow_users, now)
        counts["follow_users"] = len(follow_users)
        return counts

    runner.commit(write, checkpoint={"follow_users": follow_users}, done=1, total=1)


def _tags(runner: SyncRunner) -> None:
    groups = runner.contact.get_corp_tag_list().tag_group
    now = runner.clock.now()
    runner.commit(lambda session: upsert_corp_tags(session, runner.corp_id, groups, now).as_dict(),
                  checkpoint={}, done=1, total=1)


STEPS: dict[str, Callable[[SyncRunner], None]] = {
    "departments": _departments, "staff": _staff, "tags": _tags, "customers": run_customer_pages,
    "relations": run_relation_reconciliation, "groups": run_group_chats,
}


def _unfinished_run(session: Session, corp_id: int) -> WeComSyncRun | None:
    return session.scalars(select(WeComSyncRun).where(
        WeComSyncRun.corp_id == corp_id, WeComSyncRun.status != SyncStatus.done)
        .order_by(desc(WeComSyncRun.id)).limit(1)).one_or_none()


def default_kind(session: Session, corp_id: int) -> str:
    """Full until one full sync has finished, incremental afterwards."""
    finished = session.scalars(select(WeComSyncRun.id).where(
        WeComSyncRun.corp_id == corp_id, WeComSyncRun.kind == FULL, WeComSyncRun.status == SyncStatus.done)
        .limit(1)).first()
    return INCREMENTAL if finished else FULL


def open_run(session: Session, corp_id: int, kind: str | None, clock: Clock) -> tuple[WeComSyncRun, bool]:
    """The corp's unfinished run of this kind (to resume), or a new one; returns (run, created).

    An unfinished run of the other kind is closed as failed ("superseded"): only one run per corp
    moves at a time.
    """
    kind = kind or default_kind(session, corp_id)
    if kind not in PHASES:
        raise ValueError(f"unknown sync kind {kind!r}")
    now = clock.now()
    unfinished = _unfinished_run(session, corp_id)
    if unfinished is not None and unfinished.kind == kind:
        return unfinished, False
    if unfinished is not None:
        unfinished.status, unfinished.error, unfinished.finished_at = SyncStatus.failed, "superseded", now
    run = WeComSyncRun(corp_id=corp_id, kind=kind, status=SyncStatus.running, phase=None, checkpoint={},
                       counts={}, started_at=now, created_at=now, updated_at=now)
    session.add(run)
    session.flush()
    return run, True


def request_sync(session: Session, corp_id: int, kind: str | None, clock: Clock) -> WeComSyncRun:
    """Open (or find) a run and enqueue the job that carries it out, in the caller's transaction.

    A run already moving is returned as it is; a failed one, or one abandoned by a crashed process,
    gets a new job that resumes it. A corp without a WeCom connection is refused.
    """
    if session.scalars(select(WeComConnection.id).where(WeComConnection.corp_id == corp_id)).first() is None:
        raise WeComNotConnected(corp_id)
    run, created = open_run(session, corp_id, kind, clock)
    moving = run.status == SyncStatus.running and run.updated_at > clock.now() - STALE_AFTER
    if created or not moving:
        run.status, run.error, run.updated_at = SyncStatus.running, None, clock.now()
        enqueue(session, JOB_NAME, {"run_id": run.id}, corp_id=corp_id, clock=clock)
    return run


def sync_runs(session: Session, corp_id: int, limit: int = 20) -> list[WeComSyncRun]:
    """The corp's latest runs, newest first (for the console)."""
    return list(session.scalars(select(WeComSyncRun).where(WeComSyncRun.corp_id == corp_id)
                                .order_by(desc(WeComSyncRun.id)).limit(limit)))


class WeComSync:
    """Starts, resumes and carries out sync runs.

    One process should carry a run at a time (``request_sync`` enqueues one job per run; the CLI runs
    in the foreground). Two at once would not corrupt data — every write is an idempotent upsert —
    but would fetch everything twice and move the checkpoint back and forth.
    """

    def __init__(self, sessions: SessionScope, clients: WeComClientFactory, clock: Clock, *,
                 tuning: SyncTuning | None = None, progress: ProgressListener | None = None,
                 after_commit: CommitHook | None = None) -> None:
        self.sessions = sessions
        self.clients = clients
        self.clock = clock
        self.tuning = tuning or SyncTuning()
        self.progress = progress
        self.after_commit = after_commit

    def start(self, corp_id: int, kind: str | None = None) -> int:
        """Open a run (or pick up the unfinished one) and return its id. A corp without a WeCom
        connection is refused (``WeComNotConnected``) before any run is recorded."""
        self.clients.for_corp(corp_id)
        with self.sessions() as session:
            run, _ = open_run(session, corp_id, kind, self.clock)
            run.status, run.error, run.updated_at = SyncStatus.running, None, self.clock.now()
            return run.id

    def sync(self, corp_id: int, kind: str | None = None) -> WeComSyncRun:
        """Start or resume, then run to the end."""
        return self.run(self.start(corp_id, kind))

    def run(self, run_id: int) -> WeComSyncRun:
        """Carry ``run_id`` from its checkpoint to the end. On failure the run is marked failed with
        the error and the exception propagates; calling ``run`` again resumes it."""
        with self.sessions() as session:
            run = session.get(WeComSyncRun, run_id)
            if run is None:
                raise LookupError(f"no sync run {run_id}")
            if run.status == SyncStatus.done:
                return run
            run.status, run.error = SyncStatus.running, None
        runner = SyncRunner(run, sessions=self.sessions, clock=self.clock,
                            contact=self.clients.for_corp(run.corp_id, "contact"),
                            address_book=self.clients.for_corp(run.corp_id, "address_book"),
                            tuning=self.tuning, progress=self.progress, after_commit=self.after_commit)
        log.info("wecom.sync.run", run=run_id, corp=run.corp_id, kind=run.kind, phase=run.phase)
        try:
            phases = PHASES[runner.kind]
            first = phases.index(runner.phase) if runner.phase in phases else 0
            for index, phase in enumerate(phases[first:]):
                if index > 0 or runner.phase != phase:
                    runner.enter_phase(phase, keep=_CARRIED)
                STEPS[phase](runner)
        except BaseException as error:
            self._finish(run_id, SyncStatus.failed, f"{type(error).__name__}: {error}"[:4000], runner)
            raise
        return self._finish(run_id, SyncStatus.done, None, runner)

    def _finish(self, run_id: int, status: SyncStatus, error: str | None, runner: SyncRunner) -> WeComSyncRun:
        now = self.clock.now()
        with self.sessions() as session:
            run = session.get(WeComSyncRun, run_id)
            run.status, run.error, run.updated_at = status, error, now
            if status == SyncStatus.done:
                run.phase, run.finished_at = "done", now
            session.flush()
            session.refresh(run)
        if status == SyncStatus.done:
            runner.phase = "done"
            runner.report(1, 1)
        return run
