"""The injected clock.

Every time-dependent rule (job due times, leases, caps, quiet hours, token expiry, journey timers)
asks a ``Clock`` for the time instead of calling ``datetime.now`` so tests and simulations can run on
a controlled horizon.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_seconds(self) -> float:
        import time

        return time.monotonic()


class TestClock(Clock):
    """A clock that only moves when told to. Thread-safe so a worker thread can share it."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic_seconds(self) -> float:
        with self._lock:
            return self._now.timestamp()

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("TestClock.set needs a timezone-aware datetime")
        with self._lock:
            self._now = moment


_default_clock: Clock = Clock()


def get_clock() -> Clock:
    return _default_clock


def set_clock(clock: Clock) -> None:
    """Replace the process-wide clock (tests, simulations)."""
    global _default_clock
    _default_clock = clock
