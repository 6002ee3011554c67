"""BG/NBD and Gamma-Gamma against the published CDNOW results and the lifetimes package.

The CDNOW sample (2,357 customers who first bought in Q1 1997, a 39-week calibration period) ships
inside lifetimes, both as raw transactions and as the summary Fader, Hardie & Lee fitted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import lifetimes.datasets
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

from siyu.analytics import clv
from siyu.kit.errors import InvalidInput
from siyu.kit.i18n import translate

DATASETS = Path(lifetimes.datasets.__file__).parent
CALIBRATION_END = date(1997, 9, 30)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The published calibration summary, in weeks, with mean repeat spend rounded to cents."""
    table = pd.read_csv(DATASETS / "cdnow_customers_summary_with_transactions.csv")
    return table.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_transactions() -> list[tuple[int, date, float]]:
    """CDNOW_sample.txt rows: master id, sample id, yyyymmdd, CDs bought, dollars."""
    rows = []
    for line in (DATASETS / "CDNOW_sample.txt").read_text().splitlines():
        _, customer_id, day, _, amount = line.split()
        rows.append((int(customer_id), datetime.strptime(day, "%Y%m%d").date(), float(amount)))
    return rows


@pytest.fixture(scope="module")
def bgnbd(cdnow) -> clv.BgNbdParams:
    return clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def reference_bgnbd(cdnow) -> BetaGeoFitter:
    # lifetimes' default tol (1e-7) stops ~1e-6 short of the optimum; at 1e-10 both fits reach the
    # same maximum, so the comparison below tests the formulas, not two optimisers' stopping rules.
    return BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"], tol=1e-10)


# ----------------------------------------------------------------------------------------- BG/NBD


def test_bgnbd_reproduces_the_published_cdnow_parameters(bgnbd):
    # Given the CDNOW calibration summary (fixture) / When it is fitted
    # Then the parameters round to Fader, Hardie & Lee (2005)'s, with their log-likelihood -9582.4
    assert (round(bgnbd.r, 3), round(bgnbd.alpha, 3), round(bgnbd.a, 3), round(bgnbd.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert abs(bgnbd.r - 0.243) <= 0.005 and abs(bgnbd.alpha - 4.414) <= 0.005
    assert abs(bgnbd.a - 0.793) <= 0.005 and abs(bgnbd.b - 2.426) <= 0.005
    assert round(bgnbd.log_likelihood, 1) == -9582.4
    assert bgnbd.customers == 2357


def test_bgnbd_parameters_match_lifetimes(bgnbd, reference_bgnbd):
    reference = reference_bgnbd.params_
    np.testing.assert_allclose(
        [bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b],
        [reference["r"], reference["alpha"], reference["a"], reference["b"]],
        rtol=1e-6,
    )


def test_bgnbd_fit_does_not_depend_on_the_time_unit(cdnow, bgnbd):
    # Given the same histories in days instead of weeks / When fitted
    in_days = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    # Then only alpha (a rate scale) changes, by the factor 7
    np.testing.assert_allclose(
        [in_days.r, in_days.alpha / 7, in_days.a, in_days.b],
        [bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b],
        rtol=1e-6,
    )


def test_bgnbd_fit_from_another_start_reaches_the_same_optimum(cdnow, bgnbd):
    refit = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], initial=(1.0, 20.0, 2.0, 5.0))
    np.testing.assert_allclose(
        [refit.r, refit.alpha, refit.a, refit.b], [bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b], rtol=1e-6
    )


def test_probability_alive_agrees_with_lifetimes_for_every_customer(cdnow, bgnbd, reference_bgnbd):
    history = (cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy())
    expected = reference_bgnbd.conditional_probability_alive(*history)
    np.testing.assert_allclose(clv.probability_alive(bgnbd, *history), expected, rtol=1e-6)


@pytest.mark.parametrize("horizon", [1.0, 90 / 7, 39.0, 260.0])
def test_expected_purchases_agree_with_lifetimes_for_every_customer(cdnow, bgnbd, reference_bgnbd, horizon):
    # Given the fitted model / When predicting the next week, 90 days, 39 weeks and 5 years
    history = (cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy())
    expected = reference_bgnbd.conditional_expected_number_of_purchases_up_to_time(horizon, *history)
    # Then every customer's prediction matches lifetimes'
    np.testing.assert_allclose(clv.expected_purchases(bgnbd, horizon, *history), expected, rtol=1e-6)


