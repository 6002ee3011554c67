"""R/F/M scores, the RFM eight classes and the lifecycle stage: the rules, as SQL expressions.

Scores are 1–5 against corp-wide quantile cut points among buyers (customers with at least one
counted order), refreshed on a schedule and stored in ``CorpTraitSettings.rfm_thresholds``:

* frequency (order count) and monetary (total spend): ``1 + number of cut points the value exceeds``;
* recency (days since the last order, fewer is better): ``5 - number of cut points exceeded``.

The cut points are the 20/40/60/80 % discrete percentiles (the value at row ``ceil(p·n)`` of the
sorted buyers — ``percentile_disc``), so tied values always get the same score, unlike ``NTILE``,
and a customer whose orders change between two refreshes is scored against the same cut points at
once. Recency cut points are kept in days, so they stay meaningful as time moves.

A score is "high" (↑) when it is above the corp's mean score of that letter; the eight classes are
the combinations of high/low R, F and M. Because scores are monotone in the underlying value, "score
above the mean" is one comparison of the raw value with one cut point, which keeps the SQL small.

The lifecycle stage reads the settings' day thresholds: ``prospect`` before a first counted order,
``new`` while the first order is younger than ``new_days``, then ``active`` while the last order is
at most ``active_days`` old, ``dormant`` up to ``lost_days``, ``lost`` beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, null
from sqlalchemy.types import Integer, String

from siyu.kit.db import UtcDateTime
from siyu.models.order import PURCHASE_STATUSES

#: Order statuses that count as purchases; refunded and cancelled orders do not.
COUNTED_STATUSES = PURCHASE_STATUSES
QUANTILES = (0.2, 0.4, 0.6, 0.8)
LIFECYCLE_STAGES = ("prospect", "new", "active", "dormant", "lost")

#: (code, R high, F high, M high) — the codes are stable; labels live in the catalogue
#: under ``trait.rfm_class.<code>``.
RFM_CLASSES: tuple[tuple[str, bool, bool, bool], ...] = (
    ("important_value", True, True, True),
    ("important_develop", True, False, True),
    ("important_keep", False, True, True),
    ("important_retain", False, False, True),
    ("general_value", True, True, False),
    ("general_develop", True, False, False),
    ("general_keep", False, True, False),
    ("general_retain", False, False, False),
)
RFM_CLASS_CODES = tuple(code for code, *_ in RFM_CLASSES)


def rfm_class_of(recency_high: bool, frequency_high: bool, monetary_high: bool) -> str:
    """The class code for one combination of high/low letters."""
    for code, r, f, m in RFM_CLASSES:
        if (r, f, m) == (recency_high, frequency_high, monetary_high):
            return code
    raise ValueError("unreachable: the eight classes cover every combination")


@dataclass(frozen=True)
class LifecycleThresholds:
    """Days that separate the lifecycle stages (``CorpTraitSettings``)."""

    new_days: int = 30
    active_days: int = 90
    lost_days: int = 365


@dataclass(frozen=True)
class RfmThresholds:
    """The corp's cut points and mean scores, as stored in ``CorpTraitSettings.rfm_thresholds``."""

    recency_days: tuple[float, ...]
    frequency: tuple[int, ...]
    monetary: tuple[Decimal, ...]
    recency_mean: float
    frequency_mean: float
    monetary_mean: float
    buyers: int
    #: the lowest score above the mean per letter, decided exactly from integer score sums
    #: (a float mean of exactly 3 read back as 2.999… would move the boundary)
    recency_high_from: int
    frequency_high_from: int
    monetary_high_from: int

    def to_json(self) -> dict[str, Any]:
        return {
            "recency_days": list(self.recency_days),
            "frequency": list(self.frequency),
            "monetary": [str(value) for value in self.monetary],
            "means": {"recency": self.recency_mean, "frequency": self.frequency_mean,
                      "monetary": self.monetary_mean},
            "high_from": {"recency": self.recency_high_from, "frequency": self.frequency_high_from,
                          "monetary": self.monetary_high_from},
            "buyers": self.buyers,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RfmThresholds | None:
        """``None`` until the first refresh found buyers."""
        if not data or len(data.get("frequency") or ()) != len(QUANTILES):
            return None
        means, high_from = data["means"], data["high_from"]
        return cls(
            recency_days=tuple(float(v) for v in data["recency_days"]),
            frequency=tuple(int(v) for v in data["frequency"]),
            monetary=tuple(Decimal(str(v)) for v in data["monetary"]),
            recency_mean=float(means["recency"]), frequency_mean=float(means["frequency"]),
            monetary_mean=float(means["monetary"]), buyers=int(data.get("buyers", 0)),
            recency_high_from=int(high_from["recency"]), frequency_high_from=int(high_from["frequency"]),
            monetary_high_from=int(high_from["monetary"]),
        )


def quantile_positions(buyers: int) -> list[int]:
    """1-based row numbers of the cut points among ``buyers`` sorted values (``percentile_disc``)."""
    return [max(1, math.ceil(round(p * buyers, 9))) for p in QUANTILES]


def recency_cut_times(recency_days: tuple[float, ...], now: datetime) -> list[datetime]:
    """The recency cut points as moments: recency ≤ c days ⟺ last order at or after ``now - c``."""
    return [now - timedelta(days=days) for days in recency_days]


def _at(moment: datetime) -> ColumnElement:
    return literal(moment, UtcDateTime())


def _count_true(conditions: list[ColumnElement]) -> ColumnElement:
    total: ColumnElement = literal(0, Integer())
    for condition in conditions:
        total = total + case((condition, 1), else_=0)
    return total


@dataclass(frozen=True)
class ScoreExpressions:
    """SQL for the three scores and the class of one customer row."""

    recency: ColumnElement
    frequency: ColumnElement
    monetary: ColumnElement
    rfm_class: ColumnElement


def minimum_high_score(score_sum: int, buyers: int) -> int:
    """The lowest integer score strictly above the mean ``score_sum / buyers`` (6 when none is)."""
    return score_sum // buyers + 1


def score_expressions(last_order_at: ColumnElement, order_count: ColumnElement, total_spend: ColumnElement,
                      thresholds: RfmThresholds | None, now: datetime) -> ScoreExpressions:
    """Scores of a row given its aggregates; NULL for non-buyers or before the first refresh."""
    if thresholds is None:
        empty = null()
        return ScoreExpressions(empty, empty, empty, null())
    buyer = order_count > 0
    cut_times = recency_cut_times(thresholds.recency_days, now)
    recency = 5 - _count_true([last_order_at < _at(moment) for moment in cut_times])
    frequency = 1 + _count_true([order_count > cut for cut in thresholds.frequency])
    monetary = 1 + _count_true([total_spend > literal(cut) for cut in thresholds.monetary])

    def high_recency() -> ColumnElement:
        lowest = thresholds.recency_high_from
        if lowest > 5:
            return literal(False)
        # score ≥ s ⟺ at most 5 − s cut points exceeded ⟺ last order at or after cut (6 − s)
        return last_order_at >= _at(cut_times[5 - lowest])

    def high(value: ColumnElement, cuts: tuple, lowest: int) -> ColumnElement:
        if lowest > 5:
            return literal(False)
        # score ≥ s ⟺ the value exceeds cut point s − 1
        return value > literal(cuts[lowest - 2])

    r_high = high_recency()
    f_high = high(order_count, thresholds.frequency, thresholds.frequency_high_from)
    m_high = high(total_spend, thresholds.monetary, thresholds.monetary_high_from)
    whens = []
    for code, r, f, m in RFM_CLASSES:
        whens.append((and_(buyer, r_high if r else ~r_high, f_high if f else ~f_high,
                           m_high if m else ~m_high), literal(code, String())))
    return ScoreExpressions(
        recency=case((buyer, recency), else_=null()),
        frequency=case((buyer, frequency), else_=null()),
        monetary=case((buyer, monetary), else_=null()),
        rfm_class=case(*whens, else_=null()),
    )


def lifecycle_expression(first_order_at: ColumnElement, last_order_at: ColumnElement, order_count: ColumnElement,
                         settings: LifecycleThresholds, now: datetime) -> ColumnElement:
    """The lifecycle stage of a row given its aggregates (see the module docstring)."""
    return case(
        (order_count.is_(None) | (order_count == 0), literal("prospect", String())),
        (first_order_at > _at(now - timedelta(days=settings.new_days)), literal("new", String())),
        (last_order_at >= _at(now - timedelta(days=settings.active_days)), literal("active", String())),
        (last_order_at >= _at(now - timedelta(days=settings.lost_days)), literal("dormant", String())),
        else_=literal("lost", String()),
    )
