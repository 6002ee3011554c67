"""The generated order history: its window, seasonality, repeat buying and attribution."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.models import Order, Staff

CHINA = timedelta(hours=8)


def _orders(database) -> list[Order]:
    with database.session() as session:
        return list(session.scalars(select(Order)))


def _month(order: Order) -> str:
    return (order.paid_at + CHINA).strftime("%Y-%m")


def test_orders_lie_in_the_18_months_before_the_clock(database, clock, seeded):
    # given the clock at 2026-01-05 09:00 UTC
    orders = _orders(database)
    # then every order was paid within the 18 months before it, and the whole window is used
    assert len(orders) == 1_200
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    earliest, latest = min(o.paid_at for o in orders), max(o.paid_at for o in orders)
    assert earliest >= datetime(2024, 7, 5, 9, 0, tzinfo=UTC)
    assert latest < clock.now()
    assert earliest < datetime(2024, 8, 1, tzinfo=UTC)
    assert latest > datetime(2025, 12, 25, tzinfo=UTC)


def test_the_window_follows_the_injected_clock(database, clock):
    # given a clock half a year later than the default
    from siyu.seed.generator import run_seed

    clock.set(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    run_seed(database, scale="tiny", corp_slug=None, seed=5, echo=lambda _: None, interactive=False)
    orders = _orders(database)
    # then the history ends before that moment and starts 18 months earlier
    assert min(o.paid_at for o in orders) >= datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert max(o.paid_at for o in orders) < datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_summer_fruit_and_festival_gift_boxes_make_the_seasons_visible(database, seeded):
    orders = _orders(database)
    per_month = Counter(_month(o) for o in orders)
    seasonal = Counter(_month(o) for o in orders if o.category == "时令水果")
    # the summer peak beats the spring trough of the same year
    assert per_month["2025-07"] > per_month["2025-03"]
    # watermelon and lychee are a summer business
    assert seasonal["2025-07"] / per_month["2025-07"] > 3 * seasonal["2025-01"] / per_month["2025-01"]
    # gift boxes sell in the three weeks before the Spring Festival (2025-01-29), not after it
    def gift_boxes(first: date, last: date) -> int:
        return sum(1 for o in orders if o.category == "礼盒" and first <= (o.paid_at + CHINA).date() < last)

    before = gift_boxes(date(2025, 1, 8), date(2025, 1, 29))
    assert before > 3 * gift_boxes(date(2025, 2, 5), date(2025, 2, 26))


def test_weekends_and_evenings_are_busier(database, seeded):
    orders = _orders(database)
    weekdays = Counter((o.paid_at + CHINA).weekday() for o in orders)
    store_hours = Counter((o.paid_at + CHINA).hour for o in orders if o.platform == "pos")
    assert weekdays[5] + weekdays[6] > weekdays[1] + weekdays[2]
    assert store_hours[19] > store_hours[15]
    # stores ring up sales only while open
    assert set(store_hours) <= set(range(8, 23))


def test_a_fifth_of_the_customers_bring_most_of_the_sales(database, seeded):
    orders = _orders(database)
    sales: Counter = Counter()
    counts: Counter = Counter()
    for order in orders:
        sales[order.customer_id] += order.amount
        counts[order.customer_id] += 1
    ranked = sorted(sales.values(), reverse=True)
    top_fifth = sum(ranked[: 200 // 5])
    assert top_fifth > sum(ranked) / 2
    # heavy buyers next to many one-timers, and some customers never bought
    assert max(counts.values()) >= 30
    assert sum(1 for n in counts.values() if n == 1) >= 20
    assert len(counts) < 200


def test_store_orders_are_attributed_to_staff_of_that_store(database, seeded):
    orders = _orders(database)
    with database.session() as session:
        staff_store = dict(session.execute(select(Staff.id, Staff.department_id)).all())
    pos = [o for o in orders if o.platform == "pos"]
    online = [o for o in orders if o.platform in {"taobao", "jd", "douyin", "youzan"}]
    assert 0.6 < len(pos) / len(orders) < 0.8
    assert all(o.store_id is not None and staff_store[o.staff_id] == o.store_id for o in pos)
    assert all(o.store_id is None and o.staff_id is None for o in online)
    assert {o.platform for o in orders} == {"pos", "miniprogram", "meituan", "taobao", "jd", "douyin",
                                            "youzan"}


def test_order_numbers_are_unique_per_platform_and_shop_and_prices_are_plausible(database, seeded):
    orders = _orders(database)
    assert len({(o.platform, o.shop, o.order_no) for o in orders}) == 1_200
    assert all(o.status in {"paid", "refunded"} for o in orders)
    assert all(Decimal("5") <= o.amount <= Decimal("1000") and o.amount == o.amount.quantize(Decimal("0.01"))
               for o in orders)
    gift_boxes = [o.amount for o in orders if o.category == "礼盒"]
    fresh_cut = [o.amount for o in orders if o.category == "鲜切水果"]
    assert min(gift_boxes) > max(fresh_cut) / 2
    assert sum(gift_boxes) / len(gift_boxes) > 4 * sum(fresh_cut) / len(fresh_cut)