def test_predictions_stay_finite_for_heavy_buyers_and_long_horizons():
    # Given the published parameters and buyers far outside CDNOW's range
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426, customers=0, log_likelihood=0.0)
    frequency, recency, age = np.array([200, 2000, 200]), np.array([77.9, 78.0, 5.0]), np.full(3, 78.0)
    reference = BetaGeoFitter()
    reference.params_ = pd.Series([0.243, 4.414, 0.793, 2.426], index=["r", "alpha", "a", "b"])
    # When predicting ten years ahead / Then the values are finite and agree with lifetimes
    ours = clv.expected_purchases(params, 520.0, frequency, recency, age)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(
        ours,
        reference.conditional_expected_number_of_purchases_up_to_time(520.0, frequency, recency, age),
        rtol=1e-6,
    )


def test_single_purchase_customer_is_alive_and_expected_purchases_match_lifetimes(bgnbd, reference_bgnbd):
    # Given a customer whose only purchase was 20 weeks ago
    history = (np.array([0]), np.array([0.0]), np.array([20.0]))
    # Then BG/NBD holds them alive (drop-out happens only after a purchase)
    assert clv.probability_alive(bgnbd, *history).tolist() == [1.0]
    # And their expected purchases are the model's (a positive number below a regular's)
    ours = clv.expected_purchases(bgnbd, 13.0, *history)
    expected = reference_bgnbd.conditional_expected_number_of_purchases_up_to_time(13.0, *history)
    # the two fits agree to ~1e-9 in their parameters (the optimiser's precision), so 1e-8 here
    np.testing.assert_allclose(ours, expected, rtol=1e-8)
    regular = clv.expected_purchases(bgnbd, 13.0, np.array([6]), np.array([19.0]), np.array([20.0]))
    assert 0 < ours[0] < regular[0]


def test_bgnbd_refuses_one_time_buyers_only():
    # Given customers who never came back / When fitting / Then a clear refusal, no parameters
    with pytest.raises(clv.InsufficientPurchaseHistory) as refused:
        clv.fit_bgnbd([0, 0, 0], [0.0, 0.0, 0.0], [10.0, 5.0, 1.0])
    assert refused.value.status_code == 409
    assert refused.value.code == "clv_insufficient_history"
    assert refused.value.message("en") == (
        "Not enough repeat purchases to fit the lifetime-value model (3 customers)"
    )
    assert refused.value.message("zh-CN") == "复购数据不足，无法拟合客户终身价值模型（共 3 位客户）"


def test_bgnbd_refuses_no_customers():
    with pytest.raises(clv.InsufficientPurchaseHistory):
        clv.fit_bgnbd([], [], [])


def test_bgnbd_refuses_histories_that_do_not_determine_the_model():
    # Given seven customers whose likelihood keeps rising as nobody drops out (a -> 0)
    frequency, recency, age = [0, 1, 2, 0, 3, 0, 1], [0, 5, 8, 0, 9, 0, 2], [10, 10, 9, 8, 10, 4, 6]
    # When fitting / Then no parameters at a limit are reported as a model
    with pytest.raises(clv.ModelDidNotConverge) as refused:
        clv.fit_bgnbd(frequency, recency, age)
    assert refused.value.message_key == "error.clv_degenerate_fit"
    assert refused.value.status_code == 409


@pytest.mark.parametrize(
    ("frequency", "recency", "age", "field"),
    [
        ([1, 2], [1.0], [2.0, 3.0], "frequency"),
        ([1.5], [1.0], [2.0], "frequency"),
        ([-1], [0.0], [2.0], "frequency"),
        ([1], [3.0], [2.0], "recency"),
        ([0], [1.0], [2.0], "recency"),
        ([1], [0.0], [2.0], "recency"),
        ([1], [float("nan")], [2.0], "frequency"),
    ],
)
def test_bgnbd_rejects_impossible_histories(frequency, recency, age, field):
    with pytest.raises(InvalidInput) as rejected:
        clv.fit_bgnbd(frequency, recency, age)
    assert rejected.value.field == field


# ----------------------------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_on_the_published_summary_is_within_rounding_of_the_published_parameters(cdnow):
    # Given the shipped summary, whose mean spend is rounded to cents / When fitted on all customers
    # (one-time buyers are ignored by the fit)
    params = clv.fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])
    # Then p and q round to the published 6.25 and 3.74. gamma comes out 15.4477: the likelihood is
    # nearly flat along a q-gamma ridge, and the cent rounding of the spends moves the optimum by
    # 0.004 (on unrounded spends it is 15.4435, see the next test), so gamma is held to ±0.01.
    assert params.customers == 946
    assert abs(params.p - 6.25) <= 0.005 and abs(params.q - 3.74) <= 0.005
    assert abs(params.gamma - 15.44) <= 0.01


