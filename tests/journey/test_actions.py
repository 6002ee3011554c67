"""Action nodes through the domains they call: sends pass the contact policy and are recorded as
touches (and nothing is sent to whom the gate blocks), coupons, staff tasks, conditions, event waits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from siyu.journey import actions
from siyu.models import Event, JourneyEnrolment, JourneyStep, OutboxMessage
from siyu.models.policy import Touch
from tests.journey.test_engine import _tag


def _steps(database, journey_id):
    with database.session() as session:
        return sorted(session.execute(select(JourneyEnrolment.customer_id, JourneyStep.node, JourneyStep.outcome,
                                             JourneyStep.branch)
                                      .join(JourneyStep, JourneyStep.enrolment_id == JourneyEnrolment.id)
                                      .where(JourneyStep.journey_id == journey_id)).all())


def test_send_passes_the_gate_records_touches_and_defers_past_the_cap(database, clock, corp, runner, live_journey,
                                                                       enrol):
    # given three marketing sends in a row (the default cap is two a week) to a served customer and a
    # walk-in customer no staff member serves
    served, walk_in = corp.customer_ids[0], corp.customer_ids[-1]
    journey_id = live_journey([
        {"id": "s1", "type": "send_message", "text": "欢迎 {customer_name}", "next": "s2"},
        {"id": "s2", "type": "send_message", "text": "第二条", "next": "s3"},
        {"id": "s3", "type": "send_message", "text": "第三条"}])
    enrol(journey_id, [served, walk_in])
    runner.run_until_idle()
    # then the served customer got two touches and two outbox messages; the third waits for next week
    with database.session() as session:
        touches = session.execute(select(Touch.customer_id, Touch.dedupe_key, Touch.status)
                                  .order_by(Touch.id)).all()
        outbox = session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.operation,
                                        OutboxMessage.payload).order_by(OutboxMessage.id)).all()
        waiting = session.scalars(select(JourneyEnrolment).where(JourneyEnrolment.customer_id == served)).one()
    enrolment_id = waiting.id
    assert [(c, k, str(s.value)) for c, k, s in touches] == [
        (served, f"journey:{enrolment_id}:s1", "allowed"), (served, f"journey:{enrolment_id}:s2", "allowed")]
    assert [(k, op) for k, op, _ in outbox] == [(f"journey:{enrolment_id}:s1", "add_msg_template"),
                                                (f"journey:{enrolment_id}:s2", "add_msg_template")]
    assert outbox[0][2]["text"]["content"] == f"欢迎 {corp.slug}客户{corp.slug}-s1-0"
    assert outbox[0][2]["external_userid"] == [f"wm{corp.slug}{served}"]
    assert (waiting.node, waiting.status) == ("s3", "active")
    assert waiting.due_at > clock.now() + timedelta(days=5)
    # and the walk-in was blocked at every send, with nothing recorded or queued for them
    assert [s for s in _steps(database, journey_id) if s[0] == walk_in] == [
        (walk_in, "s1", "blocked", None), (walk_in, "s2", "blocked", None), (walk_in, "s3", "blocked", None)]
    # when next week comes, the third goes out
    clock.set(waiting.due_at)
    runner.run_until_idle()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
        assert session.scalar(select(func.count()).select_from(Touch)) == 3
        assert session.get(JourneyEnrolment, enrolment_id).status == "completed"


def test_send_as_a_staff_task_and_a_follow_up_task(database, clock, corp, runner, live_journey, enrol):
    from siyu.models.staff_task import StaffTask

    served = corp.customer_ids[0]
    journey_id = live_journey([
        {"id": "hand", "type": "send_message", "via": "staff_task", "text": "请手动发送新品介绍", "next": "call"},
        {"id": "call", "type": "staff_task", "title": "回访新客", "due_days": 2}])
    enrol(journey_id, [served])
    runner.run_until_idle()
    with database.session() as session:
        tasks = session.execute(select(StaffTask.staff_id, StaffTask.customer_id, StaffTask.kind, StaffTask.title,
                                       StaffTask.idempotency_key).order_by(StaffTask.id)).all()
        enrolment_id = session.scalars(select(JourneyEnrolment.id)).one()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert [(s, c, str(k.value), t, key) for s, c, k, t, key in tasks] == [
        (corp.staff_ids[0], served, "send_message", "请手动发送新品介绍", f"journey:{enrolment_id}:hand"),
        (corp.staff_ids[0], served, "follow_up", "回访新客", f"journey:{enrolment_id}:call")]


def test_issue_coupon_node(database, clock, corp, runner, live_journey, enrol):
    from siyu.loyalty import coupons
    from siyu.models.loyalty import Coupon, CouponKind

    with database.session() as session:
        template = coupons.create_template(session, corp.corp_id, coupons.TemplateDraft(
            name="生日券", kind=list(CouponKind)[0], value=Decimal("20"), valid_days=30), now=clock.now())
        template_id = template.id
    journey_id = live_journey([{"id": "coupon", "type": "issue_coupon", "coupon_template_id": template_id}])
    enrol(journey_id, corp.customer_ids[:2])
    runner.run_until_idle()
    with database.session() as session:
        issued = sorted(session.scalars(select(Coupon.customer_id).where(Coupon.template_id == template_id)))
    assert issued == corp.customer_ids[:2]


def test_a_node_whose_domain_is_missing_fails_visibly(database, clock, corp, runner, live_journey, enrol,
                                                     monkeypatch):
    monkeypatch.setitem(actions.CAPABILITIES, "invite_group", ("siyu.not_installed", "invite_to_group"))
    journey_id = live_journey([{"id": "invite", "type": "invite_group", "group_code_id": 1}])
    enrol(journey_id, corp.customer_ids[:1])
    runner.run_until_idle()
    with database.session() as session:
        step = session.scalars(select(JourneyStep)).one()
        enrolment = session.scalars(select(JourneyEnrolment)).one()
    assert (step.outcome, step.detail) == ("failed", {"unavailable": "siyu.not_installed.invite_to_group"})
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "unavailable")


def test_condition_branches_on_a_segment_condition(database, clock, corp, runner, live_journey, enrol):
    from siyu.models import CustomerTag

    vip = _tag(database, corp, "VIP")
    tagged, plain = corp.customer_ids[:2]
    with database.session() as session:
        session.add(CustomerTag(corp_id=corp.corp_id, customer_id=tagged, tag_id=vip, source="manual",
                                tagged_at=clock.now()))
    journey_id = live_journey([
        {"id": "vip", "type": "condition", "condition": {"tag": {"any": [vip]}}, "yes": "yes", "no": "no"},
        {"id": "yes", "type": "exit"}, {"id": "no", "type": "exit"}])
    enrol(journey_id, [tagged, plain])
    runner.run_until_idle()
    assert _steps(database, journey_id) == sorted([
        (tagged, "vip", "branched", "yes"), (tagged, "yes", "exited", None),
        (plain, "vip", "branched", "no"), (plain, "no", "exited", None)])


def test_wait_for_an_event_or_take_the_timeout_branch(database, clock, corp, runner, live_journey, enrol):
    binder, silent = corp.customer_ids[:2]
    journey_id = live_journey([
        {"id": "bind", "type": "wait_event", "event": "Order Bound", "timeout": {"days": 3}, "next": "thanks",
         "timeout_next": "remind"},
        {"id": "thanks", "type": "exit"}, {"id": "remind", "type": "exit"}])
    enrol(journey_id, [binder, silent])
    clock.advance(timedelta(hours=5))
    with database.session() as session:
        session.add(Event(corp_id=corp.corp_id, customer_id=binder, message_id="bound-1", type="track",
                          name="Order Bound", properties={}, traits={}, context={}, timestamp=clock.now(),
                          received_at=clock.now()))
    runner.run_until_idle()
    runner.run_until_idle()
    # the event woke its customer at once; the other still waits
    assert _steps(database, journey_id) == [(binder, "bind", "passed", "matched"), (binder, "thanks", "exited", None)]
    clock.advance(timedelta(days=3))
    runner.run_until_idle()
    assert [s for s in _steps(database, journey_id) if s[0] == silent] == sorted([
        (silent, "bind", "passed", "timeout"), (silent, "remind", "exited", None)])
