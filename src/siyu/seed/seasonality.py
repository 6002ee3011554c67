"""When a fruit retailer sells what: categories, prices, seasons, festivals, weekdays and hours.

Demand is modelled per category and per local day so the seasonality is visible where an operator
would look for it: watermelon and lychee (时令水果) peak in July, gift boxes (礼盒) spike in the three
weeks before the Spring Festival and the two weeks before the Mid-Autumn Festival, imported cherries
peak around the new year, weekends beat weekdays and evenings beat afternoons. Days are sampled
through cumulative weight tables and ``bisect`` so drawing ten million timestamps stays cheap.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

from siyu.seed.scales import Window

#: Spring Festival (春节) and Mid-Autumn Festival (中秋节) dates follow the lunar calendar.
SPRING_FESTIVAL = {
    2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
    2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3), 2031: date(2031, 1, 23),
}
MID_AUTUMN = {
    2020: date(2020, 10, 1), 2021: date(2021, 9, 21), 2022: date(2022, 9, 10), 2023: date(2023, 9, 29),
    2024: date(2024, 9, 17), 2025: date(2025, 10, 6), 2026: date(2026, 9, 25), 2027: date(2027, 9, 15),
    2028: date(2028, 10, 3), 2029: date(2029, 9, 22), 2030: date(2030, 9, 12), 2031: date(2031, 10, 1),
}


@dataclass(frozen=True)
class Category:
    """A product category: its share of ordinary demand, a factor per month (Jan…Dec) and the
    price range of one order in yuan (low, most common, high)."""

    name: str
    share: float
    months: tuple[float, ...]
    price: tuple[float, float, float]


GIFT_BOX = "礼盒"
SEASONAL = "时令水果"
IMPORTED = "进口水果"
CATEGORIES: tuple[Category, ...] = (
    Category("日常水果", 0.30, (1.1, 1.0, 0.95, 0.95, 0.95, 0.95, 0.9, 0.9, 1.0, 1.05, 1.05, 1.1),
             (12, 29, 88)),
    Category("鲜切水果", 0.14, (0.8, 0.75, 0.85, 0.95, 1.1, 1.3, 1.45, 1.45, 1.1, 0.95, 0.85, 0.8),
             (9.9, 19.9, 49.9)),
    # watermelon, lychee, peaches, grapes: the summer peak
    Category(SEASONAL, 0.18, (0.35, 0.3, 0.4, 0.6, 1.1, 1.9, 2.4, 2.2, 1.4, 0.9, 0.6, 0.45), (15, 39, 128)),
    Category("热带水果", 0.10, (0.8, 0.75, 0.9, 1.1, 1.4, 1.6, 1.5, 1.3, 1.0, 0.85, 0.8, 0.8),
             (19.9, 49, 168)),
    # Chilean cherries arrive for the new year and the Spring Festival
    Category(IMPORTED, 0.12, (1.7, 1.3, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.2, 1.6), (39, 99, 399)),
    Category(GIFT_BOX, 0.06, (0.6, 0.6, 0.5, 0.5, 0.6, 0.6, 0.5, 0.5, 0.7, 0.6, 0.6, 0.8), (128, 238, 888)),
    Category("果汁饮品", 0.10, (0.6, 0.6, 0.7, 0.9, 1.2, 1.5, 1.7, 1.7, 1.2, 0.9, 0.7, 0.6), (8, 16, 36)),
)
_GIFT_INDEX = [c.name for c in CATEGORIES].index(GIFT_BOX)
_IMPORTED_INDEX = [c.name for c in CATEGORIES].index(IMPORTED)
#: Monday … Sunday: families stock up at weekends.
WEEKDAY = (0.92, 0.9, 0.93, 0.97, 1.08, 1.22, 1.18)
#: Local hours a store's till rings (08:00–22:59): a lunch bump and the after-work peak.
STORE_HOURS = {8: 3, 9: 4, 10: 5, 11: 7, 12: 8, 13: 6, 14: 4, 15: 4, 16: 5, 17: 8, 18: 11, 19: 12, 20: 10,
               21: 6, 22: 2}
#: Online orders come around the clock, peaking late in the evening.
ONLINE_HOURS = {0: 1.5, 1: 0.8, 2: 0.4, 3: 0.2, 4: 0.2, 5: 0.3, 6: 0.8, 7: 2, 8: 3, 9: 4, 10: 5, 11: 6,
                12: 7, 13: 5, 14: 4, 15: 4, 16: 4, 17: 5, 18: 6, 19: 8, 20: 10, 21: 10, 22: 8, 23: 4}


def _days_until(day: date, festivals: dict[int, date]) -> int | None:
    """Days from ``day`` to the next festival in the table (0 on the day), None when unknown."""
    for year in (day.year, day.year + 1):
        festival = festivals.get(year)
        if festival is not None and festival >= day:
            return (festival - day).days
    return None


def _days_since(day: date, festivals: dict[int, date]) -> int | None:
    festival = festivals.get(day.year)
    if festival is not None and festival <= day:
        return (day - festival).days
    return None


def category_demand(day: date) -> list[float]:
    """Relative demand of each category (in ``CATEGORIES`` order) on one local day."""
    demand = [c.share * c.months[day.month - 1] for c in CATEGORIES]
    gift, imported = _GIFT_INDEX, _IMPORTED_INDEX
    before_spring = _days_until(day, SPRING_FESTIVAL)
    if before_spring is not None and 1 <= before_spring <= 21:
        # gift boxes and cherries for family visits, rising towards the eve
        demand[gift] *= 1 + 12 * (22 - before_spring) / 21
        demand[imported] *= 1.6
    before_mid_autumn = _days_until(day, MID_AUTUMN)
    if before_mid_autumn is not None and 1 <= before_mid_autumn <= 14:
        demand[gift] *= 1 + 14 * (15 - before_mid_autumn) / 14
    since_spring = _days_since(day, SPRING_FESTIVAL)
    if since_spring is not None and since_spring <= 6:
        # the holiday week: shops half-closed and people away from the cities they shop in
        demand = [d * 0.55 for d in demand]
        demand[gift] *= 2.5 if since_spring <= 2 else 1
    return demand


class Calendar:
    """Per-day weights over a ``Window`` and the draws that use them."""

    def __init__(self, window: Window) -> None:
        self.window = window
        day_weights: list[float] = []
        #: per day, cumulative category weights for ``bisect``
        self.category_cumulative: list[list[float]] = []
        for index in range(window.days):
            day = window.local_date(index)
            demand = category_demand(day)
            day_weights.append(WEEKDAY[day.weekday()] * sum(demand))
            self.category_cumulative.append(list(accumulate(demand)))
        #: ``cumulative[d]`` is the weight of days before ``d``; length ``days + 1``
        self.cumulative: list[float] = [0.0, *accumulate(day_weights)]
        self.store_hours, self.store_hour_cumulative = _hour_table(STORE_HOURS)
        self.online_hours, self.online_hour_cumulative = _hour_table(ONLINE_HOURS)

    @property
    def days(self) -> int:
        return self.window.days

    def exposure(self, start: int, end: int) -> float:
        """The demand weight of days ``start`` ≤ d < ``end`` (0 when empty)."""
        if start >= end:
            return 0.0
        return self.cumulative[end] - self.cumulative[start]

    def draw_day(self, uniform: float, start: int, end: int) -> int:
        """A day in [start, end) drawn with the seasonal weights; ``uniform`` is in [0, 1)."""
        low, high = self.cumulative[start], self.cumulative[end]
        day = bisect_right(self.cumulative, low + uniform * (high - low)) - 1
        return min(max(day, start), end - 1)

    def draw_category(self, uniform: float, day: int) -> Category:
        weights = self.category_cumulative[day]
        return CATEGORIES[min(bisect_right(weights, uniform * weights[-1]), len(CATEGORIES) - 1)]

    def draw_hour(self, uniform: float, *, in_store: bool) -> int:
        hours, cumulative = ((self.store_hours, self.store_hour_cumulative) if in_store
                             else (self.online_hours, self.online_hour_cumulative))
        return hours[min(bisect_right(cumulative, uniform * cumulative[-1]), len(hours) - 1)]


def _hour_table(weights: dict[int, float]) -> tuple[list[int], list[float]]:
    hours = sorted(weights)
    return hours, list(accumulate(weights[h] for h in hours))
