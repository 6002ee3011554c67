"""The bookkeeping of one sync run: checkpoints, counts, progress and the commit of each unit of work.

A unit (one page of customers, one staff member's relations, a batch of group chats) writes its rows,
its counts and the checkpoint that says where to continue in **one** transaction. A crash at any
moment therefore loses at most the unit in flight, and resuming starts exactly after the last unit
that committed. Calls to WeCom happen between units, never inside an open transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.tokens import SessionScope
from siyu.kit.clock import Clock
from siyu.models.wecom import WeComSyncRun


@dataclass(frozen=True)
class SyncProgress:
    """A snapshot sent after every committed unit (for the CLI's progress bar)."""

    run_id: int
    phase: str
    #: units done in this phase, and how many there are (None when WeCom does not say)
    done: int
    total: int | None
    #: per phase: {"customers": {"rows": 1200, …}, …}
    counts: dict[str, dict[str, int]]


ProgressListener = Callable[[SyncProgress], None]
#: Called after each committed unit with the phase and the units committed so far in this process —
#: tests use it to crash a sync in the middle.
CommitHook = Callable[[str, int], None]


@dataclass
class SyncTuning:
    """Sizes of the work: WeCom page size, rows per transaction, group chats per transaction."""

    page_limit: int = 100
    rows_per_commit: int = 1000
    chats_per_commit: int = 20


def flatten_counts(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """``{"customers": {"rows": 5}}`` → ``{"customers.rows": 5}``, zeros left out: the run row keeps a
    flat map of what happened, which the console and the API list as they are."""
    return {f"{phase}.{name}": value
            for phase, values in counts.items() for name, value in values.items() if value}


def phase_counts(counts: dict[str, int], phase: str) -> dict[str, int]:
    """The counts of one phase from a run's flat ``counts`` (names without the phase prefix)."""
    prefix = f"{phase}."
    return {key[len(prefix):]: value for key, value in counts.items() if key.startswith(prefix)}


def _nest(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for key, value in counts.items():
        phase, _, name = key.partition(".")
        nested.setdefault(phase, {})[name] = value
    return nested


class SyncRunner:
    """Carries one run through its phases; the phases call ``commit`` for each unit of work."""

    def __init__(self, run: WeComSyncRun, *, sessions: SessionScope, clock: Clock, contact: WeComClient,
                 address_book: WeComClient, tuning: SyncTuning, progress: ProgressListener | None = None,
                 after_commit: CommitHook | None = None) -> None:
        self.run_id = run.id
        self.corp_id = run.corp_id
        self.kind = run.kind
        self.phase = run.phase or ""
        self.checkpoint: dict[str, Any] = dict(run.checkpoint or {})
        self.counts: dict[str, dict[str, int]] = _nest(run.counts or {})
        self.sessions = sessions
        self.clock = clock
        self.contact = contact
        self.address_book = address_book
        self.tuning = tuning
        self._progress = progress
        self._after_commit = after_commit
        self.units_committed = 0

    @property
    def full(self) -> bool:
        return self.kind == "full"

    def add_counts(self, phase: str, delta: dict[str, int]) -> None:
        bucket = self.counts.setdefault(phase, {})
        for key, value in delta.items():
            if value:
                bucket[key] = bucket.get(key, 0) + value
            else:
                bucket.setdefault(key, 0)

    def commit(self, write: Callable[[Session], dict[str, int]] | None, *, checkpoint: dict[str, Any],
               done: int, total: int | None) -> None:
        """Run ``write`` and save ``checkpoint`` and the counts it returned, all in one transaction."""
        new_checkpoint = {**self.checkpoint, **checkpoint}
        with self.sessions() as session:
            if write is not None:
                self.add_counts(self.phase, write(session))
            session.execute(update(WeComSyncRun).where(WeComSyncRun.id == self.run_id).values(
                phase=self.phase, checkpoint=new_checkpoint, counts=flatten_counts(self.counts),
                updated_at=self.clock.now()))
        self.checkpoint = new_checkpoint
        self.units_committed += 1
        self.report(done, total)
        if self._after_commit is not None:
            self._after_commit(self.phase, self.units_committed)

    def refresh_statistics(self, tables: tuple[str, ...]) -> None:
        """Let PostgreSQL's planner see how big ``tables`` have grown (no-op on SQLite).

        A first sync fills empty tables faster than autovacuum analyses them; without statistics the
        planner estimates one row per corp and scans every identity of the corp for each page's
        ``value IN (…)`` lookup instead of probing the unique index — quadratic in the corp's size.
        """
        with self.sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("ANALYZE " + ", ".join(tables)))

    def enter_phase(self, phase: str, keep: tuple[str, ...] = ()) -> None:
        """Start ``phase`` with a clean checkpoint (keeping the keys in ``keep``) and save it."""
        self.phase = phase
        self.checkpoint = {key: self.checkpoint[key] for key in keep if key in self.checkpoint}
        self.checkpoint["phase_started"] = True
        with self.sessions() as session:
            session.execute(update(WeComSyncRun).where(WeComSyncRun.id == self.run_id).values(
                phase=phase, checkpoint=self.checkpoint, counts=flatten_counts(self.counts),
                updated_at=self.clock.now()))
        self.report(0, None)

    def report(self, done: int, total: int | None) -> None:
        if self._progress is not None:
            self._progress(SyncProgress(self.run_id, self.phase, done, total, self.counts))
