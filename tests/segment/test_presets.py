"""Presets measured on the hand-made population: the RFM classes, the spend-and-frequency tiers and
the customers who bring 80 % of sales."""

from __future__ import annotations

from decimal import Decimal

from siyu.segment import compile_condition
from siyu.segment import presets
from tests.segment.conftest import NOW

# buyers: c0 (600.00, 5 orders) and c1 (88.50, 1 order); m (999.00) is merged away and never counts


def _members(database, population, key) -> set[str]:
    with database.session() as session:
        definition = presets.preset_definition(session, population.corp_id, key)
        return population.labels(session.scalars(compile_condition(session, population.corp_id, definition,
                                                                   now=NOW)))


def test_tier_cut_points_are_the_buyers_percentiles_of_spend_and_orders(database, population):
    with database.session() as session:
        cuts = presets.tier_cut_points(session, population.corp_id)

    assert cuts == [(Decimal("0"), 1), (Decimal("88.50"), 1), (Decimal("600.00"), 5), (Decimal("600.00"), 5)]


def test_the_tiers_partition_the_buyers(database, population):
    found = {key: _members(database, population, key) for key in presets.TIERS}

    assert found == {"tier.wolf": set(), "tier.war_wolf": {"c1"}, "tier.general_wolf": set(),
                     "tier.sirius": {"c0"}}


def test_active_20_is_the_smallest_head_of_spenders_bringing_80_percent(database, population):
    # 80 % of 688.50 is 550.80: c0's 600.00 alone reaches it
    with database.session() as session:
        assert presets.pareto_threshold(session, population.corp_id) == Decimal("600.00")
    assert _members(database, population, "active_20") == {"c0"}


def test_rfm_and_lifecycle_presets_follow_the_stored_traits(database, population):
    assert _members(database, population, "rfm.important_value") == {"c0"}
    assert _members(database, population, "rfm.general_retain") == {"c1"}
    assert _members(database, population, "lifecycle.prospect") == {"c2"}