def test_gamma_gamma_on_the_raw_transactions_reproduces_the_published_parameters(cdnow_transactions):
    # Given the calibration summary built from the raw CDNOW transactions (unrounded spends)
    summary = clv.customer_summary(cdnow_transactions, observation_end=CALIBRATION_END, unit="weeks")
    # When fitted / Then p, q, gamma round to Fader & Hardie's 6.25, 3.74, 15.44
    params = clv.fit_gamma_gamma(summary.frequency, summary.monetary_value)
    assert (round(params.p, 2), round(params.q, 2), round(params.gamma, 2)) == (6.25, 3.74, 15.44)


def test_gamma_gamma_agrees_with_lifetimes(cdnow):
    # Given lifetimes' fit on the repeat customers and ours on all customers
    repeat = cdnow[cdnow["frequency"] > 0]
    reference = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"], tol=1e-10)
    params = clv.fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])
    # Then the parameters and log-likelihood match, and so does every customer's expected spend
    # (one-time buyers get the population mean)
    np.testing.assert_allclose(
        [params.p, params.q, params.gamma], reference.params_[["p", "q", "v"]].to_numpy(), rtol=1e-5
    )
    # lifetimes keeps the mean negative log-likelihood per customer
    reference_log_likelihood = -reference._negative_log_likelihood_ * len(repeat)
    assert params.log_likelihood == pytest.approx(reference_log_likelihood, abs=1e-3)
    expected = reference.conditional_expected_average_profit(cdnow["frequency"], cdnow["monetary_value"])
    ours = clv.expected_average_spend(params, cdnow["frequency"], cdnow["monetary_value"])
    np.testing.assert_allclose(ours, expected.to_numpy(), rtol=1e-6)
    one_time = (cdnow["frequency"] == 0).to_numpy()
    np.testing.assert_allclose(ours[one_time], params.p * params.gamma / (params.q - 1), rtol=1e-12)


def test_gamma_gamma_does_not_depend_on_the_currency_unit(cdnow):
    # Given spends in cents instead of dollars / When fitted / Then only gamma scales, by 100
    dollars = clv.fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])
    cents = clv.fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"] * 100)
    np.testing.assert_allclose(
        [cents.p, cents.q, cents.gamma / 100], [dollars.p, dollars.q, dollars.gamma], rtol=1e-6
    )


def test_gamma_gamma_refuses_fewer_than_two_repeat_customers():
    with pytest.raises(clv.InsufficientPurchaseHistory) as refused:
        clv.fit_gamma_gamma([0, 3, 0], [0.0, 25.0, 0.0])
    assert refused.value.params == {"customers": 3}


def test_gamma_gamma_refuses_customers_who_all_spend_alike():
    # Given no spread between customers' spends, q and gamma grow without bound
    with pytest.raises(clv.ModelDidNotConverge) as refused:
        clv.fit_gamma_gamma([1, 1, 2], [10.0, 10.0, 10.0])
    # scipy either stops on precision loss or "converges" at a limit: both are no model
    assert refused.value.message_key in {"error.clv_not_converged", "error.clv_degenerate_fit"}


@pytest.mark.parametrize("spend", [0.0, -5.0, float("nan")])
def test_gamma_gamma_rejects_a_repeat_spend_that_is_not_positive(spend):
    with pytest.raises(InvalidInput) as rejected:
        clv.fit_gamma_gamma([2, 1, 0], [30.0, spend, 0.0])
    assert rejected.value.field == "monetary_value"


def test_expected_average_spend_refuses_an_unbounded_population_mean():
    params = clv.GammaGammaParams(p=2.0, q=0.9, gamma=10.0, customers=2, log_likelihood=0.0)
    with pytest.raises(clv.InsufficientPurchaseHistory) as refused:
        clv.expected_average_spend(params, [1], [20.0])
    assert refused.value.message("en") == (
        "The fitted spend model has q = 0.9 ≤ 1, so the average spend is unbounded"
    )


# ------------------------------------------------------------------------------- summary data


def test_customer_summary_reproduces_the_published_cdnow_summary(cdnow_transactions, cdnow):
    # Given the raw CDNOW transactions / When summarised in weeks up to the calibration end
    summary = clv.customer_summary(cdnow_transactions, observation_end=CALIBRATION_END, unit="weeks")
    table = pd.DataFrame(
        {
            "frequency": summary.frequency,
            "recency": summary.recency,
            "T": summary.T,
            "monetary_value": summary.monetary_value,
        },
        index=summary.customer_ids,
    ).sort_index()
    # Then it is the published summary (times to its 2 decimals; spends to the cent, the file rounds
    # half-way values either way)
    assert table.index.tolist() == cdnow["ID"].tolist()
    assert table["frequency"].tolist() == cdnow["frequency"].tolist()
    assert table["recency"].round(2).tolist() == cdnow["recency"].tolist()
    assert table["T"].round(2).tolist() == cdnow["T"].tolist()
    spend_error = np.abs(table["monetary_value"].to_numpy() - cdnow["monetary_value"].to_numpy())
    assert spend_error.max() <= 0.005 + 1e-9
    assert summary.observation_end == CALIBRATION_END and summary.unit == "weeks"


