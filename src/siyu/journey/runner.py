"""The journey worker loop: claim due enrolments in batches, and tick the triggers every second.

Run it in ``siyu worker`` processes (and in-process in the embedded mode) — any number at once.
It sleeps only while nothing is due, and never longer than ``idle_seconds``, so a timer fires
within about that long of its due time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog

from siyu.journey import engine, triggers
from siyu.kit.clock import Clock, get_clock
from siyu.kit.db import Database

log = structlog.get_logger("siyu.journey")


@dataclass
class JourneyRunner:
    database: Database
    clock: Clock = field(default_factory=get_clock)
    batch_size: int = 1000
    idle_seconds: float = 0.2
    tick_seconds: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)
    _last_tick: float = float("-inf")

    def _anything_due(self) -> bool:
        # A plain read first: on SQLite an idle loop must not take the write lock five times a second.
        with self.database.session() as session:
            return engine.anything_due(session, self.clock.now())

    def run_batch(self) -> engine.BatchResult:
        """One batch, in its own transaction."""
        if not self._anything_due():
            return engine.BatchResult()
        with self.database.session(immediate=True) as session:
            return engine.run_due(session, self.clock.now(), batch_size=self.batch_size,
                                  is_sqlite=self.database.is_sqlite, clock=self.clock)

    def tick(self) -> dict[str, int]:
        with self.database.session() as session:
            if not triggers.live_journeys(session):
                return {}
        with self.database.session(immediate=True) as session:
            return triggers.tick(session, self.clock.now(), is_sqlite=self.database.is_sqlite)

    def run_once(self) -> int:
        """Tick if a second has passed, then run one batch; returns how many enrolments it claimed."""
        moment = self.clock.monotonic_seconds()
        if moment - self._last_tick >= self.tick_seconds:
            self._last_tick = moment
            self.tick()
        return self.run_batch().claimed

    def run_until_idle(self, max_batches: int = 10000) -> int:
        """Tick once and run batches until nothing is due (tests, simulations of the clock)."""
        self.tick()
        total = 0
        for _ in range(max_batches):
            claimed = self.run_batch().claimed
            total += claimed
            if claimed == 0:
                break
        return total

    def run(self) -> None:
        log.info("journey_runner.start")
        while not self.stop.is_set():
            try:
                claimed = self.run_once()
            except Exception as exc:  # noqa: BLE001 — the loop outlives a failed batch; its rows come back
                log.error("journey_runner.batch_failed", error=repr(exc))
                claimed = 0
            if claimed < self.batch_size:
                self.stop.wait(self.idle_seconds if claimed == 0 else 0)
        log.info("journey_runner.stop")
