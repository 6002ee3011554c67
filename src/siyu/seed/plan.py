"""The life of every generated customer, decided up front in compact arrays.

Purchasing follows the Pareto/NBD story: each customer buys at their own rate (drawn from a gamma
distribution, so a minority of heavy buyers sits next to many light ones) while alive, and some go
dormant after an exponential lifetime. Most buyers make a first purchase when they join; the
remaining orders are dealt out multinomially in proportion to rate × seasonal exposure while alive,
which hits the scale's order count exactly. Everything later phases need per customer lives here in
``array`` columns (a few bytes per customer), so a million customers plan in tens of megabytes and
phases regenerate rows chunk by chunk.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from itertools import accumulate

from siyu.seed.brand import BrandLayout
from siyu.seed.scales import Scale
from siyu.seed.seasonality import Calendar

#: share of customers who joined before the window opened (older members)
JOINED_BEFORE = 0.5
#: how far back, in days, the oldest members joined
OLDEST_MEMBER_DAYS = 900
#: share of customers who ever buy (the rest only added a shopping guide on WeCom)
BUYERS = 0.9
#: share of customers who go dormant during the window, and their mean remaining life in days
DORMANT = 0.35
DORMANT_MEAN_DAYS = 120
#: gamma shape of the purchase rate: < 1 makes the heavy-buyer tail
RATE_SHAPE = 0.6
#: share of customers who are WeCom friends of a shopping guide, and who have a second one
WECOM_FRIENDS = 0.85
SECOND_GUIDE = 0.1


@dataclass
class CustomerPlan:
    """Column arrays indexed by customer number (0 … customers − 1)."""

    store: array
    #: window day the customer joined; negative for members older than the window
    joined: array
    #: first window day the customer no longer buys (``days`` when still active)
    dormant_from: array
    #: orders in the window, including the first purchase
    orders: array
    #: 1 when the first of those orders is the purchase on the joining day
    first_purchase: array
    #: staff index of the shopping guide who added the customer on WeCom, −1 when none
    guide: array
    #: staff index of a second guide, −1 when none
    second_guide: array

    @property
    def customers(self) -> int:
        return len(self.store)


def plan_customers(scale: Scale, brand: BrandLayout, calendar: Calendar, rng: random.Random) -> CustomerPlan:
    """Decide every customer's store, joining day, dormancy, guides and order count."""
    total, days = scale.customers, calendar.days
    store_cumulative = list(accumulate(s.weight for s in brand.stores))
    plan = CustomerPlan(
        store=array("i", rng.choices(range(len(brand.stores)), cum_weights=store_cumulative, k=total)),
        joined=array("i", bytes(4 * total)), dormant_from=array("i", bytes(4 * total)),
        orders=array("i", bytes(4 * total)), first_purchase=array("b", bytes(total)),
        guide=array("i", bytes(4 * total)), second_guide=array("i", bytes(4 * total)),
    )
    # cumulative allocation weight (rate × exposure) for the multinomial deal
    allocation = array("d", bytes(8 * total))
    running = 0.0
    first_orders = 0
    random_, gamma, expo = rng.random, rng.gammavariate, rng.expovariate
    for i in range(total):
        if random_() < JOINED_BEFORE:
            joined = -1 - int(random_() * OLDEST_MEMBER_DAYS)
        else:
            joined = int(days * random_())
        alive_from = max(joined, 0)
        dormant_from = days
        if random_() < DORMANT:
            dormant_from = min(days, alive_from + 1 + int(expo(1 / DORMANT_MEAN_DAYS)))
        plan.joined[i], plan.dormant_from[i] = joined, dormant_from
        if random_() < BUYERS:
            if joined >= 0:
                plan.first_purchase[i] = 1
                plan.orders[i] = 1
                first_orders += 1
            start = alive_from + plan.first_purchase[i]
            running += gamma(RATE_SHAPE, 1.0) * calendar.exposure(start, dormant_from)
        allocation[i] = running
        store = brand.stores[plan.store[i]]
        plan.guide[i] = plan.second_guide[i] = -1
        if random_() < WECOM_FRIENDS:
            plan.guide[i] = store.staff[int(random_() * len(store.staff))]
            if len(store.staff) > 1 and random_() < SECOND_GUIDE:
                others = [s for s in store.staff if s != plan.guide[i]]
                plan.second_guide[i] = others[int(random_() * len(others))]
    _deal_repeat_orders(plan, allocation, scale.orders - first_orders, rng)
    return plan


def _deal_repeat_orders(plan: CustomerPlan, allocation: array, count: int, rng: random.Random) -> None:
    if count < 0:
        raise ValueError("the scale has fewer orders than first purchases; raise its order count")
    if count == 0 or allocation[-1] <= 0:
        return
    population = range(plan.customers)
    orders = plan.orders
    batch = 200_000
    for start in range(0, count, batch):
        for customer in rng.choices(population, cum_weights=allocation, k=min(batch, count - start)):
            orders[customer] += 1
