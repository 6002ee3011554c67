"""Rows of orders: when, where, what, how much, and which shopping guide sold them.

A customer's orders fall on days drawn with the seasonal weights between joining and going dormant;
each customer has a usual channel (most buy at the till of their home store, others on the mini
program, Meituan or an e-commerce shop) and strays from it now and then. Store orders are attributed
to the customer's shopping guide when they are served by them, otherwise to a colleague on duty.
Rows are yielded lazily so a chunk's orders stream into the bulk writer without being held at once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from itertools import accumulate

from siyu.seed.brand import BrandLayout
from siyu.seed.plan import CustomerPlan
from siyu.seed.seasonality import GIFT_BOX, Calendar

ORDER_COLUMNS = ("corp_id", "customer_id", "platform", "shop", "order_no", "store_id", "staff_id", "status",
                 "category", "amount", "item_count", "paid_at", "created_at", "updated_at")
#: Where fruit orders come from: the till (POS) first, then the brand's mini program, Meituan
#: delivery and e-commerce shops.
PLATFORMS = {"pos": 0.70, "miniprogram": 0.12, "meituan": 0.08, "taobao": 0.03, "douyin": 0.03, "jd": 0.02,
             "youzan": 0.02}
ONLINE_PLATFORMS = [p for p in PLATFORMS if p != "pos"]
#: how often a customer orders through their usual channel
USUAL_CHANNEL = 0.75
#: share of store orders placed at a store other than the customer's home store
AWAY_FROM_HOME = 0.08
#: share of store orders rung up by the customer's own shopping guide
BY_OWN_GUIDE = 0.7
REFUNDED = 0.03
ITEM_COUNTS = (1, 2, 3, 4, 5)
ITEM_CUMULATIVE = list(accumulate((0.45, 0.3, 0.15, 0.07, 0.03)))
#: multiplier that makes order numbers look random while staying a permutation (coprime with 10)
_SCRAMBLE = 6_364_136_223


def _scrambled(number: int, digits: int) -> str:
    """``number`` mapped one-to-one onto ``digits`` digits (for number < 10^digits)."""
    return f"{(number * _SCRAMBLE + 7_777_777) % 10**digits:0{digits}d}"


def order_number(platform: str, number: int, day_tag: str) -> str:
    """The platform's order number for the brand's ``number``-th order; distinct numbers give
    distinct order numbers on every platform, so (platform, shop, order_no) is unique."""
    if platform == "pos":
        return f"P{day_tag[2:]}{number:010d}"
    if platform == "miniprogram":
        return f"XG{day_tag}{number:010d}"
    if platform == "meituan":
        return "3" + _scrambled(number, 18)
    if platform == "taobao":
        return "1" + _scrambled(number, 18)
    if platform == "jd":
        return "2" + _scrambled(number, 11)
    if platform == "douyin":
        return "69" + _scrambled(number, 17)
    return f"E{day_tag}{_scrambled(number, 12)}"


class OrderBuilder:
    """Yields the order rows of customers ``start … stop − 1`` in customer order."""

    def __init__(self, *, corp_id: int, slug: str, seed: int, plan: CustomerPlan, brand: BrandLayout,
                 calendar: Calendar) -> None:
        self.corp_id, self.seed, self.plan, self.brand, self.calendar = corp_id, seed, plan, brand, calendar
        self.origin = calendar.window.start_utc
        self.day_tags = [calendar.window.local_date(d).strftime("%Y%m%d") for d in range(calendar.days)]
        self.online_shops = {p: f"{slug}.{p}" for p in ONLINE_PLATFORMS}
        self.platforms = list(PLATFORMS)
        self.platform_cumulative = list(accumulate(PLATFORMS.values()))
        self.online_cumulative = list(accumulate(PLATFORMS[p] for p in ONLINE_PLATFORMS))
        #: the brand-wide order counter behind order numbers; chunks run in order
        self.next_number = 0

    def build(self, chunk: int, start: int, stop: int, customer_ids: list[int]) -> Iterator[tuple]:
        rng = random.Random(f"{self.seed}:orders:{chunk}")
        random_, randrange = rng.random, rng.randrange
        plan, brand, calendar, corp_id = self.plan, self.brand, self.calendar, self.corp_id
        stores, origin, day_tags = brand.stores, self.origin, self.day_tags
        platforms, platform_cumulative = self.platforms, self.platform_cumulative
        for offset, index in enumerate(range(start, stop)):
            count = plan.orders[index]
            if count == 0:
                continue
            customer_id = customer_ids[offset]
            home_index = plan.store[index]
            home = stores[home_index]
            guide = plan.guide[index]
            usual = ("pos" if random_() < PLATFORMS["pos"]
                     else rng.choices(ONLINE_PLATFORMS, cum_weights=self.online_cumulative)[0])
            first = plan.first_purchase[index]
            alive_from = max(plan.joined[index], 0) + first
            dormant_from = plan.dormant_from[index]
            for k in range(count):
                day = plan.joined[index] if k == 0 and first else calendar.draw_day(random_(), alive_from,
                                                                                    dormant_from)
                platform = (usual if random_() < USUAL_CHANNEL
                            else rng.choices(platforms, cum_weights=platform_cumulative)[0])
                store_id = staff_id = None
                if platform == "pos":
                    store_index = (home_index if random_() >= AWAY_FROM_HOME
                                   else home.neighbours[int(random_() * len(home.neighbours))]
                                   if home.neighbours else home_index)
                    store = stores[store_index]
                    shop, store_id = store.code, store.id
                    if store_index == home_index and guide >= 0 and random_() < BY_OWN_GUIDE:
                        serving = guide
                    else:
                        serving = store.staff[int(random_() * len(store.staff))]
                    staff_id = brand.staff[brand.serving_staff(serving, day)].id
                elif platform == "meituan":
                    shop, store_id = f"mt-{home.code}", home.id
                else:
                    shop = self.online_shops[platform]
                    if platform == "miniprogram":
                        store_id = home.id
                        if guide >= 0 and random_() < 0.5:
                            staff_id = brand.staff[brand.serving_staff(guide, day)].id
                hour = calendar.draw_hour(random_(), in_store=platform == "pos")
                paid_at = origin + timedelta(days=day, seconds=hour * 3600 + randrange(3600))
                category = calendar.draw_category(random_(), day)
                low, mode, high = category.price
                items = ITEM_COUNTS[_bisect_items(random_())]
                price = rng.triangular(low, high, mode)
                if category.name != GIFT_BOX:
                    price *= 1 + 0.3 * (items - 1)
                amount = Decimal(int(price * 10) * 10).scaleb(-2)
                number = self.next_number
                self.next_number = number + 1
                status = "refunded" if random_() < REFUNDED else "paid"
                yield (corp_id, customer_id, platform, shop, order_number(platform, number, day_tags[day]),
                       store_id, staff_id, status, category.name, amount, items, paid_at, paid_at, paid_at)


def _bisect_items(uniform: float) -> int:
    for index, bound in enumerate(ITEM_CUMULATIVE):
        if uniform < bound:
            return index
    return len(ITEM_CUMULATIVE) - 1
