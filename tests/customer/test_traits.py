"""Order aggregates kept by ``mark_customers_changed``: counts, spend, refunds, favourites, channels."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.customer.traits import mark_customers_changed, recompute_corp
from siyu.models import Customer, Order
from siyu.models.job import Job
from siyu.models.trait import CustomerTrait
from tests.customer.trait_population import add_customer, add_order, make_trait_corp


def _trait(session, customer_id) -> CustomerTrait | None:
    return session.scalars(select(CustomerTrait).where(CustomerTrait.customer_id == customer_id)).one_or_none()


def test_aggregates_count_paid_shipped_completed_and_exclude_refunded_and_cancelled(database, clock):
    # given a buyer with paid, shipped, partly refunded, refunded and cancelled orders
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        buyer = add_customer(session, corp.corp_id)
        store1, store2 = corp.store_ids
        add_order(session, corp.corp_id, buyer, now - timedelta(days=10), "100.00", category="水果", store_id=store1)
        add_order(session, corp.corp_id, buyer, now - timedelta(days=8), "50.00", status="shipped", platform="taobao",
                  category="坚果", store_id=store2)
        add_order(session, corp.corp_id, buyer, now - timedelta(days=6), "30.00", status="completed", category="水果",
                  store_id=store1, refund_amount="10.00")
        add_order(session, corp.corp_id, buyer, now - timedelta(days=4), "200.00", status="refunded",
                  platform="jd", category="礼盒", store_id=store2, refund_amount="200.00")
        add_order(session, corp.corp_id, buyer, now - timedelta(days=2), "70.00", status="cancelled", platform="jd",
                  category="礼盒", store_id=store2)
        # when the order service marks the customer changed
        mark_customers_changed(session, corp.corp_id, [buyer])
    # then
    with database.session() as session:
        trait = _trait(session, buyer)
        assert (trait.order_count, trait.total_spend, trait.average_spend, trait.refund_total) == (
            3, Decimal("170.00"), Decimal("56.67"), Decimal("210.00"))
        assert (trait.first_order_at, trait.last_order_at) == (now - timedelta(days=10), now - timedelta(days=6))
        assert (trait.favourite_category, trait.favourite_store_id) == ("水果", store1)
        assert trait.channels == ["pos", "taobao"]
        assert trait.lifecycle_stage == "new"
        assert (trait.recency_score, trait.frequency_score, trait.monetary_score, trait.rfm_class) == (
            None, None, None, None)
        assert trait.updated_at == now


def test_refund_and_cancel_update_the_aggregates(database, clock):
    # given a customer with two paid orders and traits
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        buyer = add_customer(session, corp.corp_id)
        first = add_order(session, corp.corp_id, buyer, now - timedelta(days=3), "40.00", platform="pos")
        second = add_order(session, corp.corp_id, buyer, now - timedelta(days=1), "60.00", platform="youzan")
        mark_customers_changed(session, corp.corp_id, [buyer])
        assert (_trait(session, buyer).order_count, _trait(session, buyer).total_spend) == (2, Decimal("100.00"))
    # when the second order is fully refunded and the first partly
    clock.advance(timedelta(hours=1))
    with database.session() as session:
        refunded = session.get(Order, second.id)
        refunded.status, refunded.refund_amount = "refunded", Decimal("60.00")
        partial = session.get(Order, first.id)
        partial.refund_amount = Decimal("15.50")
        mark_customers_changed(session, corp.corp_id, [buyer])
    # then only the first counts, net of its partial refund
    with database.session() as session:
        trait = _trait(session, buyer)
        assert (trait.order_count, trait.total_spend, trait.average_spend, trait.refund_total) == (
            1, Decimal("24.50"), Decimal("24.50"), Decimal("75.50"))
        assert trait.last_order_at == now - timedelta(days=3)
        assert trait.channels == ["pos"]
        assert trait.updated_at == now + timedelta(hours=1)
    # when the remaining order is cancelled
    with database.session() as session:
        cancelled = session.get(Order, first.id)
        cancelled.status = "cancelled"
        mark_customers_changed(session, corp.corp_id, [buyer])
    # then the customer is a prospect again, with nothing bought
    with database.session() as session:
        trait = _trait(session, buyer)
        assert (trait.order_count, trait.total_spend, trait.average_spend, trait.first_order_at,
                trait.last_order_at, trait.favourite_category, trait.channels, trait.lifecycle_stage) == (
            0, Decimal("0.00"), Decimal("0.00"), None, None, None, [], "prospect")


def test_favourite_ties_go_to_the_smallest_value(database, clock):
    # given two categories and two stores bought equally often, and a more frequent third category
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        store1, store2 = corp.store_ids
        tied = add_customer(session, corp.corp_id)
        for category, store in (("苹果", store2), ("草莓", store1), ("苹果", store1), ("草莓", store2)):
            add_order(session, corp.corp_id, tied, now - timedelta(days=1), "10.00", category=category, store_id=store)
        clear = add_customer(session, corp.corp_id)
        for category in ("梨", "梨", "橙", None, None, None):
            add_order(session, corp.corp_id, clear, now - timedelta(days=1), "10.00", category=category,
                      store_id=store2)
        # a refunded order does not vote
        add_order(session, corp.corp_id, clear, now, "10.00", status="refunded", category="橙", store_id=store1,
                  refund_amount="10.00")
        add_order(session, corp.corp_id, clear, now, "10.00", status="refunded", category="橙", store_id=store1,
                  refund_amount="10.00")
        # when
        mark_customers_changed(session, corp.corp_id, [tied, clear])
    # then
    with database.session() as session:
        assert (_trait(session, tied).favourite_category, _trait(session, tied).favourite_store_id) == (
            min("苹果", "草莓"), min(store1, store2))
        assert (_trait(session, clear).favourite_category, _trait(session, clear).favourite_store_id) == (
            "梨", store2)


def test_customers_without_orders_merged_customers_and_other_corps(database, clock):
    # given a prospect, a customer merged into a buyer, and a customer of another corp
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session, "a")
        other = make_trait_corp(session, "b")
        prospect = add_customer(session, corp.corp_id)
        survivor = add_customer(session, corp.corp_id)
        merged = add_customer(session, corp.corp_id)
        stranger = add_customer(session, other.corp_id)
        add_order(session, corp.corp_id, merged, now - timedelta(days=2), "10.00")
        add_order(session, other.corp_id, stranger, now - timedelta(days=2), "10.00")
        mark_customers_changed(session, corp.corp_id, [merged])
        assert _trait(session, merged).order_count == 1
        # when the merge moves the order to the survivor and marks both
        session.get(Customer, merged).merged_into_id = survivor
        for order in session.scalars(select(Order).where(Order.customer_id == merged)):
            order.customer_id = survivor
        mark_customers_changed(session, corp.corp_id, [prospect, merged, survivor, stranger, None])
    # then
    with database.session() as session:
        assert _trait(session, prospect).lifecycle_stage == "prospect"
        assert _trait(session, prospect).order_count == 0
        assert _trait(session, survivor).order_count == 1
        assert _trait(session, merged) is None
        assert _trait(session, stranger) is None
        # and no rule-tag job (the corp has no rule tags), only the daily refresh scheduled
        assert session.scalars(select(Job.name)).all() == ["traits.schedule"]


def test_recompute_corp_covers_every_customer_in_one_statement(database, clock):
    # given two buyers and a prospect without traits yet
    now = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        ids = [add_customer(session, corp.corp_id) for _ in range(3)]
        add_order(session, corp.corp_id, ids[0], now - timedelta(days=40), "12.34", platform="douyin")
        add_order(session, corp.corp_id, ids[1], now - timedelta(days=400), "5.00")
        # when
        recompute_corp(session, corp.corp_id)
    # then
    with database.session() as session:
        rows = {t.customer_id: (t.order_count, t.total_spend, t.lifecycle_stage, t.channels)
                for t in session.scalars(select(CustomerTrait))}
        assert rows == {
            ids[0]: (1, Decimal("12.34"), "active", ["douyin"]),
            ids[1]: (1, Decimal("5.00"), "lost", ["pos"]),
            ids[2]: (0, Decimal("0.00"), "prospect", []),
        }


def test_unchanged_traits_are_not_rewritten(database, clock):
    # given a buyer whose traits were computed an hour ago
    start = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        buyer = add_customer(session, corp.corp_id)
        add_order(session, corp.corp_id, buyer, start - timedelta(days=3), "40.00")
        mark_customers_changed(session, corp.corp_id, [buyer])
    clock.advance(timedelta(hours=1))
    # when they are marked again without any change, and then after a new order
    with database.session() as session:
        mark_customers_changed(session, corp.corp_id, [buyer])
        unchanged = _trait(session, buyer).updated_at
        add_order(session, corp.corp_id, buyer, clock.now(), "10.00")
        mark_customers_changed(session, corp.corp_id, [buyer])
        changed = _trait(session, buyer).updated_at
    # then only the change touched the row
    assert (unchanged, changed) == (start, start + timedelta(hours=1))


def test_concurrent_orders_of_one_customer_both_count(database, clock):
    # given a buyer, and a first transaction that added an order and marked them, not yet committed
    import threading

    with database.session() as session:
        corp = make_trait_corp(session)
        buyer = add_customer(session, corp.corp_id)
    first = database.session_factory()
    add_order(first, corp.corp_id, buyer, clock.now(), "10.00")
    mark_customers_changed(first, corp.corp_id, [buyer])

    # when a second transaction adds another order and marks the same buyer meanwhile
    def second() -> None:
        with database.session(immediate=True) as session:
            add_order(session, corp.corp_id, buyer, clock.now(), "20.00")
            mark_customers_changed(session, corp.corp_id, [buyer])

    worker = threading.Thread(target=second)
    worker.start()
    worker.join(timeout=0.5)
    # then it waits for the first (row lock on PostgreSQL, the write lock on SQLite) …
    assert worker.is_alive()
    first.commit()
    first.close()
    worker.join(timeout=30)
    # … and its traits count both orders
    with database.session() as session:
        trait = _trait(session, buyer)
        assert (trait.order_count, trait.total_spend) == (2, Decimal("30.00"))
