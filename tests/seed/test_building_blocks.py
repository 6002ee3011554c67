"""The pieces the generator is built from: the history window, the calendar, numbers and names."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from siyu.seed.names import PhoneNumbers, external_userid, member_number
from siyu.seed.orders import ORDER_COLUMNS, PLATFORMS, order_number
from siyu.seed.scales import SCALES, history_window, months_before
from siyu.seed.seasonality import Calendar, category_demand


def test_months_before_clamps_to_the_end_of_shorter_months():
    assert months_before(date(2026, 1, 5), 18) == date(2024, 7, 5)
    assert months_before(date(2026, 8, 31), 18) == date(2025, 2, 28)
    assert months_before(date(2025, 12, 31), 10) == date(2025, 2, 28)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_the_window_holds_whole_china_days_strictly_inside_the_last_18_months():
    # 2026-01-05 09:00 UTC is 17:00 in China
    window = history_window(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert (window.start, window.end) == (date(2024, 7, 6), date(2026, 1, 5))
    assert window.start_utc == datetime(2024, 7, 5, 16, 0, tzinfo=UTC)
    assert window.days == 548
    # 20:00 UTC is already the next day in China
    assert history_window(datetime(2026, 1, 5, 20, 0, tzinfo=UTC)).end == date(2026, 1, 6)


def test_the_calendar_weights_summer_above_spring_and_weekends_above_weekdays():
    calendar = Calendar(history_window(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))
    start = calendar.window.start

    def weight(day: date) -> float:
        index = (day - start).days
        return calendar.exposure(index, index + 1)

    assert weight(date(2025, 7, 16)) > 1.3 * weight(date(2025, 3, 12))  # both Wednesdays
    assert weight(date(2025, 3, 15)) > weight(date(2025, 3, 12))  # Saturday over Wednesday
    assert calendar.exposure(10, 10) == 0.0
    assert calendar.exposure(0, calendar.days) == calendar.cumulative[-1]


def test_gift_boxes_peak_before_the_spring_and_mid_autumn_festivals():
    gift = 5
    assert category_demand(date(2025, 1, 27))[gift] > 8 * category_demand(date(2025, 3, 27))[gift]
    assert category_demand(date(2025, 10, 4))[gift] > 8 * category_demand(date(2025, 11, 4))[gift]


def test_draws_stay_within_the_requested_days():
    calendar = Calendar(history_window(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))
    rng = random.Random(3)
    days = [calendar.draw_day(rng.random(), 100, 130) for _ in range(2_000)]
    assert min(days) == 100
    assert max(days) == 129
    assert calendar.draw_day(0.0, 5, 6) == calendar.draw_day(0.999999, 5, 6) == 5
    assert {calendar.draw_hour(rng.random(), in_store=True) for _ in range(2_000)} == set(range(8, 23))


def test_phone_numbers_are_distinct_eleven_digit_mobiles():
    phones = PhoneNumbers(random.Random(1), customers=50_000)
    numbers = [phones.customer(i) for i in range(50_000)] + [phones.staff(i) for i in range(500)]
    assert len(set(numbers)) == 50_500
    assert all(len(n) == 11 and n.isdigit() and n[0] == "1" for n in numbers)
    assert PhoneNumbers(random.Random(1), customers=50_000).customer(7) == numbers[7]


def test_order_numbers_are_distinct_on_every_platform():
    for platform in PLATFORMS:
        numbers = {order_number(platform, n, "20250701") for n in range(20_000)}
        assert len(numbers) == 20_000, platform
        assert all(len(number) <= 64 for number in numbers)
    assert order_number("pos", 42, "20250701") == "P2507010000000042"


def test_ids_look_like_wecom_and_loyalty_ids():
    rng = random.Random(9)
    assert len({external_userid(rng) for _ in range(10_000)}) == 10_000
    assert len({member_number(i) for i in range(10_000)}) == 10_000
    assert member_number(0) == "M0001234567"


def test_every_scale_has_the_shape_of_the_brand():
    assert {name: (s.customers, s.orders, s.stores, s.staff) for name, s in SCALES.items()} == {
        "tiny": (200, 1_200, 6, 12),
        "demo": (20_000, 120_000, 20, 80),
        "bench": (1_000_000, 10_000_000, 300, 1_200),
    }
    assert [name for name, s in SCALES.items() if s.needs_postgres] == ["bench"]
    assert ORDER_COLUMNS[:2] == ("corp_id", "customer_id")
