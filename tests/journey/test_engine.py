"""The engine: waits fire on time, actions run once per (enrolment, node), branches and splits,
re-entry rules, goals, versions and pause."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from siyu.journey import engine, service
from siyu.models import Customer, CustomerTag, CustomerTrait, JourneyEnrolment, JourneyStep, Tag, TagGroup, TagHistory
from tests.journey.conftest import admin


def _tag(database, corp, name="旅程标签") -> int:
    with database.session() as session:
        group = TagGroup(corp_id=corp.corp_id, name="旅程")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=corp.corp_id, group_id=group.id, name=name)
        session.add(tag)
        session.flush()
        return tag.id


def _enrolments(database, journey_id):
    with database.session() as session:
        return {e.customer_id: e for e in session.scalars(select(JourneyEnrolment).where(
            JourneyEnrolment.journey_id == journey_id))}


def _steps(database, journey_id):
    with database.session() as session:
        return sorted((s.enrolment_id, s.node, s.outcome, s.branch) for s in session.scalars(
            select(JourneyStep).where(JourneyStep.journey_id == journey_id)))


def test_a_wait_holds_the_enrolment_until_its_due_time_then_the_tag_goes_on_once(database, clock, corp, runner,
                                                                                  live_journey, enrol):
    # given a journey: wait one day, then tag
    tag_id = _tag(database, corp)
    journey_id = live_journey([{"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "tag"},
                               {"id": "tag", "type": "add_tag", "tag_id": tag_id}])
    customers = corp.customer_ids[:3]
    assert enrol(journey_id, customers) == customers
    # when the runner runs before the day is over
    clock.advance(timedelta(hours=23, minutes=59))
    runner.run_until_idle()
    # then nobody is tagged and everyone waits at the wait node
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(CustomerTag)) == 0
    assert {e.node for e in _enrolments(database, journey_id).values()} == {"wait"}
    # when the day is over
    clock.advance(timedelta(minutes=1))
    runner.run_until_idle()
    runner.run_until_idle()
    # then each customer carries the tag once, with one history row, and the enrolments completed
    with database.session() as session:
        tagged = sorted(session.scalars(select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag_id)))
        history = session.scalar(select(func.count()).select_from(TagHistory).where(TagHistory.source == "journey"))
    assert tagged == sorted(customers)
    assert history == 3
    assert {(e.status, e.node) for e in _enrolments(database, journey_id).values()} == {("completed", "tag")}
    assert sorted(s[1:] for s in _steps(database, journey_id)) == [("tag", "passed", None)] * 3 + [("wait", "passed", None)] * 3


def test_a_logged_step_is_not_executed_again(database, clock, corp, runner, live_journey, enrol):
    # given an enrolment whose tag step is already in the step log (an earlier run did it)
    tag_id = _tag(database, corp)
    journey_id = live_journey([{"id": "tag", "type": "add_tag", "tag_id": tag_id}])
    customer = corp.customer_ids[0]
    enrol(journey_id, [customer])
    with database.session() as session:
        enrolment = session.scalars(select(JourneyEnrolment)).one()
        session.add(JourneyStep(corp_id=corp.corp_id, journey_id=journey_id, enrolment_id=enrolment.id, node="tag",
                                outcome="passed", detail={}, executed_at=clock.now()))
    # when the engine reaches the node
    runner.run_until_idle()
    # then the enrolment moves on but the tag is not put on a second time (nor once: the log says done)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(CustomerTag)) == 0
        assert session.scalar(select(func.count()).select_from(JourneyStep)) == 1
        assert session.scalars(select(JourneyEnrolment.status)).one() == "completed"


def test_wait_until_a_local_time_on_allowed_weekdays(database, clock, corp, runner, live_journey, enrol):
    # given Monday 2026-01-05 09:00 UTC (17:00 in Shanghai) and a wait until 10:00 on Wednesdays
    journey_id = live_journey([{"id": "wed", "type": "wait_until", "time": "10:00", "weekdays": [3], "next": "end"},
                               {"id": "end", "type": "exit"}])
    enrol(journey_id, corp.customer_ids[:1])
    # then it is due Wednesday 10:00 Shanghai = 02:00 UTC
    enrolment = next(iter(_enrolments(database, journey_id).values()))
    assert enrolment.due_at.isoformat() == "2026-01-07T02:00:00+00:00"
    clock.set(enrolment.due_at)
    runner.run_until_idle()
    assert next(iter(_enrolments(database, journey_id).values())).status == "exited"


def test_split_is_stable_per_customer_and_honours_weights(database, clock, corp, runner, live_journey, enrol):
    # given a 50/50 split with a holdout of 0 ending in exits
    journey_id = live_journey([
        {"id": "ab", "type": "split", "branches": [{"key": "A", "weight": 50, "next": "a"},
                                                   {"key": "B", "weight": 50, "next": "b"}]},
        {"id": "a", "type": "exit"}, {"id": "b", "type": "exit"}])
    enrol(journey_id, corp.customer_ids)
    runner.run_until_idle()
    with database.session() as session:
        taken = dict(session.execute(select(JourneyEnrolment.customer_id, JourneyStep.branch)
                                     .join(JourneyStep, JourneyStep.enrolment_id == JourneyEnrolment.id)
                                     .where(JourneyStep.node == "ab")).all())
    # then each customer took the branch their bucket gives, every time
    from siyu.journey.nodes import split_bucket

    assert taken == {c: ("A" if split_bucket(journey_id, "ab", c) < 50 else "B") for c in corp.customer_ids}


def test_reentry_once_refuses_a_second_entry_and_after_exit_allows_it(database, clock, corp, runner, live_journey,
                                                                     enrol):
    once = live_journey([{"id": "end", "type": "exit"}], reentry={"mode": "once"})
    again = live_journey([{"id": "end", "type": "exit"}], reentry={"mode": "after_exit"})
    customer = corp.customer_ids[0]
    for journey_id in (once, again):
        assert enrol(journey_id, [customer]) == [customer]
        # while inside, a second entry is refused for both
        assert enrol(journey_id, [customer]) == []
    runner.run_until_idle()
    # after the exit: once-only refuses, after_exit admits
    assert enrol(once, [customer]) == []
    assert enrol(again, [customer]) == [customer]


def test_update_trait_and_remove_tag(database, clock, corp, runner, live_journey, enrol):
    tag_id = _tag(database, corp)
    customer = corp.customer_ids[0]
    with database.session() as session:
        session.add(CustomerTag(corp_id=corp.corp_id, customer_id=customer, tag_id=tag_id, source="manual",
                                tagged_at=clock.now()))
    journey_id = live_journey([
        {"id": "city", "type": "update_trait", "trait": "city", "value": "杭州", "next": "category"},
        {"id": "category", "type": "update_trait", "trait": "favourite_category", "value": "茶饮", "next": "untag"},
        {"id": "untag", "type": "remove_tag", "tag_id": tag_id}])
    enrol(journey_id, [customer])
    runner.run_until_idle()
    with database.session() as session:
        assert session.get(Customer, customer).city == "杭州"
        assert session.get(CustomerTrait, customer).favourite_category == "茶饮"
        assert session.scalar(select(func.count()).select_from(CustomerTag)) == 0
        assert session.scalars(select(TagHistory.action)).all() == ["remove"]


def test_goal_window_converts_and_exits(database, clock, corp, runner, live_journey, enrol):
    from decimal import Decimal

    from siyu.models import Order

    journey_id = live_journey([{"id": "wait", "type": "wait", "duration": {"days": 7}}],
                              goal={"type": "order_placed", "within_days": 14, "exit": True},
                              reentry={"mode": "after_exit"})
    buyer, other = corp.customer_ids[:2]
    enrol(journey_id, [buyer, other])
    clock.advance(timedelta(days=1))
    with database.session() as session:
        session.add(Order(corp_id=corp.corp_id, customer_id=buyer, platform="pos", shop="x", order_no="goal-1",
                          amount=Decimal("10"), paid_at=clock.now()))
    runner.run_until_idle()
    found = _enrolments(database, journey_id)
    assert (found[buyer].status, found[buyer].exit_reason, found[buyer].converted_at) == (
        "converted", "goal", clock.now())
    assert (found[other].status, found[other].converted_at) == ("active", None)


def test_a_new_version_leaves_running_enrolments_on_theirs_until_migrated(database, clock, corp, runner,
                                                                         live_journey, enrol):
    journey_id = live_journey([{"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "old"},
                               {"id": "old", "type": "exit"}])
    enrol(journey_id, corp.customer_ids[:2])
    with database.session() as session:
        service.update(session, admin(corp), clock, journey_id, definition={
            "trigger": {"type": "manual"}, "nodes": [
                {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "new"},
                {"id": "new", "type": "goal"}]})
        version = service.publish(session, admin(corp), clock, journey_id)
    assert version.version == 2
    enrol(journey_id, corp.customer_ids[2:3])
    by_customer = _enrolments(database, journey_id)
    with database.session() as session:
        moved = service.migrate(session, admin(corp), clock, journey_id, 1)
    assert moved == 2
    with database.session() as session:
        service.update(session, admin(corp), clock, journey_id, definition={
            "trigger": {"type": "manual"}, "nodes": [{"id": "other", "type": "exit"}]})
        service.publish(session, admin(corp), clock, journey_id)
    clock.advance(timedelta(hours=1))
    runner.run_until_idle()
    after = _enrolments(database, journey_id)
    # the two migrated to version 2 and the one that joined version 2 all reached its goal node
    assert {c: (e.status, e.converted_at is not None) for c, e in after.items()} == {
        c: ("completed", True) for c in by_customer}


def test_paused_journeys_do_not_advance(database, clock, corp, runner, live_journey, enrol):
    journey_id = live_journey([{"id": "end", "type": "exit"}])
    enrol(journey_id, corp.customer_ids[:1])
    with database.session() as session:
        service.set_paused(session, admin(corp), clock, journey_id, True)
    runner.run_until_idle()
    assert next(iter(_enrolments(database, journey_id).values())).status == "active"
    with database.session() as session:
        service.set_paused(session, admin(corp), clock, journey_id, False)
    runner.run_until_idle()
    assert next(iter(_enrolments(database, journey_id).values())).status == "exited"


def test_a_batch_carries_many_enrolments_through_several_nodes_in_one_claim(database, clock, corp, live_journey,
                                                                          enrol):
    tag_id = _tag(database, corp)
    journey_id = live_journey([{"id": "t", "type": "add_tag", "tag_id": tag_id, "next": "c"},
                               {"id": "c", "type": "update_trait", "trait": "city", "value": "上海", "next": "w"},
                               {"id": "w", "type": "wait", "duration": {"days": 1}}])
    enrol(journey_id, corp.customer_ids)
    with database.session() as session:
        result = engine.run_due(session, clock.now(), batch_size=1000)
    assert (result.claimed, result.executions) == (len(corp.customer_ids), 2 * len(corp.customer_ids))
    assert {e.node for e in _enrolments(database, journey_id).values()} == {"w"}


def test_enrolling_a_whole_audience_in_one_statement_honours_reentry(database, clock, corp, live_journey, enrol):
    from siyu.journey import repository
    from siyu.models import Journey

    journey_id = live_journey([{"id": "w", "type": "wait", "duration": {"days": 1}}])
    enrol(journey_id, corp.customer_ids[:1])
    with database.session() as session:
        journey = session.get(Journey, journey_id)
        version = repository.version(session, journey, 1)
        audience = select(Customer.id).where(Customer.corp_id == corp.corp_id)
        first = engine.enrol_select(session, journey, version, audience, source="api", now=clock.now())
        again = engine.enrol_select(session, journey, version, audience, source="api", now=clock.now())
    assert (first, again) == (len(corp.customer_ids) - 1, 0)
    assert sorted(_enrolments(database, journey_id)) == sorted(corp.customer_ids)
