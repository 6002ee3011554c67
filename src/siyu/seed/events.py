"""Rows of Segment-spec events: what the brand's mini program and stores report about each customer.

Every customer's events follow their orders: a mini-program order is the end of a funnel (首页 page
view → ``Product Viewed`` → ``Product Added`` → ``Checkout Started`` → ``Order Completed`` carrying the
order number and total), a till purchase is preceded by a ``Store Visited`` check-in, and coupons are
claimed in the days before some orders. Between orders customers browse: page views, product views,
abandoned carts and coupon claims on days drawn with the seasonal weights while they are active
(from joining until a while after their last order). A share of the events comes from visitors who
never logged in: ``customer_id`` and ``userId`` empty, only an ``anonymousId``.

Event counts are exact: the scale's total is split into an anonymous share and a budget per customer
dealt out up front (``plan_event_budgets``) in proportion to how much they buy; a customer's funnels
come first, browsing fills the rest of the budget. Properties use the categories the orders use
(``seasonality.CATEGORIES``), with a fixed product list per category. ``message_id`` is
``seed-<n>`` with one counter per brand, so it is unique and inserts append to its index.
JSON columns are produced as text (``json.dumps``), the form COPY takes.
"""

from __future__ import annotations

import json
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from siyu.seed.names import member_number, random_token
from siyu.seed.seasonality import CATEGORIES, Calendar

EVENT_COLUMNS = ("corp_id", "source_id", "customer_id", "message_id", "type", "name", "user_id",
                 "anonymous_id", "properties", "traits", "context", "timestamp", "received_at")
#: the mini program's ingest source, created with the brand
SOURCE_NAME = "鲜果时光小程序"
SOURCE_KIND = "miniprogram"
#: share of all events sent by visitors who never identified themselves
ANONYMOUS_SHARE = 0.08
#: a customer's budget weight: something for browsing plus so much per order
BROWSE_WEIGHT = 2.0
ORDER_WEIGHT = 2.0
#: days customers keep browsing after their last order (non-buyers: after joining)
ACTIVE_AFTER_LAST_ORDER = 60
ACTIVE_WITHOUT_ORDERS = 120
#: chance that an order is preceded by a coupon claimed in the days before it
COUPON_BEFORE_ORDER = 0.15

PRODUCTS: dict[str, tuple[str, ...]] = {
    "日常水果": ("红富士苹果", "香蕉", "赣南脐橙", "砀山梨", "沃柑"),
    "鲜切水果": ("鲜切西瓜盒", "鲜切菠萝", "什锦果切", "哈密瓜切块"),
    "时令水果": ("麒麟西瓜", "妃子笑荔枝", "水蜜桃", "阳光玫瑰葡萄", "杨梅"),
    "热带水果": ("台农芒果", "金枕榴莲", "菠萝蜜", "山竹", "红心火龙果"),
    "进口水果": ("智利车厘子", "秘鲁蓝莓", "新西兰奇异果", "墨西哥牛油果"),
    "礼盒": ("鲜果礼盒·团圆", "中秋果礼盒", "新春果礼盒", "精选进口礼盒"),
    "果汁饮品": ("鲜榨橙汁", "西瓜汁", "芒果奶昔", "椰子水"),
}
PAGES = (("首页", "pages/index/index"), ("分类", "pages/category/index"),
         ("商品详情", "pages/product/detail"), ("购物车", "pages/cart/index"),
         ("会员中心", "pages/member/index"), ("优惠券中心", "pages/coupon/index"),
         ("我的订单", "pages/order/list"))
COUPONS = (("满59减10", 10), ("新人立减15", 15), ("会员日9折", 0), ("满199减30", 30), ("时令尝鲜5元券", 5))
CONTEXTS = tuple(
    json.dumps({"app": {"name": SOURCE_NAME, "version": version}, "os": {"name": os_name},
                "library": {"name": "analytics-miniprogram", "version": "2.1.0"}, "locale": "zh-CN",
                "timezone": "Asia/Shanghai"}, ensure_ascii=False, separators=(",", ":"))
    for version in ("3.8.2", "3.9.0") for os_name in ("iOS", "Android"))
ANONYMOUS_CONTEXT = json.dumps({"app": {"name": SOURCE_NAME, "version": "3.9.0"},
                                "library": {"name": "analytics-miniprogram", "version": "2.1.0"},
                                "locale": "zh-CN"}, ensure_ascii=False, separators=(",", ":"))
EMPTY = "{}"
#: columns of an order row the events use (see ``orders.ORDER_COLUMNS``)
_PLATFORM, _ORDER_NO, _STORE, _CATEGORY, _AMOUNT, _ITEMS, _PAID = 2, 4, 5, 8, 9, 10, 11
_RECEIVED_DELAYS = tuple(timedelta(milliseconds=ms) for ms in (180, 350, 620, 900, 1_400, 2_600, 4_100))


