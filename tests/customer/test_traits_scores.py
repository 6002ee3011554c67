"""R/F/M cut points, scores and the eight classes on a population with known answers; lifecycle
stages at their boundaries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.customer.trait_scores import RFM_CLASS_CODES, RfmThresholds, quantile_positions, rfm_class_of
from siyu.customer.traits import mark_customers_changed, recompute_corp, refresh_scores
from siyu.models.trait import CorpTraitSettings, CustomerTrait
from tests.customer.trait_population import add_customer, add_order, make_trait_corp

# name: (days since the last order, order count, total spend) — chosen so that each letter has four
# customers above the mean score of 3, and every class occurs (see the expected table below).
POPULATION = {
    "c1": (10, 7, 700), "c2": (20, 1, 800), "c3": (50, 8, 900), "c4": (60, 2, 1000), "c5": (30, 9, 100),
    "c6": (40, 3, 200), "c7": (70, 10, 300), "c8": (80, 4, 400), "c9": (90, 5, 500), "c10": (100, 6, 600),
}
# name: (R, F, M, class, stage)
EXPECTED = {
    "c1": (5, 4, 4, "important_value", "active"),
    "c2": (5, 1, 4, "important_develop", "new"),
    "c3": (3, 4, 5, "important_keep", "active"),
    "c4": (3, 1, 5, "important_retain", "active"),
    "c5": (4, 5, 1, "general_value", "active"),
    "c6": (4, 2, 1, "general_develop", "active"),
    "c7": (2, 5, 2, "general_keep", "active"),
    "c8": (2, 2, 2, "general_retain", "active"),
    "c9": (1, 3, 3, "general_retain", "active"),
    "c10": (1, 3, 3, "general_retain", "dormant"),
}


def _buy(session, corp_id, customer_id, now, days, count, total):
    """``count`` orders: the last ``days`` ago carrying the rest of ``total``, the others 1.00 each
    200 days earlier (so nobody is "new")."""
    for index in range(count - 1):
        add_order(session, corp_id, customer_id, now - timedelta(days=200 + index), "1.00")
    add_order(session, corp_id, customer_id, now - timedelta(days=days), f"{total - (count - 1)}.00")


def _population(database, clock):
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        ids = {}
        for name, (days, count, total) in POPULATION.items():
            ids[name] = add_customer(session, corp.corp_id, name)
            _buy(session, corp.corp_id, ids[name], now, days, count, total)
        ids["prospect"] = add_customer(session, corp.corp_id, "prospect")
        ids["refunded"] = add_customer(session, corp.corp_id, "refunded")
        add_order(session, corp.corp_id, ids["refunded"], now - timedelta(days=5), "99.00", status="refunded",
                  refund_amount="99.00")
        recompute_corp(session, corp.corp_id)
    return corp.corp_id, ids


def _scores(session, ids):
    traits = {t.customer_id: t for t in session.scalars(select(CustomerTrait))}
    return {name: (traits[i].recency_score, traits[i].frequency_score, traits[i].monetary_score,
                   traits[i].rfm_class, traits[i].lifecycle_stage) for name, i in ids.items()}


def test_quantile_positions_are_those_of_percentile_disc():
    assert quantile_positions(10) == [2, 4, 6, 8]
    assert quantile_positions(5) == [1, 2, 3, 4]
    assert quantile_positions(1) == [1, 1, 1, 1]
    assert quantile_positions(7) == [2, 3, 5, 6]


def test_the_eight_classes_have_stable_codes():
    assert RFM_CLASS_CODES == ("important_value", "important_develop", "important_keep", "important_retain",
                               "general_value", "general_develop", "general_keep", "general_retain")
    assert rfm_class_of(False, True, True) == "important_keep"
    assert rfm_class_of(True, False, False) == "general_develop"


def test_refresh_scores_the_population_with_known_cut_points_and_classes(database, clock):
    # given ten buyers, a prospect and a customer whose only order was refunded
    corp_id, ids = _population(database, clock)
    # when the daily refresh runs
    with database.session() as session:
        thresholds = refresh_scores(session, corp_id)
    # then the cut points are the 20/40/60/80 % values among the ten buyers
    assert thresholds.to_json() == {
        "recency_days": [20.0, 40.0, 60.0, 80.0], "frequency": [2, 4, 6, 8],
        "monetary": ["200.00", "400.00", "600.00", "800.00"],
        "means": {"recency": 3.0, "frequency": 3.0, "monetary": 3.0},
        "high_from": {"recency": 4, "frequency": 4, "monetary": 4}, "buyers": 10,
    }
    with database.session() as session:
        settings = session.get(CorpTraitSettings, corp_id)
        assert settings.rfm_thresholds == thresholds.to_json()
        assert settings.rfm_refreshed_at == clock.now()
        scores = _scores(session, ids)
    assert scores == {**EXPECTED, "prospect": (None, None, None, None, "prospect"),
                      "refunded": (None, None, None, None, "prospect")}
    assert {row[3] for row in scores.values()} - {None} == set(RFM_CLASS_CODES)


def test_a_changed_customer_is_scored_at_once_against_the_stored_cut_points(database, clock):
    # given the refreshed population
    corp_id, ids = _population(database, clock)
    with database.session() as session:
        refresh_scores(session, corp_id)
    # when c10 buys 250.00 a week later, and the prospect buys 5.00
    clock.advance(timedelta(days=7))
    with database.session() as session:
        add_order(session, corp_id, ids["c10"], clock.now(), "250.00")
        add_order(session, corp_id, ids["prospect"], clock.now(), "5.00")
        mark_customers_changed(session, corp_id, [ids["c10"], ids["prospect"]])
    # then c10: 0 days (R 5), 7 orders (F 4), 850.00 (M 5) — important value; the prospect is a new,
    # low-value customer; nobody else moved although a week passed
    with database.session() as session:
        scores = _scores(session, ids)
    assert scores["c10"] == (5, 4, 5, "important_value", "active")
    assert scores["prospect"] == (5, 1, 1, "general_develop", "new")
    assert {name: scores[name] for name in EXPECTED if name != "c10"} == {
        name: row for name, row in EXPECTED.items() if name != "c10"}


def test_ties_share_a_score_and_the_mean_decides_exactly(database, clock):
    # given five buyers with 1, 1, 1, 2 and 5 orders of 10.00 each, all bought yesterday
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        ids = []
        for count in (1, 1, 1, 2, 5):
            customer = add_customer(session, corp.corp_id)
            ids.append(customer)
            for _ in range(count):
                add_order(session, corp.corp_id, customer, now - timedelta(days=1), "10.00")
        recompute_corp(session, corp.corp_id)
        # when
        thresholds = refresh_scores(session, corp.corp_id)
    # then cut points 1, 1, 1, 2: one-order buyers score 1, two orders 4, five orders 5; the mean
    # F score is 12 / 5 = 2.4 so scores from 3 are high; equal recencies all score 5 and nobody is
    # above a mean of 5
    assert (thresholds.frequency, thresholds.frequency_mean, thresholds.frequency_high_from) == ((1, 1, 1, 2), 2.4, 3)
    assert (thresholds.recency_days, thresholds.recency_high_from) == ((1.0, 1.0, 1.0, 1.0), 6)
    assert thresholds.monetary == (Decimal("10.00"), Decimal("10.00"), Decimal("10.00"), Decimal("20.00"))
    with database.session() as session:
        rows = {t.customer_id: (t.recency_score, t.frequency_score, t.monetary_score, t.rfm_class)
                for t in session.scalars(select(CustomerTrait))}
    assert [rows[i] for i in ids] == [
        (5, 1, 1, "general_retain"), (5, 1, 1, "general_retain"), (5, 1, 1, "general_retain"),
        (5, 4, 4, "important_keep"), (5, 5, 5, "important_keep"),
    ]


def test_refresh_without_buyers_clears_scores_and_sets_stages(database, clock):
    # given a corp with only a prospect whose traits carry stale scores
    with database.session() as session:
        corp = make_trait_corp(session)
        customer = add_customer(session, corp.corp_id)
        mark_customers_changed(session, corp.corp_id, [customer])
        trait = session.get(CustomerTrait, customer)
        trait.recency_score, trait.rfm_class = 3, "general_keep"
    # when
    with database.session() as session:
        assert refresh_scores(session, corp.corp_id) is None
    # then
    with database.session() as session:
        trait = session.get(CustomerTrait, customer)
        assert (trait.recency_score, trait.rfm_class, trait.lifecycle_stage) == (None, None, "prospect")
        assert session.get(CorpTraitSettings, corp.corp_id).rfm_thresholds == {}
        assert RfmThresholds.from_json({}) is None


def _stage_after(database, clock, corp_id, customer_id, start, days):
    clock.set(start + timedelta(days=days))
    with database.session() as session:
        refresh_scores(session, corp_id)
    with database.session() as session:
        return session.get(CustomerTrait, customer_id).lifecycle_stage


def test_lifecycle_stage_at_its_boundaries(database, clock):
    # given a customer whose only order was paid at start
    start = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        customer = add_customer(session, corp.corp_id)
        add_order(session, corp.corp_id, customer, start, "10.00")
        mark_customers_changed(session, corp.corp_id, [customer])
    # then the stage follows the default thresholds 30 / 90 / 365 days as time moves
    stages = {days: _stage_after(database, clock, corp.corp_id, customer, start, days)
              for days in (0, 29, 30, 31, 89, 90, 91, 364, 365, 366)}
    assert stages == {0: "new", 29: "new", 30: "active", 31: "active", 89: "active", 90: "active",
                      91: "dormant", 364: "dormant", 365: "dormant", 366: "lost"}
    # when the corp shortens its thresholds to 7 / 14 / 60 days
    with database.session() as session:
        settings = session.get(CorpTraitSettings, corp.corp_id)
        settings.new_days, settings.active_days, settings.lost_days = 7, 14, 60
    stages = {days: _stage_after(database, clock, corp.corp_id, customer, start, days) for days in (6, 7, 14, 15, 60, 61)}
    assert stages == {6: "new", 7: "active", 14: "active", 15: "dormant", 60: "dormant", 61: "lost"}


def test_the_full_recompute_agrees_with_incremental_maintenance(database, clock):
    # given the population kept incrementally (each customer marked, then the daily refresh)
    corp_id, ids = _population(database, clock)
    with database.session() as session:
        session.execute(CustomerTrait.__table__.delete())
        mark_customers_changed(session, corp_id, ids.values())
        refresh_scores(session, corp_id)
    columns = [c for c in CustomerTrait.__table__.columns if c.name not in ("updated_at", "scores_refreshed_at")]
    with database.session() as session:
        incremental = sorted(session.execute(select(*columns)).all())
    # when the full recompute rewrites every row in one pass (at the same moment: c9 is exactly 90
    # days from its last order, an "active" that one more second would make "dormant")
    with database.session() as session:
        recompute_corp(session, corp_id)
    # then every trait is the same
    with database.session() as session:
        assert sorted(session.execute(select(*columns)).all()) == incremental
        assert {t.scores_refreshed_at for t in session.scalars(select(CustomerTrait))} == {clock.now()}
