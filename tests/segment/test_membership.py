"""Maintained membership: the first fill, incremental ticks from the dirty set, full re-evaluation,
the change log, merges, deleted relations, the event rollup, the refresh job and static segments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from siyu.kit.jobs import Worker
from siyu.kit.tenancy import Principal
from siyu.models import Customer, Event, Job, Order, Relation, RelationStatus
from siyu.models.segment import CustomerEventDay, SegmentChange, SegmentMembership
from siyu.models.user import Role
from siyu.segment import changes_after, members_select, membership, service
from siyu.segment.tasks import REFRESH
from tests.segment.conftest import NOW, local_date


def _admin(population) -> Principal:
    return Principal(user_id=population.brand.users["admin"], corp_id=population.corp_id, role=Role.admin)


def _create(database, clock, population, condition, name="seg"):
    with database.session() as session:
        segment = service.create(session, _admin(population), clock, name=name, description=None, kind="dynamic",
                                 definition={"version": 1, "condition": condition})
        return segment.id


def _members(database, population, segment_id) -> set[str]:
    with database.session() as session:
        return population.labels(session.scalars(members_select(session, population.corp_id, segment_id)))


def _changes(database, population) -> list[tuple[str, str]]:
    with database.session() as session:
        return [(population.labels([c.customer_id]).pop(), c.change)
                for c in changes_after(session, population.corp_id, 0)]


def _tick(database, population, clock, seconds=61):
    # more than the overlap, so a tick sees only what changed since the one before
    clock.advance(seconds)
    with database.session() as session:
        return membership.refresh_corp(session, population.corp_id, clock.now())


BIG_SPENDERS = {"order": {"metric": "sum", "op": ">=", "value": 300, "within": "30d"}}


def test_a_new_segment_is_filled_and_every_entry_is_logged(database, clock, population):
    # when a dynamic segment is created
    segment_id = _create(database, clock, population, {"tag": {"any": [population.tags["T1"]]}})

    # then its members are the matching customers, each logged once as entered, in customer order
    assert _members(database, population, segment_id) == {"c0", "c2"}
    assert _changes(database, population) == [("c0", "entered"), ("c2", "entered")]


def test_a_tick_moves_the_customers_whose_orders_changed(database, clock, population):
    # given the segment of big spenders this month: c3 alone
    segment_id = _create(database, clock, population, BIG_SPENDERS)
    _tick(database, population, clock)  # the first tick of the corp sets the watermark
    assert _members(database, population, segment_id) == {"c3"}

    # when c4 places a 400 order and c3's 300 order is refunded
    with database.session() as session:
        session.add(Order(corp_id=population.corp_id, customer_id=population.ids["c4"], platform="pos", shop="t",
                          order_no="new-400", amount=Decimal("400.00"), paid_at=clock.now(), category="水果"))
        session.execute(update(Order).where(Order.order_no == "x3")
                        .values(status="refunded", updated_at=clock.now()))
    results = _tick(database, population, clock)

    # then the next tick, incremental over the dirty set, swaps them, and logs both changes
    assert [(r.full, r.evaluated, r.entered, r.exited) for r in results] == [(False, 2, 1, 1)]
    assert _members(database, population, segment_id) == {"c4"}
    assert _changes(database, population)[-2:] == [("c4", "entered"), ("c3", "exited")]


def test_an_unchanged_customer_is_not_re_evaluated_until_the_full_run(database, clock, population):
    # given the big spenders segment after its first ticks
    segment_id = _create(database, clock, population, BIG_SPENDERS)
    _tick(database, population, clock)
    # and an order slipped in with an old updated_at (no watermark sees it)
    with database.session() as session:
        order = Order(corp_id=population.corp_id, customer_id=population.ids["c5"], platform="pos", shop="t",
                      order_no="stealth", amount=Decimal("900.00"), paid_at=clock.now(), category="水果")
        session.add(order)
        session.flush()
        session.execute(update(Order).where(Order.id == order.id).values(updated_at=NOW - timedelta(days=9)))

    # when a tick runs, then c5 is not looked at; when the full run is due, c5 enters
    _tick(database, population, clock)
    assert _members(database, population, segment_id) == {"c3"}
    results = _tick(database, population, clock, seconds=membership.TIME_SENSITIVE_EVERY.total_seconds())
    assert [r.full for r in results] == [True]
    assert _members(database, population, segment_id) == {"c3", "c5"}


def test_a_merged_customer_leaves_and_a_deleted_relation_ends_service(database, clock, population):
    # given "served by store 1" (c0..c3) and "tag T1" (c0, c2)
    store = _create(database, clock, population, {"relation": {"department": population.brand.store_ids[0]}})
    tagged = _create(database, clock, population, {"tag": {"any": [population.tags["T1"]]}}, name="t1")
    _tick(database, population, clock)

    # when c2 is merged into c0 and c1 deletes their staff member
    with database.session() as session:
        session.execute(update(Customer).where(Customer.id == population.ids["c2"])
                        .values(merged_into_id=population.ids["c0"], updated_at=clock.now()))
        session.execute(update(Relation).where(Relation.customer_id == population.ids["c1"])
                        .values(status=RelationStatus.deleted_by_customer, updated_at=clock.now()))
    _tick(database, population, clock)

    # then c2 is in neither segment any more, and c1 is no longer served by the store
    assert _members(database, population, store) == {"c0", "c3"}
    assert _members(database, population, tagged) == {"c0"}
    with database.session() as session:
        stays = session.execute(select(SegmentMembership.customer_id, SegmentMembership.exited_at)
                                .where(SegmentMembership.segment_id == store)
                                .order_by(SegmentMembership.customer_id)).all()
    assert [(population.labels([c]).pop(), at is not None) for c, at in stays] == [
        ("c0", False), ("c1", True), ("c2", True), ("c3", False)]


def test_new_events_reach_the_rollup_and_the_segment_on_the_next_tick(database, clock, population):
    # given "added to cart twice this week" (nobody: c2 once)
    segment_id = _create(database, clock, population,
                         {"event": {"name": "add_to_cart", "within": "7d", "count": {"op": ">=", "value": 2}}})
    _tick(database, population, clock)
    assert _members(database, population, segment_id) == set()

    # when c2 adds to cart again
    with database.session() as session:
        session.add(Event(corp_id=population.corp_id, customer_id=population.ids["c2"], message_id="again",
                          type="track", name="add_to_cart", properties={}, timestamp=clock.now(),
                          received_at=clock.now()))
    _tick(database, population, clock)

    # then the rollup counts two for today, and c2 entered
    assert _members(database, population, segment_id) == {"c2"}
    with database.session() as session:
        rows = session.execute(select(CustomerEventDay.day, CustomerEventDay.count).where(
            CustomerEventDay.customer_id == population.ids["c2"], CustomerEventDay.name == "add_to_cart")).all()
    assert rows == [(local_date(0), 2)]


def test_the_refresh_job_ticks_and_queues_the_next_tick(database, clock, population):
    # given a segment (its creation queued the corp's first tick) and a new big order for c4
    segment_id = _create(database, clock, population, BIG_SPENDERS)
    with database.session() as session:
        session.add(Order(corp_id=population.corp_id, customer_id=population.ids["c4"], platform="pos", shop="t",
                          order_no="job-400", amount=Decimal("400.00"), paid_at=clock.now(), category="水果"))

    # when a worker runs the due jobs
    worker = Worker(database, clock=clock)
    worker.run_once()

    # then the tick ran (c4 entered) and exactly one next tick is queued three seconds later
    assert _members(database, population, segment_id) == {"c3", "c4"}
    with database.session() as session:
        jobs = session.execute(select(Job.status, Job.due_at).where(Job.name == REFRESH).order_by(Job.id)).all()
    assert [(str(status), due - NOW) for status, due in jobs] == [
        ("done", timedelta(0)), ("queued", timedelta(seconds=3))]


def test_a_snapshot_freezes_the_members(database, clock, population):
    # given the T1 segment and its snapshot
    segment_id = _create(database, clock, population, {"tag": {"any": [population.tags["T1"]]}})
    with database.session() as session:
        frozen = service.snapshot(session, _admin(population), clock, segment_id, "T1 冻结").id

    # when c2 is merged away and a tick runs
    with database.session() as session:
        session.execute(update(Customer).where(Customer.id == population.ids["c0"])
                        .values(updated_at=clock.now()))
    _tick(database, population, clock)

    # then the snapshot is static and keeps its members
    assert _members(database, population, frozen) == {"c0", "c2"}
    with database.session() as session:
        kinds = session.scalars(select(SegmentChange.change).where(SegmentChange.segment_id == frozen)).all()
    assert kinds == ["entered", "entered"]
