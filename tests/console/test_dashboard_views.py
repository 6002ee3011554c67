"""The home dashboard: real counts in the viewer's scope, 30-day comparisons, monthly series."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from siyu.dashboard.service import month_starts
from siyu.models import Customer, Order
from tests.console.conftest import kpis


def _series(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, flags=re.S)
    assert match
    return json.loads(match.group(1))["series"]


def _add_orders(database, brand, *paid: tuple[datetime, str]) -> None:
    with database.session() as session:
        for number, (when, amount) in enumerate(paid):
            session.add(Order(corp_id=brand.corp_id, platform="pos", shop="extra", order_no=f"x{number}",
                              store_id=brand.store_ids[0], staff_id=brand.staff_ids[0],
                              amount=Decimal(amount), paid_at=when))


def test_admin_sees_the_whole_corp_and_nothing_of_the_other(console):
    # given two corps of the same shape (make_brand), when alpha's admin opens the dashboard
    figures = kpis(console("admin").get("/").text)

    # then every figure is alpha's alone: 8 customers, 6 relations, 3 staff, 2 stores, 6 orders of 88.50
    assert figures == {"customers": "8", "relations": "6", "staff": "3", "stores": "2", "orders": "6",
                       "sales": "¥531.00"}


def test_store_manager_counts_only_their_store(console):
    figures = kpis(console("store_manager").get("/").text)

    # store 1: staff s1 and s2, their 4 customers and the store's walk-in, their 4 orders
    assert figures == {"customers": "5", "relations": "4", "staff": "2", "stores": "1", "orders": "4",
                       "sales": "¥354.00"}


def test_staff_user_counts_only_the_customers_they_serve(console):
    figures = kpis(console("staff").get("/").text)

    # staff s3 serves 2 customers with 2 orders; a staff user has no department, hence no stores
    assert figures == {"customers": "2", "relations": "2", "staff": "1", "stores": "0", "orders": "2",
                       "sales": "¥177.00"}


def test_last_30_days_are_compared_with_the_30_days_before(console, database, seeded, clock):
    # given one order 10 days ago and two 40 days ago, besides make_brand's six in the last week
    now = clock.now()
    _add_orders(database, seeded[0], (now - timedelta(days=10), "100.00"),
                (now - timedelta(days=40), "50.00"), (now - timedelta(days=41), "50.00"))

    # when the admin opens the dashboard
    page = console("admin").get("/").text

    # then 7 orders (¥631.00) are compared with 2 (¥100.00)
    assert kpis(page)["orders"] == "7"
    assert kpis(page)["sales"] == "¥631.00"
    assert '<span class="delta up">▲ 250.0%</span>' in page
    assert '<span class="delta up">▲ 531.0%</span>' in page
    assert "前 30 天：¥100.00" in page


def test_months_are_counted_in_the_corp_time_zone(console, database, seeded):
    # given orders either side of midnight on 1 December in Shanghai (UTC+8)
    _add_orders(database, seeded[0], (datetime(2025, 11, 30, 15, 0, tzinfo=UTC), "10.00"),
                (datetime(2025, 11, 30, 17, 0, tzinfo=UTC), "20.00"))

    series = _series(console("admin").get("/").text)

    # then the first falls in November and the second in December; January holds make_brand's six
    assert len(series["months"]) == 18
    assert series["months"][0] == "2024-08" and series["months"][-3:] == ["2025-11", "2025-12", "2026-01"]
    assert series["orders"][-3:] == [1, 1, 6]
    assert series["sales"][-3:] == [10.0, 20.0, 531.0]
    assert sum(series["orders"][:-3]) == 0


def test_customers_added_per_month_use_first_seen_when_known(console, database, seeded):
    with database.session() as session:
        session.add(Customer(corp_id=seeded[0].corp_id, name="老会员", home_store_id=seeded[0].store_ids[1],
                             first_seen_at=datetime(2025, 6, 10, tzinfo=UTC)))

    series = _series(console("admin").get("/").text)

    added = dict(zip(series["months"], series["customers_added"], strict=True))
    assert added["2025-06"] == 1
    # make_brand's 8 customers were stored on 2026-01-05 with no first-seen date
    assert added["2026-01"] == 8
    assert sum(series["customers_added"]) == 9


def test_month_starts_are_local_midnights_on_the_first():
    zone = ZoneInfo("Asia/Shanghai")

    starts = month_starts(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), zone, 18)

    assert len(starts) == 19
    assert starts[0] == datetime(2024, 8, 1, tzinfo=zone)
    assert starts[-2] == datetime(2026, 1, 1, tzinfo=zone)
    assert starts[-1] == datetime(2026, 2, 1, tzinfo=zone)
    assert starts[-1].astimezone(UTC) == datetime(2026, 1, 31, 16, 0, tzinfo=UTC)
