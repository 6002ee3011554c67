"""Preset segments: RFM eight classes, lifecycle stages, spend-and-frequency tiers, "active 20 %".

A preset becomes an ordinary dynamic segment whose definition the operator can then edit. Presets
that depend on the corp's distribution (the tiers and the 80 % of sales) read it when they are
created and write the cut points into the definition as numbers, so the segment is plain language
and its meaning does not drift silently; re-create it from the preset to re-measure.

* ``rfm.<code>`` — the eight classes of ``customer/trait_scores.py`` (重要价值客户 …);
* ``lifecycle.<stage>`` — prospect / new / active / dormant / lost;
* ``tier.wolf`` 小狼, ``tier.war_wolf`` 战狼, ``tier.general_wolf`` 将狼, ``tier.sirius`` 天狼星 — buyers
  by total spend *and* order count: tier k needs spend ≥ the k-th cut point *and* orders ≥ the k-th
  count cut point, and is not in a higher tier. Cut points are the corp's buyers' 50/80/95 %
  percentiles of total spend and order count (``percentile_disc``);
* ``active_20`` — the smallest set of top spenders who bring 80 % of total spend (the Pareto head):
  total spend ≥ the spend of the last customer needed to reach 80 %.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.customer.trait_scores import LIFECYCLE_STAGES, RFM_CLASS_CODES
from siyu.models.customer import Customer
from siyu.models.trait import CustomerTrait

TIERS = ("tier.wolf", "tier.war_wolf", "tier.general_wolf", "tier.sirius")
TIER_QUANTILES = (0.5, 0.8, 0.95)
PARETO_SHARE = Decimal("0.8")
PRESET_KEYS: tuple[str, ...] = (
    *(f"rfm.{code}" for code in RFM_CLASS_CODES),
    *(f"lifecycle.{stage}" for stage in LIFECYCLE_STAGES),
    *TIERS,
    "active_20",
)


def _buyers(corp_id: int):
    return (CustomerTrait.corp_id == corp_id, CustomerTrait.order_count > 0,
            CustomerTrait.customer_id.in_(select(Customer.id).where(Customer.corp_id == corp_id,
                                                                     Customer.merged_into_id.is_(None))))


def _percentile(session: Session, corp_id: int, column, share: float, buyers: int):
    """The value at row ``ceil(share · n)`` of the buyers sorted by ``column`` (percentile_disc)."""
    position = max(1, math.ceil(round(share * buyers, 9)))
    return session.scalar(select(column).where(*_buyers(corp_id)).order_by(column)
                          .offset(position - 1).limit(1))


def tier_cut_points(session: Session, corp_id: int) -> list[tuple[Decimal, int]]:
    """(spend, orders) lower bounds of the four tiers, lowest first (the first tier: any buyer)."""
    buyers = session.scalar(select(func.count()).select_from(CustomerTrait).where(*_buyers(corp_id))) or 0
    cuts: list[tuple[Decimal, int]] = [(Decimal("0"), 1)]
    for share in TIER_QUANTILES:
        if buyers == 0:
            cuts.append((Decimal("0"), 1))
            continue
        spend = _percentile(session, corp_id, CustomerTrait.total_spend, share, buyers)
        orders = _percentile(session, corp_id, CustomerTrait.order_count, share, buyers)
        previous_spend, previous_orders = cuts[-1]
        # a tier is never easier to reach than the one below it
        cuts.append((max(Decimal(spend), previous_spend), max(int(orders), previous_orders)))
    return cuts


def pareto_threshold(session: Session, corp_id: int) -> Decimal | None:
    """The lowest total spend among the top spenders who together bring 80 % of all spend."""
    total = session.scalar(select(func.sum(CustomerTrait.total_spend)).where(*_buyers(corp_id)))
    if not total:
        return None
    running = func.sum(CustomerTrait.total_spend).over(
        order_by=(CustomerTrait.total_spend.desc(), CustomerTrait.customer_id))
    ranked = select(CustomerTrait.total_spend.label("spend"), running.label("running")) \
        .where(*_buyers(corp_id)).subquery()
    # the customers whose running total before them is still short of 80 % are needed
    value = session.scalar(select(func.min(ranked.c.spend))
                           .where(ranked.c.running - ranked.c.spend < Decimal(total) * PARETO_SHARE))
    return Decimal(value) if value is not None else None


def _tier_condition(cut: tuple[Decimal, int]) -> dict[str, Any]:
    spend, orders = cut
    return {"all": [{"trait": {"name": "total_spend", "op": ">=", "value": str(spend)}},
                    {"trait": {"name": "order_count", "op": ">=", "value": orders}}]}


def preset_definition(session: Session, corp_id: int, key: str) -> dict[str, Any]:
    """The definition a preset stands for in this corp, now."""
    if key.startswith("rfm."):
        condition: dict[str, Any] = {"rfm": {"classes": [key.removeprefix("rfm.")]}}
    elif key.startswith("lifecycle."):
        condition = {"lifecycle": {"stages": [key.removeprefix("lifecycle.")]}}
    elif key in TIERS:
        cuts = tier_cut_points(session, corp_id)
        index = TIERS.index(key)
        condition = _tier_condition(cuts[index])
        if index + 1 < len(cuts):
            condition = {"all": [condition, {"not": _tier_condition(cuts[index + 1])}]}
    elif key == "active_20":
        threshold = pareto_threshold(session, corp_id)
        condition = ({"trait": {"name": "total_spend", "op": ">=", "value": str(threshold)}} if threshold
                     is not None else {"trait": {"name": "order_count", "op": ">", "value": 0}})
        if threshold is not None:
            condition = {"all": [condition, {"trait": {"name": "order_count", "op": ">", "value": 0}}]}
    else:
        raise KeyError(key)
    return {"version": 1, "condition": condition}


def preset_label_keys(key: str) -> tuple[str, str]:
    """Catalogue keys of a preset's name and description."""
    if key.startswith("rfm."):
        return f"trait.rfm_class.{key.removeprefix('rfm.')}", "segment.preset.rfm.about"
    if key.startswith("lifecycle."):
        return f"trait.lifecycle_stage.{key.removeprefix('lifecycle.')}", "segment.preset.lifecycle.about"
    return f"segment.preset.{key}", f"segment.preset.{key}.about"
