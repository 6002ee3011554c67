"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") describes each customer
by ``frequency`` x (repeat purchases: days with a purchase after the first one), ``recency`` t_x
(age at the last purchase) and ``T`` (age at the end of the observation). From it come the
probability that a customer is still "alive" and the expected number of purchases in the next ``t``
time units. The Gamma-Gamma model (Fader & Hardie, note 025) shrinks a repeat customer's average
spend towards the population mean. Both are fitted by maximum likelihood with scipy on
log-parameters (so every parameter stays positive) with analytic gradients; times are rescaled so
the oldest customer has ``T == 1`` and amounts so the mean spend is 1, which keeps the optimiser
well conditioned whatever the unit (days or weeks, fen or yuan).

The functions are pure: arrays in, numbers out. Time is in whatever unit the summary was built in;
predictions must use the same unit as the fit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeResult, minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from siyu.kit.errors import InvalidInput, SiyuError

TimeUnit = Literal["days", "weeks"]
_DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}
_LOG_PARAMETER_LIMIT = 18.0


class InsufficientPurchaseHistory(SiyuError):
    """The purchases cannot identify the model (no customers, or nobody came back)."""

    status_code = 409
    code = "clv_insufficient_history"


class ModelDidNotConverge(SiyuError):
    """The optimiser stopped without reaching a maximum of the likelihood."""

    status_code = 409
    code = "clv_not_converged"


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters: purchase rates ~ Gamma(r, alpha), drop-out ~ Beta(a, b).

    ``alpha`` is in the time unit of the data it was fitted on.
    """

    r: float
    alpha: float
    a: float
    b: float
    customers: int
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (``gamma`` is the scale, in the currency of the data)."""

    p: float
    q: float
    gamma: float
    customers: int
    log_likelihood: float


@dataclass(frozen=True)
class CustomerSummary:
    """Per-customer frequency / recency / T / monetary value, aligned with ``customer_ids``."""

    customer_ids: list[object]
    frequency: NDArray[np.int64]
    recency: NDArray[np.float64]
    T: NDArray[np.float64]
    #: Mean amount of the repeat purchase days (the first day excluded); 0 for one-time buyers.
    monetary_value: NDArray[np.float64]
    #: None only when there was no purchase at all.
    observation_end: date | None
    unit: TimeUnit


# --------------------------------------------------------------------------------------------- BG/NBD


def _bgnbd_history(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike):
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    if not (x.ndim == t_x.ndim == age.ndim == 1 and x.shape == t_x.shape == age.shape):
        raise InvalidInput("error.clv_history_shape", field="frequency")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(age).all()):
        raise InvalidInput("error.clv_history_invalid", field="frequency")
    if (x < 0).any() or (x != np.round(x)).any():
        raise InvalidInput("error.clv_history_invalid", field="frequency")
    # A repeat purchase falls on a later day than the first one, so it comes with recency > 0.
    if (t_x < 0).any() or (t_x > age).any() or (t_x[x == 0] != 0).any() or (t_x[x > 0] <= 0).any():
        raise InvalidInput("error.clv_history_invalid", field="recency")
    return x, t_x, age


