"""Predicted value traits: the corp's BG/NBD + Gamma-Gamma fit written into each buyer's traits.

The models live in ``siyu.analytics`` (``forecast_corp``); this module runs them for one corp as a
system principal, keeps the fitted parameters in ``CorpTraitSettings.value_model`` and writes
probability alive, expected purchases and spend in the next 90 days and their product per buyer.
A corp whose history cannot identify the models (no repeat buyer yet, no convergence) keeps no
predictions and records why, so the console can say so instead of showing stale numbers.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from siyu.analytics import clv
from siyu.analytics.clv_service import DEFAULT_HORIZON_DAYS, forecast_corp
from siyu.customer import trait_repository
from siyu.kit.clock import Clock, get_clock
from siyu.kit.tenancy import Principal
from siyu.models.user import Role

CENT = Decimal("0.01")


def _system_principal(corp_id: int) -> Principal:
    # The fit must see every order of the corp, so it runs with a corp-wide role and no user.
    return Principal(user_id=0, corp_id=corp_id, role=Role.admin, username="system:traits")


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 2))).quantize(CENT)


def refit_value_model(session: Session, corp_id: int, *, clock: Clock | None = None) -> dict[str, Any]:
    """Fit the corp's purchase and spend models on all its orders up to now and store the
    predictions in the traits of its buyers. Returns what was stored in ``value_model``."""
    session.flush()
    clock = clock or get_clock()
    now = clock.now()
    settings = trait_repository.ensure_corp_settings(session, corp_id, now)
    trait_repository.clear_value_predictions(session, corp_id, now)
    try:
        forecast = forecast_corp(session, _system_principal(corp_id), clock, horizon_days=DEFAULT_HORIZON_DAYS)
    except (clv.InsufficientPurchaseHistory, clv.ModelDidNotConverge) as refusal:
        model: dict[str, Any] = {"status": "not_fitted", "reason": refusal.code, "message_key": refusal.message_key,
                                 "params": {k: v for k, v in refusal.params.items() if isinstance(v, int | float | str)}}
    else:
        rows = [
            {
                "customer_id": customer.customer_id,
                "probability_alive": round(customer.probability_alive, 6),
                "expected_purchases": round(customer.expected_purchases, 6),
                "expected_average_spend": _money(customer.expected_average_spend),
                "predicted_value": _money(customer.expected_value),
            }
            for customer in forecast.customers
        ]
        trait_repository.write_value_predictions(session, corp_id, rows, now)
        model = {
            "status": "fitted",
            "as_of": forecast.as_of.isoformat(),
            "horizon_days": forecast.horizon_days,
            "bgnbd": asdict(forecast.purchase_model),
            "gamma_gamma": None if forecast.spend_model is None else asdict(forecast.spend_model),
            "customers": len(rows),
        }
    settings.value_model = model
    settings.value_model_fitted_at = now
    settings.updated_at = now
    session.flush()
    return model
