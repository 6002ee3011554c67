"""Triggers: each enrols the customers its source saw after the journey went live — and only them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.models import Customer, Event, JourneyEnrolment, Order, Relation, TagHistory
from tests.journey.test_engine import _tag

EXIT = [{"id": "end", "type": "wait", "duration": {"days": 30}}]


def _enrolled(database, journey_id) -> list[tuple[int, str]]:
    with database.session() as session:
        return sorted(session.execute(select(JourneyEnrolment.customer_id, JourneyEnrolment.source).where(
            JourneyEnrolment.journey_id == journey_id)).all())


def test_channel_code_trigger_enrols_customers_added_through_its_state(database, clock, corp, runner, live_journey):
    old, new, other = corp.customer_ids[:3]
    staff = corp.staff_ids[1]
    with database.session() as session:
        session.add(Relation(corp_id=corp.corp_id, staff_id=corp.staff_ids[2], customer_id=old, state="store-qr",
                             added_at=clock.now()))
    journey_id = live_journey(EXIT, trigger={"type": "channel_code", "state": "store-qr"})
    with database.session() as session:
        session.add(Relation(corp_id=corp.corp_id, staff_id=staff, customer_id=new, state="store-qr",
                             added_at=clock.now()))
        session.add(Relation(corp_id=corp.corp_id, staff_id=corp.staff_ids[0], customer_id=other, state="poster",
                             added_at=clock.now()))
    runner.run_until_idle()
    # only the customer added through the code after publishing; not the earlier one nor another code's
    assert _enrolled(database, journey_id) == [(new, "channel_code")]


def test_channel_code_trigger_by_id_reads_the_codes_state(database, clock, corp, runner, live_journey):
    from siyu.models.acquisition import ChannelCode

    columns = {c.name for c in ChannelCode.__table__.columns}
    with database.session() as session:
        values = dict(corp_id=corp.corp_id, name="门店码", state="door-1")
        if "config_id" in columns:
            values["config_id"] = "cfg-door-1"
        code = ChannelCode(**values)
        session.add(code)
        session.flush()
        code_id = code.id
    journey_id = live_journey(EXIT, trigger={"type": "channel_code", "channel_code_id": code_id})
    customer = corp.customer_ids[4]
    with database.session() as session:
        session.add(Relation(corp_id=corp.corp_id, staff_id=corp.staff_ids[0], customer_id=customer, state="door-1",
                             added_at=clock.now()))
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(customer, "channel_code")]


def test_event_trigger_and_its_condition(database, clock, corp, runner, live_journey):
    journey_id = live_journey(EXIT, trigger={"type": "event", "name": "Product Viewed"})
    a, b = corp.customer_ids[:2]
    with database.session() as session:
        for n, (customer, name) in enumerate(((a, "Product Viewed"), (b, "Signed Up"), (a, "Product Viewed"))):
            session.add(Event(corp_id=corp.corp_id, customer_id=customer, message_id=f"m{n}", type="track", name=name,
                              properties={}, traits={}, context={}, timestamp=clock.now(), received_at=clock.now()))
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(a, "event")]


def test_order_placed_trigger_with_a_minimum_amount(database, clock, corp, runner, live_journey):
    journey_id = live_journey(EXIT, trigger={"type": "order_placed", "min_amount": "100"})
    small, large = corp.customer_ids[:2]
    with database.session() as session:
        for customer, amount, number in ((small, "99.99", "t-1"), (large, "100.00", "t-2")):
            session.add(Order(corp_id=corp.corp_id, customer_id=customer, platform="pos", shop="s", order_no=number,
                              amount=Decimal(amount), paid_at=clock.now()))
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(large, "order")]
    with database.session() as session:
        context = session.scalars(select(JourneyEnrolment.context)).one()
    assert context["ref"] == "t-2"


def test_tag_added_trigger(database, clock, corp, runner, live_journey):
    tag_id, other_tag = _tag(database, corp, "高意向"), _tag(database, corp, "其他")
    journey_id = live_journey(EXIT, trigger={"type": "tag_added", "tag_id": tag_id})
    a, b, c = corp.customer_ids[:3]
    with database.session() as session:
        for customer, tag, action in ((a, tag_id, "add"), (b, other_tag, "add"), (c, tag_id, "remove")):
            session.add(TagHistory(corp_id=corp.corp_id, customer_id=customer, tag_id=tag, action=action,
                                   source="manual", at=clock.now()))
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(a, "tag")]


def test_birthday_trigger_fires_once_a_day_at_its_local_time(database, clock, corp, runner, live_journey):
    # given customers born on 8 January and 9 January, and a trigger 3 days before at 10:00 Shanghai
    jan8, jan9 = corp.customer_ids[:2]
    with database.session() as session:
        session.get(Customer, jan8).birthday = datetime(1990, 1, 8, tzinfo=UTC)
        session.get(Customer, jan9).birthday = datetime(1992, 1, 9, tzinfo=UTC)
    clock.set(datetime(2026, 1, 5, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    journey_id = live_journey(EXIT, trigger={"type": "date_trait", "trait": "birthday", "days_before": 3,
                                             "at": "10:00"}, reentry={"mode": "after_exit"})
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == []
    clock.set(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))  # 10:00
    runner.run_until_idle()
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(jan8, "date")]
    clock.advance(timedelta(days=1))
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(jan8, "date"), (jan9, "date")]


def test_points_expiring_trigger(database, clock, corp, runner, live_journey):
    from siyu.loyalty import members, points

    expiring, later = corp.customer_ids[:2]
    with database.session() as session:
        members.enrol(session, corp.corp_id, [expiring, later], now=clock.now())
        points.earn(session, corp.corp_id, expiring, 500, source_kind="manual", idempotency_key="p1",
                    now=clock.now() - timedelta(days=363))
        points.earn(session, corp.corp_id, later, 500, source_kind="manual", idempotency_key="p2",
                    now=clock.now() - timedelta(days=200))
    clock.set(datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    journey_id = live_journey(EXIT, trigger={"type": "date_trait", "trait": "points_expiring", "days_before": 7})
    runner.run_until_idle()
    assert _enrolled(database, journey_id) == [(expiring, "date")]


def test_segment_entered_trigger(database, clock, corp, runner, live_journey):
    from siyu.models.segment import Segment, SegmentChange

    with database.session() as session:
        segment = Segment(corp_id=corp.corp_id, name="高价值", kind="static")
        session.add(segment)
        session.flush()
        segment_id = segment.id
        session.add(SegmentChange(corp_id=corp.corp_id, segment_id=segment_id, customer_id=corp.customer_ids[0],
                                  change="entered", at=clock.now()))
    entered = live_journey(EXIT, trigger={"type": "segment_entered", "segment_id": segment_id})
    left = live_journey(EXIT, trigger={"type": "segment_left", "segment_id": segment_id})
    a, b = corp.customer_ids[1:3]
    with database.session() as session:
        session.add(SegmentChange(corp_id=corp.corp_id, segment_id=segment_id, customer_id=a, change="entered",
                                  at=clock.now()))
        session.add(SegmentChange(corp_id=corp.corp_id, segment_id=segment_id, customer_id=b, change="exited",
                                  at=clock.now()))
    runner.run_until_idle()
    assert _enrolled(database, entered) == [(a, "segment")]
    assert _enrolled(database, left) == [(b, "segment")]


def test_manual_enrolment_refuses_another_corps_customer(database, clock, brand, corp, live_journey, enrol):
    import pytest

    from siyu.kit.errors import NotFound

    journey_id = live_journey(EXIT)
    with pytest.raises(NotFound):
        enrol(journey_id, [corp.customer_ids[0], brand[1].customer_ids[0]])
    assert _enrolled(database, journey_id) == []
    assert enrol(journey_id, [corp.customer_ids[0]]) == [corp.customer_ids[0]]
