"""Jinja filters of the console: translation, numbers, money and times in the corp's zone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context


@pass_context
def translate_filter(context: Context, key: str, **params: Any) -> str:
    """``{{ 'console.role.' ~ user.role | t }}`` — the catalogue string in the page's language."""
    return context["t"](key, **params)


def number(value: int | float | Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}"


def money(value: Decimal | float | int | None) -> str:
    """Amounts in yuan with two decimals and thousands separators."""
    if value is None:
        return "—"
    return f"¥{Decimal(value):,.2f}"


@pass_context
def local_time(context: Context, value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp shown in the corp's time zone (UTC when the page has no corp)."""
    if value is None:
        return "—"
    shell = context.get("shell")
    if shell is not None:
        value = value.astimezone(shell.zone)
    return value.strftime(pattern)


def change_percent(current: Decimal | int, previous: Decimal | int) -> float | None:
    """Relative change from ``previous`` to ``current`` in percent; None when there is no base."""
    if not previous:
        return None
    return float((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous))


def install(environment: Environment) -> None:
    """Register the console's filters on ``environment``."""
    environment.filters.update({
        "t": translate_filter, "number": number, "money": money, "local_time": local_time,
    })
    environment.globals["change_percent"] = change_percent
