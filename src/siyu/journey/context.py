"""Context providers: outside facts a journey can branch on, keyed by the customer's city (the 瑞幸
case: recommend iced drinks on a hot day, hot ones when it rains).

A provider is ``fn(cities, now) -> {city: value}``; ``register_context_provider(name, fn)`` plugs a
real feed in (a weather API, a store's stock). The built-in ``weather`` provider is a simulated
feed: a stable value per (city, local day), so demos, tests and simulations agree with each other.
A ``context_branch`` node sends each customer down the branch whose ``when`` equals the value for
their city, else to ``default``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from siyu.models.customer import Customer

ContextProvider = Callable[[Iterable[str], datetime], dict[str, str]]
WEATHER = ("sunny", "hot", "rainy", "cold")
_providers: dict[str, ContextProvider] = {}
_CHINA = timezone(timedelta(hours=8))


def register_context_provider(name: str, provider: ContextProvider | None) -> None:
    """Use ``provider`` for ``name`` (None restores the built-in one, if any)."""
    if provider is None:
        _providers.pop(name, None)
        if name == "weather":
            _providers[name] = simulated_weather
    else:
        _providers[name] = provider


def providers() -> tuple[str, ...]:
    return tuple(sorted(_providers))


def simulated_weather(cities: Iterable[str], now: datetime) -> dict[str, str]:
    """A simulated weather feed: one of sunny/hot/rainy/cold per city and local day."""
    day = now.astimezone(_CHINA).date().isoformat()
    out = {}
    for city in cities:
        digest = hashlib.blake2b(f"{city}:{day}".encode(), digest_size=2).digest()
        out[city] = WEATHER[int.from_bytes(digest, "big") % len(WEATHER)]
    return out


register_context_provider("weather", None)


def decide_context_branch(env: Any, node: dict[str, Any], visits: list[Any]) -> dict[int, Any]:
    from siyu.journey.nodes import Outcome

    cities = dict(env.session.execute(select(Customer.id, Customer.city).where(
        Customer.id.in_([v.customer_id for v in visits]))).all())
    values = _providers[node["provider"]]({c for c in cities.values() if c}, env.now)
    targets = {branch["when"]: branch.get("next") for branch in node.get("branches", [])}
    outcomes = {}
    for visit in visits:
        value = values.get(cities.get(visit.customer_id) or "")
        if value in targets:
            outcomes[visit.id] = Outcome("branched", targets[value], branch=value)
        else:
            outcomes[visit.id] = Outcome("branched", node.get("default"), branch="default")
    return outcomes