def _dumps(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    price: float


def _catalogue() -> dict[str, tuple[Product, ...]]:
    catalogue = {}
    for number, category in enumerate(CATEGORIES):
        low, mode, _high = category.price
        catalogue[category.name] = tuple(
            Product(f"SKU{number + 1}{k + 1:02d}", name, category.name, round((low + mode) / 2 * (1 + 0.1 * k), 1))
            for k, name in enumerate(PRODUCTS[category.name]))
    return catalogue


@dataclass(frozen=True)
class EventCustomer:
    """What the events of one customer depend on. ``orders`` are rows in ``ORDER_COLUMNS`` order."""

    index: int
    customer_id: int
    home_store_id: int | None
    joined_at: datetime
    orders: Sequence[tuple]


def plan_event_budgets(order_counts: Sequence[int], identified: int, rng: random.Random) -> array:
    """Events per customer (indexed like ``order_counts``), summing to exactly ``identified``: dealt
    out multinomially with weight ``BROWSE_WEIGHT + ORDER_WEIGHT × orders``."""
    budgets = array("i", bytes(4 * len(order_counts)))
    if identified <= 0 or not order_counts:
        return budgets
    running, cumulative = 0.0, array("d", bytes(8 * len(order_counts)))
    for i, count in enumerate(order_counts):
        running += BROWSE_WEIGHT + ORDER_WEIGHT * count
        cumulative[i] = running
    population = range(len(order_counts))
    batch = 200_000
    for start in range(0, identified, batch):
        for customer in rng.choices(population, cum_weights=cumulative, k=min(batch, identified - start)):
            budgets[customer] += 1
    return budgets


def split_total(total: int) -> tuple[int, int]:
    """(identified, anonymous) events of a scale's ``total``."""
    anonymous = round(total * ANONYMOUS_SHARE)
    return total - anonymous, anonymous


def anonymous_share(anonymous: int, customers: int, start: int, stop: int) -> int:
    """The anonymous events that go with the chunk of customers ``start … stop − 1`` (exact in sum)."""
    return anonymous * stop // customers - anonymous * start // customers


class EventBuilder:
    """Builds event rows (``EVENT_COLUMNS``) customer by customer; ``next_number`` is the brand-wide
    message counter, so chunks must be built in order."""

    def __init__(self, *, corp_id: int, source_id: int | None, calendar: Calendar,
                 store_names: dict[int, str], next_number: int = 0) -> None:
        self.corp_id, self.source_id, self.calendar = corp_id, source_id, calendar
        self.store_names = store_names
        self.origin = calendar.window.start_utc
        self.end = self.origin + timedelta(days=calendar.days)
        self.next_number = next_number
        self.catalogue = _catalogue()
        self._viewed: dict[tuple[str, int | None], str] = {}
        self._pages = {name: _dumps({"path": path, "title": name}) for name, path in PAGES}
        self._coupons = [_dumps({"coupon_id": f"CP{k + 1:03d}", "coupon_name": name, "discount": discount})
                         for k, (name, discount) in enumerate(COUPONS)]

    # --- properties ---------------------------------------------------------------------------------

    def _product_properties(self, product: Product, store_id: int | None) -> str:
        key = (product.id, store_id)
        text = self._viewed.get(key)
        if text is None:
            text = self._viewed[key] = _dumps({
                "product_id": product.id, "sku": product.id, "name": product.name, "category": product.category,
                "price": product.price, "currency": "CNY", "store_id": store_id,
                "store": self.store_names.get(store_id) if store_id is not None else None})
        return text

    def _order_properties(self, order: tuple, product: Product, *, completed: bool) -> str:
        store_id = order[_STORE]
        properties = {"order_id": order[_ORDER_NO], "total": float(order[_AMOUNT]), "currency": "CNY",
                      "category": order[_CATEGORY], "store_id": store_id,
                      "store": self.store_names.get(store_id) if store_id is not None else None,
                      "products": [{"product_id": product.id, "name": product.name, "category": product.category,
                                    "price": product.price, "quantity": order[_ITEMS]}]}
        if completed:
            properties["platform"] = order[_PLATFORM]
        return _dumps(properties)

    def _day(self, moment: datetime) -> int:
        return min(max((moment - self.origin).days, 0), self.calendar.days - 1)

    # --- sessions: lists of (timestamp, type, name, properties) -----------------------------------

    def _funnel(self, rng: random.Random, order: tuple) -> list[tuple]:
        paid_at, platform = order[_PAID], order[_PLATFORM]
        products = self.catalogue.get(order[_CATEGORY]) or self.catalogue[CATEGORIES[0].name]
        product = products[int(rng.random() * len(products))]
        drafts: list[tuple] = []
        if rng.random() < COUPON_BEFORE_ORDER:
            claimed = paid_at - timedelta(days=1 + int(rng.random() * 5), seconds=rng.randrange(36_000))
            drafts.append((claimed, "track", "Coupon Claimed", self._coupons[int(rng.random() * len(COUPONS))]))
        if platform == "pos":
            visited = paid_at - timedelta(seconds=60 + rng.randrange(1_200))
            store_id = order[_STORE]
            drafts.append((visited, "track", "Store Visited", _dumps({
                "store_id": store_id, "store": self.store_names.get(store_id), "method": "scan"})))
        elif platform == "miniprogram":
            moment = paid_at - timedelta(seconds=240 + rng.randrange(900))
            drafts.append((moment, "page", "首页", self._pages["首页"]))
            viewed = self._product_properties(product, order[_STORE])
            for _ in range(1 + int(rng.random() * 3)):
                moment += timedelta(seconds=15 + rng.randrange(90))
                drafts.append((moment, "track", "Product Viewed", viewed))
            moment += timedelta(seconds=10 + rng.randrange(40))
            drafts.append((moment, "track", "Product Added", viewed))
            drafts.append((paid_at - timedelta(seconds=20 + rng.randrange(60)), "track", "Checkout Started",
                           self._order_properties(order, product, completed=False)))
            drafts.append((paid_at, "track", "Order Completed", self._order_properties(order, product,
                                                                                       completed=True)))
        return drafts

    def _browse(self, rng: random.Random, day: int, store_id: int | None, size: int) -> list[tuple]:
        calendar = self.calendar
        hour = calendar.draw_hour(rng.random(), in_store=False)
        moment = self.origin + timedelta(days=day, seconds=hour * 3600 + rng.randrange(3600))
        drafts = [(moment, "page", "首页", self._pages["首页"])]
        while len(drafts) < size:
            moment += timedelta(seconds=8 + rng.randrange(120))
            draw = rng.random()
            if draw < 0.55:
                products = self.catalogue[calendar.draw_category(rng.random(), day).name]
                product = products[int(rng.random() * len(products))]
                drafts.append((moment, "track", "Product Viewed", self._product_properties(product, store_id)))
                if rng.random() < 0.25 and len(drafts) < size:
                    moment += timedelta(seconds=5 + rng.randrange(30))
                    drafts.append((moment, "track", "Product Added", self._product_properties(product, store_id)))
            elif draw < 0.85:
                name = PAGES[1 + int(rng.random() * (len(PAGES) - 1))][0]
                drafts.append((moment, "page", name, self._pages[name]))
            else:
                drafts.append((moment, "track", "Coupon Claimed", self._coupons[int(rng.random() * len(COUPONS))]))
        return drafts

    # --- rows -----------------------------------------------------------------------------------------

    def customer_events(self, rng: random.Random, customer: EventCustomer, budget: int) -> list[tuple]:
        """``budget`` event rows of one customer, in time order: funnels of their orders first (the most
        recent ones kept when the budget is short), browsing sessions for the rest."""
        if budget <= 0:
            return []
        drafts: list[tuple] = []
        for order in customer.orders:
            drafts.extend(self._funnel(rng, order))
        if len(drafts) > budget:
            drafts.sort(key=_first)
            del drafts[:len(drafts) - budget]
        days = self.calendar.days
        first = max(self._day(customer.joined_at), 0) if customer.joined_at >= self.origin else 0
        if customer.orders:
            last = min(days, self._day(max(o[_PAID] for o in customer.orders)) + ACTIVE_AFTER_LAST_ORDER)
        else:
            last = min(days, first + ACTIVE_WITHOUT_ORDERS)
        first = min(first, last - 1)
        while len(drafts) < budget:
            day = self.calendar.draw_day(rng.random(), first, last)
            size = min(budget - len(drafts), 2 + int(rng.random() * 5))
            drafts.extend(self._browse(rng, day, customer.home_store_id, size))
        drafts.sort(key=_first)
        user_id = member_number(customer.index)
        anonymous_id = f"{customer.index:08x}-{random_token(rng, 12)}"
        context = CONTEXTS[customer.index % len(CONTEXTS)]
        return self._rows(drafts, customer.customer_id, user_id, anonymous_id, context)

    def anonymous_events(self, rng: random.Random, count: int) -> Iterator[tuple]:
        """``count`` events of visitors who never logged in, a short session each."""
        days = self.calendar.days
        while count > 0:
            size = min(count, 1 + int(rng.random() * 4))
            day = self.calendar.draw_day(rng.random(), 0, days)
            drafts = self._browse(rng, day, None, size)
            count -= size
            yield from self._rows(drafts, None, None, "anon-" + random_token(rng, 20), ANONYMOUS_CONTEXT)

    def _rows(self, drafts: list[tuple], customer_id: int | None, user_id: str | None, anonymous_id: str,
              context: str) -> list[tuple]:
        corp_id, source_id, end = self.corp_id, self.source_id, self.end
        latest = end - timedelta(seconds=1)
        number = self.next_number
        rows = []
        for offset, (moment, kind, name, properties) in enumerate(drafts):
            if moment >= end:
                moment = latest
            elif moment < self.origin:
                moment = self.origin
            rows.append((corp_id, source_id, customer_id, f"seed-{number + offset:010d}", kind, name, user_id,
                         anonymous_id, properties, EMPTY, context, moment,
                         moment + _RECEIVED_DELAYS[(number + offset) % len(_RECEIVED_DELAYS)]))
        self.next_number = number + len(drafts)
        return rows


def _first(draft: tuple) -> datetime:
    return draft[0]
