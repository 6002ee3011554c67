"""Calendar arithmetic of the policy: cap periods (natural day / week / month in the corp's time
zone, as WeCom counts its quota) and quiet hours in the customer's time zone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from siyu.models.policy import CapPeriod, QuotaRule


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def period_start(period: CapPeriod, at: datetime, tz: str) -> datetime:
    """The UTC instant the natural ``period`` containing ``at`` began in ``tz``."""
    local = at.astimezone(zone(tz))
    midnight = datetime.combine(local.date(), time(), tzinfo=local.tzinfo)
    if period == CapPeriod.week:
        midnight -= timedelta(days=local.weekday())
    elif period == CapPeriod.month:
        midnight = midnight.replace(day=1)
    return _normalise(midnight)


def next_period_start(period: CapPeriod, at: datetime, tz: str) -> datetime:
    """The UTC instant the next natural ``period`` after the one containing ``at`` begins."""
    local = period_start(period, at, tz).astimezone(zone(tz))
    if period == CapPeriod.day:
        following = local.date() + timedelta(days=1)
    elif period == CapPeriod.week:
        following = local.date() + timedelta(days=7)
    else:
        days = calendar.monthrange(local.year, local.month)[1]
        following = local.date().replace(day=1) + timedelta(days=days)
    return _normalise(datetime.combine(following, time(), tzinfo=zone(tz)))


def _normalise(local: datetime) -> datetime:
    # ``combine`` with a ZoneInfo resolves the offset at that wall time; convert to UTC for storage.
    return local.astimezone(UTC)


def quota_period(rule: QuotaRule, at: datetime, tz: str) -> tuple[CapPeriod, int]:
    """WeCom's receive quota as (period, how many per period) at ``at``."""
    if rule == QuotaRule.daily:
        return CapPeriod.day, 1
    if rule == QuotaRule.weekly7:
        return CapPeriod.week, 7
    local = at.astimezone(zone(tz))
    return CapPeriod.month, calendar.monthrange(local.year, local.month)[1]


@dataclass(frozen=True)
class QuietHours:
    """Local minutes ``[start, end)``; ``start > end`` spans midnight; ``start == end``: none."""

    start_minute: int
    end_minute: int

    @property
    def enabled(self) -> bool:
        return self.start_minute != self.end_minute

    def contains(self, minute: int) -> bool:
        if not self.enabled:
            return False
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    def release(self, at: datetime, tz: str) -> datetime | None:
        """When the quiet hours containing ``at`` end (UTC), or ``None`` if ``at`` is not quiet."""
        local = at.astimezone(zone(tz))
        minute = local.hour * 60 + local.minute
        if not self.contains(minute):
            return None
        end = local.replace(hour=self.end_minute // 60, minute=self.end_minute % 60, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        # Re-resolve the offset at the release's wall time (a DST change may lie in between).
        return datetime.combine(end.date(), end.time(), tzinfo=zone(tz)).astimezone(UTC)
