"""Predicted value per customer of a corp: BG/NBD and Gamma-Gamma fitted on the corp's own orders.

One model per corp, in days, as of the clock's today in the corp's time zone. Results are returned,
not stored: the caller decides where they go (customer traits, a report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from siyu.analytics import clv, clv_repository
from siyu.kit.clock import Clock
from siyu.kit.tenancy import Principal

DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class CustomerForecast:
    """One customer's history (days) and predictions for the next ``horizon_days``."""

    customer_id: int
    frequency: int
    recency_days: float
    age_days: float
    #: Observed mean amount of the repeat purchase days; 0 for one-time buyers.
    average_spend: float
    probability_alive: float
    expected_purchases: float
    #: None when the corp's spend model could not be fitted.
    expected_average_spend: float | None
    #: expected_purchases × expected_average_spend, None with it.
    expected_value: float | None


@dataclass(frozen=True)
class CorpForecast:
    as_of: date
    horizon_days: int
    purchase_model: clv.BgNbdParams
    #: None when the spend model refused (fewer than two repeat buyers, no convergence, q ≤ 1).
    spend_model: clv.GammaGammaParams | None
    customers: list[CustomerForecast]


def forecast_corp(
    session: Session, principal: Principal, clock: Clock, *, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> CorpForecast:
    """Fit the corp's models on every purchase up to now and predict each buyer's next days.

    The fit uses the orders ``principal`` may see, so run it as a corp-wide principal for the corp's
    model. Raises ``InsufficientPurchaseHistory`` or ``ModelDidNotConverge`` when the purchase model
    cannot be fitted; a spend model that cannot be fitted leaves the spend predictions empty instead.
    """
    zone = clv_repository.corp_timezone(session, principal)
    now = clock.now()
    summary = clv.customer_summary(
        clv_repository.purchase_days(session, principal, zone, now),
        observation_end=now,
        unit="days",
        timezone=zone,
    )
    purchase_model = clv.fit_bgnbd(summary.frequency, summary.recency, summary.T)
    alive = clv.probability_alive(purchase_model, summary.frequency, summary.recency, summary.T)
    purchases = clv.expected_purchases(
        purchase_model, horizon_days, summary.frequency, summary.recency, summary.T
    )
    spend_model, spend = _spend(summary)
    customers = [
        CustomerForecast(
            customer_id=int(customer_id),
            frequency=int(summary.frequency[index]),
            recency_days=float(summary.recency[index]),
            age_days=float(summary.T[index]),
            average_spend=float(summary.monetary_value[index]),
            probability_alive=float(alive[index]),
            expected_purchases=float(purchases[index]),
            expected_average_spend=None if spend is None else float(spend[index]),
            expected_value=None if spend is None else float(purchases[index] * spend[index]),
        )
        for index, customer_id in enumerate(summary.customer_ids)
    ]
    return CorpForecast(
        as_of=now.astimezone(zone).date(),
        horizon_days=horizon_days,
        purchase_model=purchase_model,
        spend_model=spend_model,
        customers=customers,
    )


def _spend(summary: clv.CustomerSummary):
    try:
        spend_model = clv.fit_gamma_gamma(summary.frequency, summary.monetary_value)
        return spend_model, clv.expected_average_spend(spend_model, summary.frequency, summary.monetary_value)
    except (clv.InsufficientPurchaseHistory, clv.ModelDidNotConverge):
        return None, None
