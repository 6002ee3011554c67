"""The seeded Segment-spec events: exact counts, identified and anonymous shares, funnels that match
the orders, timestamps in the window, determinism, and the resumable backfill for older brands."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from siyu.kit.errors import Conflict, NotFound
from siyu.models import Corp, Customer, Event, IngestSource, Order
from siyu.seed.event_backfill import add_events
from siyu.seed.events import ANONYMOUS_SHARE, PAGES, SOURCE_KIND, SOURCE_NAME, plan_event_budgets, split_total
from siyu.seed.generator import run_seed
from siyu.seed.seasonality import CATEGORIES
from tests.seed.conftest import SEED

TRACK_NAMES = {"Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Coupon Claimed",
               "Store Visited"}


def _events(database) -> list[Event]:
    with database.session() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def _signature(events: list[Event]) -> list[tuple]:
    """The events without the database ids they refer to (another brand has other store ids)."""
    return [(e.message_id, e.type, e.name, e.timestamp, {k: v for k, v in e.properties.items() if k != "store_id"},
             e.customer_id is None) for e in events]


def test_the_tiny_seed_has_exactly_its_events_with_unique_message_ids(database, seeded):
    # given the tiny brand (3,000 events)
    events = _events(database)
    # then there are exactly 3,000, each with its own message id, 8 % of them anonymous
    assert len(events) == 3_000
    assert len({e.message_id for e in events}) == 3_000
    anonymous = [e for e in events if e.customer_id is None]
    assert len(anonymous) == round(3_000 * ANONYMOUS_SHARE) == 240
    assert all(e.user_id is None and e.anonymous_id.startswith("anon-") for e in anonymous)
    identified = [e for e in events if e.customer_id is not None]
    assert all(e.user_id.startswith("M") and e.anonymous_id for e in identified)
    # every event comes from the mini program's ingest source, created with the brand
    with database.session() as session:
        source = session.scalars(select(IngestSource)).one()
    assert (source.name, source.kind, source.enabled) == (SOURCE_NAME, SOURCE_KIND, True)
    assert {e.source_id for e in events} == {source.id}


def test_events_are_segment_calls_with_the_orders_categories(database, seeded):
    events = _events(database)
    # then track calls carry the e-commerce names and page calls the mini program's pages
    assert {e.type for e in events} == {"track", "page"}
    assert {e.name for e in events if e.type == "track"} == TRACK_NAMES
    assert {e.name for e in events if e.type == "page"} <= {name for name, _path in PAGES}
    # product events name a product of one of the categories the orders use, with a price
    categories = {c.name for c in CATEGORIES}
    viewed = [e for e in events if e.name in ("Product Viewed", "Product Added")]
    assert viewed and all(e.properties["category"] in categories and e.properties["price"] > 0
                          and e.properties["currency"] == "CNY" for e in viewed)
    assert all(e.properties["path"].startswith("pages/") for e in events if e.type == "page")
    assert all(e.traits == {} and e.context["app"]["name"] == SOURCE_NAME for e in events)


def test_funnels_end_in_the_customers_own_orders(database, seeded):
    # given the seeded orders and events
    with database.session() as session:
        orders = {(o.customer_id, o.order_no): o for o in session.scalars(select(Order))}
    events = _events(database)
    completed = [e for e in events if e.name == "Order Completed"]
    # then every Order Completed is a mini-program order of the same customer, same total, same moment
    assert completed
    for event in completed:
        order = orders[(event.customer_id, event.properties["order_id"])]
        assert (order.platform, event.properties["platform"]) == ("miniprogram", "miniprogram")
        assert event.properties["total"] == float(order.amount)
        assert event.properties["category"] == order.category
        assert event.timestamp == order.paid_at
    # and every Checkout Started belongs to one of those orders, shortly before it (a funnel cut short
    # by the customer's budget loses its earliest events, so a completed order may lack it)
    started = {(e.customer_id, e.properties["order_id"]): e.timestamp for e in events
               if e.name == "Checkout Started"}
    assert set(started) <= {(e.customer_id, e.properties["order_id"]) for e in completed}
    first_event = {}
    for event in events:
        first_event.setdefault(event.customer_id, event)
    assert all(first_event[e.customer_id] is e for e in completed
               if (e.customer_id, e.properties["order_id"]) not in started)
    for key, moment in started.items():
        assert timedelta(seconds=20) <= orders[key].paid_at - moment < timedelta(seconds=80)
    # and every Store Visited is a check-in at a store where the customer paid at the till minutes later
    till = defaultdict(list)
    for order in orders.values():
        if order.platform == "pos":
            till[(order.customer_id, order.store_id)].append(order.paid_at)
    visits = [e for e in events if e.name == "Store Visited"]
    assert visits
    for visit in visits:
        assert any(timedelta(seconds=60) <= paid - visit.timestamp < timedelta(seconds=1_260)
                   for paid in till[(visit.customer_id, visit.properties["store_id"])])


def test_events_lie_in_the_window_and_follow_each_customers_activity(database, clock, seeded):
    events = _events(database)
    with database.session() as session:
        last_order = dict(session.execute(select(Order.customer_id, func.max(Order.paid_at))
                                          .group_by(Order.customer_id)).all())
    # then every event lies in the 18 months before the clock (history ends at today's local midnight)
    assert min(e.timestamp for e in events) >= datetime(2024, 7, 5, 16, 0, tzinfo=UTC)
    assert max(e.timestamp for e in events) < datetime(2026, 1, 4, 16, 0, tzinfo=UTC)
    assert all(timedelta(0) < e.received_at - e.timestamp < timedelta(seconds=5) for e in events)
    # and buyers stop browsing at most 60 days (plus a session) after their last order
    latest = defaultdict(lambda: datetime.min.replace(tzinfo=UTC))
    for event in events:
        if event.customer_id is not None:
            latest[event.customer_id] = max(latest[event.customer_id], event.timestamp)
    assert all(latest[c] < last + timedelta(days=62) for c, last in last_order.items() if c in latest)
    # and busier buyers send more events
    per_customer = Counter(e.customer_id for e in events if e.customer_id is not None)
    with database.session() as session:
        order_counts = Counter(dict(session.execute(select(Order.customer_id, func.count())
                                                    .group_by(Order.customer_id)).all()))
    heavy = [per_customer[c] for c, n in order_counts.items() if n >= 10]
    light = [per_customer[c] for c, n in order_counts.items() if n <= 2]
    assert sum(heavy) / len(heavy) > 2 * sum(light) / len(light)


def test_the_same_seed_gives_the_same_events(database, seeded):
    # given a second brand generated from the same seed under another slug
    run_seed(database, scale="tiny", corp_slug="xianguo2", seed=SEED, echo=lambda _: None, interactive=False)
    with database.session() as session:
        first, second = (session.scalar(select(Corp.id).where(Corp.slug == slug)) for slug in ("xianguo", "xianguo2"))
        events = {corp: list(session.scalars(select(Event).where(Event.corp_id == corp).order_by(Event.id)))
                  for corp in (first, second)}
    # then both have the same events, call for call
    assert len(events[second]) == 3_000
    assert _signature(events[first]) == _signature(events[second])


def test_budgets_add_up_exactly_and_follow_the_orders():
    import random

    budgets = plan_event_budgets([0, 1, 5, 20], 1_000, random.Random(1))
    assert sum(budgets) == 1_000
    assert budgets[3] > budgets[2] > budgets[0]
    assert split_total(20_000_000) == (18_400_000, 1_600_000)
    assert list(plan_event_budgets([3, 4], 0, random.Random(1))) == [0, 0]


def _drop_events(database) -> None:
    with database.session() as session:
        session.execute(delete(Event))


def test_a_brand_without_events_gets_them_in_resumable_chunks(database, seeded):
    # given the tiny brand as an older seed left it: customers and orders, no events
    _drop_events(database)
    lines: list[str] = []
    # when the backfill runs one chunk of 64 customers and stops
    first = add_events(database, corp_slug="xianguo", total=3_000, seed=SEED, echo=lines.append, chunk=64,
                       max_chunks=1)
    # then that chunk's events are committed (the chunk's customers and its anonymous share)
    with database.session() as session:
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        stored = list(session.scalars(select(Event)))
    assert first.written == len(stored) > 0
    assert {e.customer_id for e in stored if e.customer_id is not None} <= set(ids[:64])
    assert sum(1 for e in stored if e.customer_id is None) == 240 * 64 // 200
    # when it runs again it resumes after that chunk and completes the brand
    second = add_events(database, corp_slug="xianguo", total=3_000, seed=SEED, echo=lines.append, chunk=64)
    events = _events(database)
    assert (second.existing, second.written) == (first.written, 3_000 - first.written)
    assert len(events) == 3_000
    assert len({e.message_id for e in events}) == 3_000
    assert sum(1 for e in events if e.customer_id is None) == 240
    assert lines[0] == "adding 3,000 events to xianguo (customers 0 … 199, 0 events there already)"
    assert lines[1] == f"adding {3_000 - first.written:,} events to xianguo (customers 64 … 199, " \
                       f"{first.written:,} events there already)"
    # and its Order Completed events are the stored mini-program orders
    with database.session() as session:
        orders = {(o.customer_id, o.order_no): o for o in session.scalars(select(Order))}
    completed = [e for e in events if e.name == "Order Completed"]
    assert completed and all(orders[(e.customer_id, e.properties["order_id"])].paid_at == e.timestamp
                             for e in completed)
    # when it runs a third time nothing is written
    again: list[str] = []
    third = add_events(database, corp_slug="xianguo", total=3_000, seed=SEED, echo=again.append, chunk=64)
    assert (third.written, third.existing) == (0, 3_000)
    assert again == ["brand xianguo already has its events (3,000); nothing to do"]
    assert len(_events(database)) == 3_000


def test_the_backfill_refuses_an_unknown_brand_and_foreign_events(database, seeded):
    # given no brand called "nope"
    with pytest.raises(NotFound) as missing:
        add_events(database, corp_slug="nope", total=3_000, seed=SEED, echo=lambda _: None)
    assert missing.value.message("en") == "There is no brand nope: seed it first with siyu seed"
    # given the brand with one event that is not the backfill's (as if a real event had arrived)
    with database.session() as session:
        kept = session.scalars(select(Event).order_by(Event.id).limit(1)).one()
        session.execute(delete(Event).where(Event.id != kept.id))
    # then the backfill refuses to guess and writes nothing
    with pytest.raises(Conflict) as mismatch:
        add_events(database, corp_slug="xianguo", total=3_000, seed=SEED, echo=lambda _: None, chunk=64)
    assert "nothing was written" in mismatch.value.message("en")
    assert len(_events(database)) == 1