def test_customer_summary_matches_lifetimes_summary_data(cdnow_transactions):
    # Given lifetimes' own summary of the same rows (days, scaled to weeks by freq_multiplier=7)
    frame = pd.DataFrame(cdnow_transactions, columns=["customer", "day", "amount"])
    frame["day"] = pd.to_datetime(frame["day"])
    reference = summary_data_from_transaction_data(
        frame, "customer", "day", "amount", observation_period_end="1997-09-30", freq="D", freq_multiplier=7
    )
    summary = clv.customer_summary(cdnow_transactions, observation_end=CALIBRATION_END, unit="weeks")
    reference = reference.loc[summary.customer_ids]
    # Then every column agrees for every customer
    assert summary.frequency.tolist() == reference["frequency"].astype(int).tolist()
    np.testing.assert_allclose(summary.recency, reference["recency"], rtol=1e-12)
    np.testing.assert_allclose(summary.T, reference["T"], rtol=1e-12)
    np.testing.assert_allclose(summary.monetary_value, reference["monetary_value"], rtol=1e-12)


def test_customer_summary_counts_days_in_the_corp_timezone():
    # Given orders (customer, paid_at UTC, amount); Shanghai is UTC+8
    shanghai = ZoneInfo("Asia/Shanghai")
    orders = [
        ("c1", datetime(2026, 1, 1, 2, 0, tzinfo=UTC), Decimal("100.00")),  # 1 Jan 10:00 local
        ("c1", datetime(2026, 1, 1, 15, 0, tzinfo=UTC), Decimal("20.00")),  # 1 Jan 23:00 local: same day
        ("c1", datetime(2026, 1, 5, 16, 30, tzinfo=UTC), Decimal("50.00")),  # 6 Jan 00:30 local
        ("c1", datetime(2026, 1, 6, 3, 0, tzinfo=UTC), Decimal("30.00")),  # 6 Jan again: 80 that day
        ("c1", datetime(2026, 1, 11, 1, 0, tzinfo=UTC), Decimal("40.00")),  # 11 Jan
        ("c2", datetime(2026, 1, 8, 4, 0, tzinfo=UTC), Decimal("99.00")),  # a single purchase
        ("c2", datetime(2026, 1, 8, 5, 0, tzinfo=UTC), Decimal("1.00")),  # same day: still one
        ("c3", datetime(2026, 1, 14, 12, 0, tzinfo=UTC), Decimal("10.00")),  # after the end: ignored
        ("c1", datetime(2026, 1, 13, 17, 0, tzinfo=UTC), Decimal("70.00")),  # 14 Jan local: ignored
    ]
    # When summarised up to 13 Jan (local)
    summary = clv.customer_summary(orders, observation_end=date(2026, 1, 13), timezone=shanghai)
    # Then c1 bought on 3 days (2 repeat), last 10 days after the first, 12 days old, 60 a repeat day
    assert summary.customer_ids == ["c1", "c2"]
    assert summary.frequency.tolist() == [2, 0]
    assert summary.recency.tolist() == [10.0, 0.0]
    assert summary.T.tolist() == [12.0, 5.0]
    assert summary.monetary_value.tolist() == [60.0, 0.0]


def test_customer_summary_in_utc_and_weeks_ends_at_the_last_purchase_day():
    orders = [
        (7, datetime(2026, 1, 1, 2, 0, tzinfo=UTC), 100),
        (7, datetime(2026, 1, 1, 15, 0, tzinfo=UTC), 20),  # same UTC day
        (7, datetime(2026, 1, 15, 9, 0, tzinfo=UTC), 35.5),
        (8, datetime(2026, 1, 29, 9, 0, tzinfo=UTC), 12),
    ]
    summary = clv.customer_summary(orders, unit="weeks")
    assert summary.observation_end == date(2026, 1, 29)
    assert summary.customer_ids == [7, 8]
    assert summary.frequency.tolist() == [1, 0]
    assert summary.recency.tolist() == [2.0, 0.0]
    assert summary.T.tolist() == [4.0, 0.0]
    assert summary.monetary_value.tolist() == [35.5, 0.0]


def test_customer_summary_of_no_orders_is_empty():
    summary = clv.customer_summary([])
    assert summary.customer_ids == [] and summary.frequency.tolist() == [] and summary.observation_end is None


def test_customer_summary_rejects_an_unknown_unit():
    with pytest.raises(InvalidInput) as rejected:
        clv.customer_summary([], unit="months")
    assert rejected.value.field == "unit"
    assert translate("error.clv_unknown_unit", "zh-CN", field="unit") == "未知的时间单位，请使用 days 或 weeks（字段 unit）"
