"""The per-corp forecast reads purchase days through SQL and fits the same models as the pure code."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select

from siyu.analytics import clv
from siyu.analytics.clv_service import forecast_corp
from siyu.kit.tenancy import Principal
from siyu.models import Corp, Customer, Order, Role

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
_ORDER_NUMBERS = itertools.count()


@dataclass
class Population:
    corp_id: int
    #: the orders that are purchases, as (customer id credited, paid_at, amount)
    purchases: list[tuple[int, datetime, Decimal]]
    #: customer ids by role in the hand-made cases
    named: dict[str, int]


def _customer(session, corp_id: int, name: str, merged_into_id: int | None = None) -> int:
    customer = Customer(corp_id=corp_id, name=name, merged_into_id=merged_into_id)
    session.add(customer)
    session.flush()
    return customer.id


def _order(session, corp_id: int, customer_id: int | None, paid_at: datetime, amount: str,
           status: str = "paid") -> None:
    session.add(Order(corp_id=corp_id, customer_id=customer_id, platform="pos",
                      order_no=f"o{next(_ORDER_NUMBERS)}", status=status, amount=Decimal(amount),
                      paid_at=paid_at))


def _simulated_buyers(
    rng: np.random.Generator, count: int, constant_spend: bool
) -> list[list[tuple[datetime, str]]]:
    """BG/NBD buyers: Poisson purchases at a gamma-distributed rate per day, dropping out after each
    purchase with a beta-distributed probability, first purchase in the 300 days before NOW."""
    buyers = []
    for _ in range(count):
        rate, drop = rng.gamma(1.0, 1 / 25), rng.beta(1.0, 4.0)
        moment = NOW - timedelta(days=float(rng.uniform(1, 300)))
        orders = []
        while moment < NOW:
            amount = "50.00" if constant_spend else f"{rng.gamma(4.0, 20.0) + 1:.2f}"
            orders.append((moment, amount))
            if len(orders) > 1 and rng.random() < drop:
                break
            moment += timedelta(days=float(rng.exponential(1 / rate)))
        buyers.append(orders)
    return buyers


def _populate(session, slug: str, *, constant_spend: bool = False, hand_made: bool = True) -> Population:
    corp = Corp(slug=slug, name=slug, timezone="Asia/Shanghai")
    session.add(corp)
    session.flush()
    purchases: list[tuple[int, datetime, Decimal]] = []
    for index, orders in enumerate(_simulated_buyers(np.random.default_rng(11), 150, constant_spend)):
        customer_id = _customer(session, corp.id, f"{slug}-{index}")
        for paid_at, amount in orders:
            _order(session, corp.id, customer_id, paid_at, amount)
            purchases.append((customer_id, paid_at, Decimal(amount)))
    named: dict[str, int] = {}
    if not hand_made:
        return Population(corp.id, purchases, named)
    # 23:30 and 00:30 Shanghai time: one UTC day, two local days
    named["midnight"] = _customer(session, corp.id, "midnight")
    for paid_at in (datetime(2026, 3, 1, 15, 30, tzinfo=UTC), datetime(2026, 3, 1, 16, 30, tzinfo=UTC)):
        _order(session, corp.id, named["midnight"], paid_at, "30.00")
        purchases.append((named["midnight"], paid_at, Decimal("30.00")))
    # a duplicate profile merged into its survivor: its orders are the survivor's
    named["survivor"] = _customer(session, corp.id, "survivor")
    named["merged"] = _customer(session, corp.id, "merged", merged_into_id=named["survivor"])
    for customer_id, paid_at in ((named["survivor"], datetime(2026, 2, 1, 2, tzinfo=UTC)),
                                 (named["merged"], datetime(2026, 4, 1, 2, tzinfo=UTC)),
                                 (named["merged"], datetime(2026, 4, 1, 3, tzinfo=UTC))):
        _order(session, corp.id, customer_id, paid_at, "40.00")
        purchases.append((named["survivor"], paid_at, Decimal("40.00")))
    # not purchases: refunded, free, anonymous, after now
    named["refunded"] = _customer(session, corp.id, "refunded")
    _order(session, corp.id, named["refunded"], datetime(2026, 5, 1, 2, tzinfo=UTC), "80.00")
    purchases.append((named["refunded"], datetime(2026, 5, 1, 2, tzinfo=UTC), Decimal("80.00")))
    _order(session, corp.id, named["refunded"], datetime(2026, 6, 1, 2, tzinfo=UTC), "80.00",
           status="refunded")
    _order(session, corp.id, named["refunded"], datetime(2026, 6, 2, 2, tzinfo=UTC), "0.00")
    _order(session, corp.id, named["refunded"], NOW + timedelta(minutes=30), "80.00")
    _order(session, corp.id, None, datetime(2026, 6, 3, 2, tzinfo=UTC), "80.00")
    session.flush()
    return Population(corp.id, purchases, named)


def _admin(corp_id: int) -> Principal:
    return Principal(user_id=1, corp_id=corp_id, role=Role.admin)


@pytest.fixture
def corps(database, clock):
    clock.set(NOW)
    with database.session() as session:
        alpha = _populate(session, "alpha")
        beta = _populate(session, "beta")
        # beta's extra repeat buyer must not reach alpha's model
        stranger = _customer(session, beta.corp_id, "stranger")
        for day in range(1, 6):
            _order(session, beta.corp_id, stranger, datetime(2026, 6, day, 2, tzinfo=UTC), "999.00")
    return alpha, beta


def test_forecast_fits_the_corps_purchase_days_like_the_pure_models(database, clock, corps):
    alpha, _ = corps
    # Given alpha's purchases summarised in Python, in Shanghai days, up to now
    summary = clv.customer_summary(alpha.purchases, observation_end=NOW, unit="days", timezone=SHANGHAI)
    purchase_model = clv.fit_bgnbd(summary.frequency, summary.recency, summary.T)
    spend_model = clv.fit_gamma_gamma(summary.frequency, summary.monetary_value)
    # When the service forecasts alpha from the database
    with database.session() as session:
        forecast = forecast_corp(session, _admin(alpha.corp_id), clock)
    # Then it read the same history and fitted the same models
    assert forecast.as_of == date(2026, 7, 1) and forecast.horizon_days == 90
    assert sorted(c.customer_id for c in forecast.customers) == sorted(summary.customer_ids)
    fitted = forecast.purchase_model
    np.testing.assert_allclose([fitted.r, fitted.alpha, fitted.a, fitted.b],
                               [purchase_model.r, purchase_model.alpha, purchase_model.a, purchase_model.b],
                               rtol=1e-8)
    spend = forecast.spend_model
    assert spend is not None
    np.testing.assert_allclose([spend.p, spend.q, spend.gamma],
                               [spend_model.p, spend_model.q, spend_model.gamma], rtol=1e-8)
    # And every customer's predictions are the models' for their history
    by_id = {c.customer_id: c for c in forecast.customers}
    rows = [by_id[customer_id] for customer_id in summary.customer_ids]
    assert [row.frequency for row in rows] == summary.frequency.tolist()
    assert [row.recency_days for row in rows] == summary.recency.tolist()
    assert [row.age_days for row in rows] == summary.T.tolist()
    np.testing.assert_allclose([row.average_spend for row in rows], summary.monetary_value, rtol=1e-12)
    history = (summary.frequency, summary.recency, summary.T)
    np.testing.assert_allclose([row.probability_alive for row in rows],
                               clv.probability_alive(purchase_model, *history), rtol=1e-7)
    expected_purchases = clv.expected_purchases(purchase_model, 90, *history)
    np.testing.assert_allclose([row.expected_purchases for row in rows], expected_purchases, rtol=1e-7)
    expected_spend = clv.expected_average_spend(spend_model, summary.frequency, summary.monetary_value)
    np.testing.assert_allclose([row.expected_average_spend for row in rows], expected_spend, rtol=1e-7)
    np.testing.assert_allclose([row.expected_value for row in rows], expected_purchases * expected_spend,
                               rtol=1e-7)


def test_forecast_counts_local_days_merges_and_only_paid_orders(database, clock, corps):
    alpha, beta = corps
    with database.session() as session:
        forecast = forecast_corp(session, _admin(alpha.corp_id), clock)
    by_id = {c.customer_id: c for c in forecast.customers}
    # 23:30 and 00:30 Shanghai time are two purchase days, one day apart
    midnight = by_id[alpha.named["midnight"]]
    assert (midnight.frequency, midnight.recency_days, midnight.age_days) == (1, 1.0, 122.0)
    # the merged profile's two same-day orders are one repeat purchase day of the survivor
    survivor = by_id[alpha.named["survivor"]]
    assert (survivor.frequency, survivor.recency_days, survivor.average_spend) == (1, 59.0, 80.0)
    assert alpha.named["merged"] not in by_id
    # refunded, free and future orders are not purchases
    refunded = by_id[alpha.named["refunded"]]
    assert (refunded.frequency, refunded.recency_days, refunded.probability_alive) == (0, 0.0, 1.0)
    # and no customer of beta is in alpha's forecast
    assert len(forecast.customers) == 153
    with database.session() as session:
        beta_ids = set(session.scalars(select(Customer.id).where(Customer.corp_id == beta.corp_id)))
    assert beta_ids.isdisjoint(by_id)


def test_forecast_without_a_spend_model_keeps_the_purchase_predictions(database, clock):
    # Given a corp whose repeat buyers all spend exactly 50.00: the spend model has no spread to fit
    clock.set(NOW)
    with database.session() as session:
        uniform = _populate(session, "uniform", constant_spend=True, hand_made=False)
    # When forecast
    with database.session() as session:
        forecast = forecast_corp(session, _admin(uniform.corp_id), clock, horizon_days=30)
    # Then purchases are predicted and spend is left empty
    assert forecast.spend_model is None and forecast.horizon_days == 30
    assert all(c.expected_average_spend is None and c.expected_value is None for c in forecast.customers)
    assert all(c.expected_purchases > 0 for c in forecast.customers)


def test_forecast_refuses_a_corp_of_one_time_buyers(database, clock):
    # Given a corp whose customers each bought once (two orders on one day count once)
    clock.set(NOW)
    with database.session() as session:
        corp = Corp(slug="once", name="once")
        session.add(corp)
        session.flush()
        for index in range(3):
            customer_id = _customer(session, corp.id, f"once-{index}")
            _order(session, corp.id, customer_id, datetime(2026, 5, 1 + index, 2, tzinfo=UTC), "10.00")
            _order(session, corp.id, customer_id, datetime(2026, 5, 1 + index, 3, tzinfo=UTC), "10.00")
        corp_id = corp.id
    # When forecast / Then refused, naming how many customers there were
    with database.session() as session, pytest.raises(clv.InsufficientPurchaseHistory) as refused:
        forecast_corp(session, _admin(corp_id), clock)
    assert refused.value.params == {"customers": 3}
