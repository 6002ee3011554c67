"""Simulation: a draft run over a simulated horizon against today's customers — counts per node,
messages per day, what the contact policy would block or defer — and no side effect at all."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.journey.simulation import simulate
from siyu.models import Customer, CustomerTag, JourneyEnrolment, JourneyStep, OutboxMessage
from siyu.models.policy import Touch
from tests.journey.test_engine import _tag


def _counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Touch, OutboxMessage, JourneyStep, JourneyEnrolment, CustomerTag))


def test_simulation_reports_nodes_days_and_policy_without_side_effects(database, clock, corp):
    tag_id = _tag(database, corp)
    definition = {"trigger": {"type": "manual"}, "nodes": [
        {"id": "tag", "type": "add_tag", "tag_id": tag_id, "next": "hello"},
        {"id": "hello", "type": "send_message", "text": "你好", "next": "wait"},
        {"id": "wait", "type": "wait", "duration": {"days": 2}, "next": "again"},
        {"id": "again", "type": "send_message", "text": "再次问候", "next": "third"},
        {"id": "third", "type": "send_message", "text": "第三次", "next": "long"},
        {"id": "long", "type": "wait", "duration": {"days": 60}, "next": "end"},
        {"id": "end", "type": "exit"}]}
    with database.session() as session:
        before = _counts(session)
        report = simulate(session, corp.corp_id, definition, start=clock.now(), days=14).to_dict()
        after = _counts(session)
    served, walk_ins = 6, 2
    assert report["audience"] == served + walk_ins
    assert report["reached"] == {"tag": 8, "hello": 8, "wait": 8, "again": 8, "third": 8, "long": 0, "end": 0}
    assert report["waiting"] == {"tag": 0, "hello": 0, "wait": 0, "again": 0, "third": 0, "long": 8, "end": 0}
    # day 1 (Monday 5 January, Shanghai): the first send; day 3: the second, and the third over the
    # weekly marketing cap of two is deferred to Monday 12 January, 08:00 (after quiet hours)
    assert report["messages"]["2026-01-05"] == {"sent": served, "blocked": walk_ins}
    assert report["messages"]["2026-01-07"] == {"sent": served, "blocked": walk_ins * 2, "deferred": served}
    assert report["messages"]["2026-01-12"] == {"sent": served}
    assert report["totals"] == {"sent": served * 3, "blocked": walk_ins * 3, "deferred": served}
    assert before == after == (0, 0, 0, 0, 0)


def test_simulated_birthdays_enter_on_their_trigger_day(database, clock, corp):
    with database.session() as session:
        session.get(Customer, corp.customer_ids[0]).birthday = datetime(1990, 1, 10, tzinfo=UTC)
        session.get(Customer, corp.customer_ids[1]).birthday = datetime(1990, 3, 1, tzinfo=UTC)
    definition = {"trigger": {"type": "date_trait", "trait": "birthday", "days_before": 3, "at": "10:00"},
                  "nodes": [{"id": "greet", "type": "send_message", "text": "生日快乐"}]}
    with database.session() as session:
        report = simulate(session, corp.corp_id, definition, start=clock.now(), days=30).to_dict()
    assert report["audience"] == 1
    assert {day: value for day, value in report["messages"].items() if value} == {"2026-01-07": {"sent": 1}}


def test_simulating_an_invalid_definition_names_the_node(database, clock, corp):
    import pytest

    from siyu.journey.definition import JourneyInvalid

    with database.session() as session, pytest.raises(JourneyInvalid) as raised:
        simulate(session, corp.corp_id, {"trigger": {"type": "manual"},
                                         "nodes": [{"id": "w", "type": "wait", "duration": {"weeks": 1}}]},
                 start=clock.now())
    assert [p.to_dict("en") for p in raised.value.problems] == [
        {"node": "w", "field": "duration", "code": "duration",
         "message": 'Node w, field duration: must be a duration such as "days": 1 or "hours": 2 '
                    '(units: days, hours, minutes, seconds).'}]
