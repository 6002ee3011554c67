"""How big a generated brand is, and the time window its history covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

#: China has used one UTC+8 offset without daylight saving since 1991, so a fixed offset is exact
#: and far cheaper than a zoneinfo lookup per generated timestamp.
CHINA_OFFSET = timedelta(hours=8)
#: Months of order history behind the clock's "now".
HISTORY_MONTHS = 18


@dataclass(frozen=True)
class Scale:
    """The size of a generated brand. Every scale has the same shape: HQ → branches → stores →
    staff, customers homed at stores, orders over the last 18 months."""

    name: str
    branches: int
    stores: int
    staff: int
    customers: int
    orders: int
    #: Segment-spec events of the brand's mini program and stores (``seed.events``)
    events: int
    #: customers generated and written per batch; bounds memory at any scale
    chunk: int
    #: SQLite cannot hold this scale comfortably; refuse it there
    needs_postgres: bool = False


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", branches=3, stores=6, staff=12, customers=200, orders=1_200, events=3_000,
                  chunk=64),
    "demo": Scale("demo", branches=3, stores=20, staff=80, customers=20_000, orders=120_000,
                  events=500_000, chunk=5_000),
    "bench": Scale("bench", branches=6, stores=300, staff=1_200, customers=1_000_000, orders=10_000_000,
                   events=20_000_000, chunk=20_000, needs_postgres=True),
}


@dataclass(frozen=True)
class Window:
    """The order history: whole local (China) days from ``start`` (inclusive) to ``end``
    (exclusive). ``start`` is the first local midnight after now − 18 months and ``end`` is today's
    local midnight, so every generated timestamp lies in [now − 18 months, now)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_utc(self) -> datetime:
        """Local midnight of ``start`` as an aware UTC datetime; day ``d`` hour ``h`` local is
        ``start_utc + d days + h hours``."""
        return datetime.combine(self.start, time(0), tzinfo=UTC) - CHINA_OFFSET

    def local_date(self, day: int) -> date:
        return self.start + timedelta(days=day)


def months_before(moment: date, months: int) -> date:
    """``moment`` shifted back by whole calendar months, clamping the day to the target month."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


def history_window(now: datetime) -> Window:
    """The 18 months of whole local days before ``now``."""
    local_now = now.astimezone(UTC) + CHINA_OFFSET
    earliest = months_before(local_now.date(), HISTORY_MONTHS)
    return Window(start=earliest + timedelta(days=1), end=local_now.date())
