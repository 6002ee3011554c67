"""The home dashboard: what happened in the principal's scope, now and over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.dashboard import repository
from siyu.dashboard.repository import Sales, Totals
from siyu.kit.clock import Clock
from siyu.kit.tenancy import Principal

#: Months shown in the charts, the current one included.
CHART_MONTHS = 18
PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class MonthlySeries:
    """Aligned per-month series; ``months`` are ``YYYY-MM`` labels in the corp's time zone."""

    months: list[str]
    orders: list[int]
    sales: list[float]
    customers_added: list[int]


@dataclass(frozen=True)
class Overview:
    totals: Totals
    #: the 30 days up to and including now, and the 30 days before them
    recent: Sales
    previous: Sales
    customers_added_recent: int
    series: MonthlySeries
    as_of: datetime


def month_starts(now: datetime, zone: ZoneInfo, months: int) -> list[datetime]:
    """``months + 1`` boundaries: the start of each of the last ``months`` months (the current one
    included) and the start of next month — midnight on the 1st in ``zone``."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    starts: list[datetime] = []
    for offset in range(months - 1, -2, -1):
        index = year * 12 + (month - 1) - offset
        starts.append(datetime(index // 12, index % 12 + 1, 1, tzinfo=zone))
    return starts


def overview(session: Session, principal: Principal, clock: Clock, zone: ZoneInfo) -> Overview:
    """The dashboard's numbers at ``clock.now()``."""
    now = clock.now()
    boundaries = month_starts(now, zone, CHART_MONTHS)
    monthly = repository.monthly_sales(session, principal, boundaries)
    series = MonthlySeries(
        months=[start.strftime("%Y-%m") for start in boundaries[:-1]],
        orders=[period.orders for period in monthly],
        sales=[float(period.amount) for period in monthly],
        customers_added=repository.monthly_customers_added(session, principal, boundaries),
    )
    return Overview(
        totals=repository.totals(session, principal),
        recent=repository.sales_between(session, principal, now - PERIOD, now),
        previous=repository.sales_between(session, principal, now - 2 * PERIOD, now - PERIOD),
        customers_added_recent=repository.customers_added_between(session, principal, now - PERIOD, now),
        series=series,
        as_of=now,
    )