def _bgnbd_terms(theta: NDArray, x: NDArray, t_x: NDArray, age: NDArray, repeat: NDArray):
    """Per-customer log-likelihood (Hardie's note 004, eq. 6) and its gradient in ``theta``."""
    r, alpha, a, b = theta
    bx1 = b + np.maximum(x, 1) - 1
    log_at = np.log(alpha + age)
    log_ar = np.log(alpha + t_x)
    # The likelihood is a sum of two terms that under- and overflow on their own; add them in logs.
    dead_now = -(r + x) * log_at
    died_after_last = np.where(repeat, np.log(a) - np.log(bx1) - (r + x) * log_ar, -np.inf)
    mixture = np.logaddexp(dead_now, died_after_last)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + mixture
    w_now = np.exp(dead_now - mixture)
    w_last = np.exp(died_after_last - mixture)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w_now * log_at - w_last * log_ar
    d_alpha = r / alpha - (r + x) * (w_now / (alpha + age) + w_last / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w_last / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w_last / bx1
    return ll, np.stack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    initial: tuple[float, float, float, float] | None = None,
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters for the given customer histories.

    ``initial`` (r, alpha, a, b, alpha in the data's time unit) only moves the optimiser's start.

    Refuses (``InsufficientPurchaseHistory``) when there is no customer or no customer with a
    repeat purchase: with one-time buyers only, the likelihood grows without bound as r → 0, so no
    parameters could be reported.
    """
    x, t_x, age = _bgnbd_history(frequency, recency, T)
    repeat = x > 0
    if not repeat.any():
        raise InsufficientPurchaseHistory("error.clv_no_repeat_purchases", customers=int(x.size))
    scale = 1.0 / age.max()
    t_x_scaled, age_scaled = t_x * scale, age * scale
    count = x.size

    def objective(log_theta: NDArray) -> tuple[float, NDArray]:
        theta = np.exp(log_theta)
        ll, gradient = _bgnbd_terms(theta, x, t_x_scaled, age_scaled, repeat)
        return -ll.sum() / count, -(gradient.sum(axis=1) * theta) / count

    if initial is None:
        start = np.full(4, 0.1)  # lifetimes' starting point, parameters ≈ 1.1
    else:
        r0, alpha0, a0, b0 = initial
        start = np.log([r0, alpha0 * scale, a0, b0])
    result = _minimise(objective, start)
    r, alpha_scaled, a, b = np.exp(result.x)
    return BgNbdParams(
        r=float(r),
        alpha=float(alpha_scaled / scale),
        a=float(a),
        b=float(b),
        customers=int(count),
        # Rescaling time by ``scale`` shifts every repeat buyer's log-density by x·ln(scale).
        log_likelihood=float(-result.fun * count + np.log(scale) * x.sum()),
    )


def probability_alive(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> NDArray:
    """P(the customer has not dropped out at age ``T``); 1 for customers without repeat purchases,
    because in BG/NBD a customer can only drop out right after a purchase."""
    x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    log_odds_dead = (params.r + x) * (np.log(params.alpha + age) - np.log(params.alpha + t_x)) + np.log(
        params.a / (params.b + np.maximum(x, 1) - 1)
    )
    return np.where(x == 0, 1.0, expit(-log_odds_dead))


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> NDArray:
    """Expected number of purchases in the next ``t`` time units (Fader, Hardie & Lee 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    horizon = np.asarray(t, dtype=float)
    z = horizon / (alpha + age + horizon)
    # Euler's transformation 2F1(r+x, b+x; c; z) = (1-z)^(c-r-b-2x) 2F1(a+b-1-r, a-1; c; z) turns
    # eq. 10's hypergeometric term, whose first two arguments grow with x (and whose series converges
    # slowly near z = 1), into one with small fixed arguments; with the (1-z)^(r+x) factor of eq. 10,
    # (1-z)^(a-1) is left.
    c = a + b + x - 1
    log_survivor = (a - 1) * np.log1p(-z) + np.log(hyp2f1(a + b - 1 - r, a - 1, c, z))
    purchases_if_alive = (c / (a - 1)) * -np.expm1(log_survivor)
    return purchases_if_alive * probability_alive(params, x, t_x, age)


# ---------------------------------------------------------------------------------------- Gamma-Gamma


def _gamma_gamma_terms(theta: NDArray, x: NDArray, m: NDArray):
    """Per-customer log-density of the mean spend ``m`` over ``x`` purchases, and its gradient."""
    p, q, gamma = theta
    px = p * x
    log_total = np.log(x * m + gamma)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_total
    )
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_total)
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (x * m + gamma)
    return ll, np.stack([d_p, d_q, d_gamma])


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the repeat customers.

    Customers with ``frequency == 0`` carry no repeat spend and are ignored; every repeat customer
    needs a positive ``monetary_value``. Refuses (``InsufficientPurchaseHistory``) with fewer than two
    repeat customers, where the spread between customers cannot be estimated.
    """
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    if not (x.ndim == m.ndim == 1 and x.shape == m.shape):
        raise InvalidInput("error.clv_history_shape", field="monetary_value")
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise InvalidInput("error.clv_history_invalid", field="frequency")
    repeat = x > 0
    x, m = x[repeat], m[repeat]
    if not np.isfinite(m).all() or (m <= 0).any():
        raise InvalidInput("error.clv_history_invalid", field="monetary_value")
    if x.size < 2:
        raise InsufficientPurchaseHistory("error.clv_no_repeat_purchases", customers=int(repeat.size))
    scale = 1.0 / m.mean()
    m_scaled = m * scale

    def objective(log_theta: NDArray) -> tuple[float, NDArray]:
        theta = np.exp(log_theta)
        ll, gradient = _gamma_gamma_terms(theta, x, m_scaled)
        return -ll.sum() / x.size, -(gradient.sum(axis=1) * theta) / x.size

    result = _minimise(objective, np.full(3, 0.1))
    p, q, gamma_scaled = np.exp(result.x)
    return GammaGammaParams(
        p=float(p),
        q=float(q),
        gamma=float(gamma_scaled / scale),
        customers=int(x.size),
        # A density of m rescales by 1/scale per customer: ln f(m) = ln f(m·scale) + ln(scale).
        log_likelihood=float(-result.fun * x.size + np.log(scale) * x.size),
    )


def expected_average_spend(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> NDArray:
    """E[average spend per purchase | x, m] (note 025, eq. 5): the customer's own mean weighted by
    p·x against the population mean p·gamma/(q-1). One-time buyers (x = 0) get the population mean.

    Refuses when q <= 1: the fitted population mean spend is then infinite.
    """
    if params.q <= 1:
        raise InsufficientPurchaseHistory("error.clv_spend_unbounded", q=round(params.q, 4))
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    own_weight = params.p * x / (params.p * x + params.q - 1)
    population_mean = params.p * params.gamma / (params.q - 1)
    return (1 - own_weight) * population_mean + own_weight * m


def _minimise(objective: Callable[[NDArray], tuple[float, NDArray]], start: NDArray) -> OptimizeResult:
    """BFGS on (value, gradient) to a gradient of 1e-10, well past lifetimes' default tolerance."""
    result = minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    # BFGS reports "precision loss" when it is already at the optimum to machine precision: accept
    # that when the gradient is tiny, refuse anything else.
    if not (result.success or (np.isfinite(result.fun) and np.max(np.abs(result.jac)) < 1e-6)):
        raise ModelDidNotConverge("error.clv_not_converged", reason=str(result.message))
    # With too few or too uniform customers the likelihood keeps rising towards a limit (nobody
    # drops out, everybody spends alike) and BFGS "converges" far out; on the rescaled data sound
    # parameters lie well within e^±18, so report anything beyond as no fit rather than as a model.
    if np.max(np.abs(result.x)) > _LOG_PARAMETER_LIMIT:
        raise ModelDidNotConverge("error.clv_degenerate_fit", reason="parameter at a limit")
    return result


# ------------------------------------------------------------------------------------ summary data


def customer_summary(
    transactions: Iterable[tuple[object, datetime | date, Decimal | float | int]],
    *,
    observation_end: datetime | date | None = None,
    unit: TimeUnit = "days",
    timezone: tzinfo = UTC,
) -> CustomerSummary:
    """Frequency / recency / T / monetary value per customer from ``(customer_id, paid_at, amount)``.

    As lifetimes' ``summary_data_from_transaction_data(freq="D")`` does: purchases are grouped by
    calendar day in ``timezone`` (aware datetimes are converted; naive ones and dates are taken as
    local), so several orders on one day are one purchase whose amount is their sum; days after
    ``observation_end`` (default: the last purchase day) are ignored; frequency is the number of
    purchase days minus one, recency the days from the first to the last purchase day, T the days
    from the first purchase day to ``observation_end``, monetary value the mean amount of the
    purchase days after the first. In weeks every day count is divided by 7 (lifetimes'
    ``freq_multiplier=7``, the unit of the published CDNOW summary).
    """
    if unit not in _DAYS_PER_UNIT:
        raise InvalidInput("error.clv_unknown_unit", field="unit")
    days: dict[object, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for customer_id, paid_at, amount in transactions:
        days[customer_id][_local_day(paid_at, timezone)] += float(amount)
    end = _local_day(observation_end, timezone) if observation_end is not None else None
    if end is None:
        end = max((max(purchases) for purchases in days.values()), default=None)
    customer_ids: list[object] = []
    rows: list[tuple[int, int, int, float]] = []
    for customer_id, purchases in days.items():
        ordered = sorted(day for day in purchases if end is not None and day <= end)
        if not ordered:
            continue
        first, last = ordered[0], ordered[-1]
        repeat_amounts = [purchases[day] for day in ordered[1:]]
        customer_ids.append(customer_id)
        rows.append(
            (
                len(ordered) - 1,
                (last - first).days,
                (end - first).days,
                sum(repeat_amounts) / len(repeat_amounts) if repeat_amounts else 0.0,
            )
        )
    table = np.array(rows, dtype=float).reshape(-1, 4)
    per_day = _DAYS_PER_UNIT[unit]
    return CustomerSummary(
        customer_ids=customer_ids,
        frequency=table[:, 0].astype(np.int64),
        recency=table[:, 1] / per_day,
        T=table[:, 2] / per_day,
        monetary_value=table[:, 3],
        observation_end=end,
        unit=unit,
    )


def _local_day(moment: datetime | date, timezone: tzinfo) -> date:
    if isinstance(moment, datetime):
        return (moment.astimezone(timezone) if moment.tzinfo is not None else moment).date()
    return moment
