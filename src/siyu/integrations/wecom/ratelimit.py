"""Keeping each corp's call rate below WeCom's limits, and the retry schedule.

WeCom limits each corp to 10 000 calls a minute and 150 000 an hour per API (reference §1.3; older
copies say 2 000 / 30 000) and blocks the corp for a minute or an hour once a limit is passed. One
in-process token bucket per corp and window keeps every API of the corp together below the chosen
limits, which is stricter than WeCom's per-API rule. A bucket refilling at ``r`` a second with room
for ``c`` can pass at most ``c + r·w`` calls in any window ``w``; we pick ``c`` = 10 % and ``r·w`` =
90 % of the limit, so no window ever sees more than the limit.

Other processes have their own buckets; the limits are per process, so a deployment running many
workers divides them (``SIYU_WECOM_CALLS_PER_MINUTE``). When WeCom still answers 45009, the corp is
paused for everyone in this process (``pause``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    """Calls per corp allowed in this process (all APIs together)."""

    per_minute: int = 6000
    per_hour: int = 120_000


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for -1 (busy), 45009 (rate limit), network errors and HTTP 5xx.

    ``attempts`` counts every try, the first included. Rate-limit answers back off from a longer base
    because WeCom blocks a corp for at least a minute.
    """

    attempts: int = 4
    base_delay: float = 0.5
    #: 15, 30, 60 s: WeCom's per-minute block has passed by the third retry.
    rate_limit_base_delay: float = 15.0
    max_delay: float = 60.0
    #: Spread of each delay (0.1 = ±10 %), so processes that failed together do not retry together.
    jitter: float = 0.1

    def delay(self, retry: int, *, rate_limited: bool = False) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        base = self.rate_limit_base_delay if rate_limited else self.base_delay
        delay = min(self.max_delay, base * 2 ** (retry - 1))
        if self.jitter:
            delay *= 1 + self.jitter * (2 * random.random() - 1)
        return delay


class _Bucket:
    def __init__(self, rate_per_second: float, capacity: float, now: float) -> None:
        self.rate = rate_per_second
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take one token, possibly on credit; returns how long the caller must wait for it."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def _bucket(limit: int, window_seconds: float, now: float) -> _Bucket:
    return _Bucket(rate_per_second=0.9 * limit / window_seconds, capacity=max(1.0, 0.1 * limit), now=now)


class RateLimiter:
    """Per-corp token buckets shared by every client of this process.

    ``acquire`` reserves a call and sleeps until it may go. Reservations are taken on credit, so
    concurrent callers queue up in order instead of spinning. ``monotonic`` and ``sleep`` are
    injectable so tests run without waiting.
    """

    def __init__(self, limits: RateLimits | None = None, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits = limits or RateLimits()
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[_Bucket, _Bucket]] = {}
        self._paused_until: dict[str, float] = {}

    def acquire(self, corp_key: str) -> float:
        """Wait until ``corp_key`` may make one more call; returns the seconds waited."""
        with self._lock:
            now = self._monotonic()
            buckets = self._buckets.get(corp_key)
            if buckets is None:
                buckets = (_bucket(self.limits.per_minute, 60.0, now),
                           _bucket(self.limits.per_hour, 3600.0, now))
                self._buckets[corp_key] = buckets
            wait = max(buckets[0].reserve(now), buckets[1].reserve(now),
                       self._paused_until.get(corp_key, 0.0) - now)
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def pause(self, corp_key: str, seconds: float) -> None:
        """Hold every call of ``corp_key`` for ``seconds`` (WeCom answered 45009)."""
        with self._lock:
            until = self._monotonic() + seconds
            self._paused_until[corp_key] = max(self._paused_until.get(corp_key, 0.0), until)


_shared: RateLimiter | None = None
_shared_lock = threading.Lock()


def shared_rate_limiter() -> RateLimiter:
    """The process-wide limiter, sized from settings on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            from siyu.kit.settings import get_settings

            settings = get_settings()
            _shared = RateLimiter(RateLimits(per_minute=settings.wecom_calls_per_minute,
                                             per_hour=settings.wecom_calls_per_hour))
        return _shared
