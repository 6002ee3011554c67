"""Deferred waves, the preview's counts, and results by variant against the holdout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.broadcast import results, service
from siyu.broadcast.service import VariantDraft, assign_variant
from siyu.models import Order
from siyu.models.broadcast import BroadcastRecipient, BroadcastVariant, RecipientStatus
from siyu.models.policy import Touch, TouchChannel, TouchPriority, TouchRule
from siyu.policy import TouchRequest, admit, opt_out
from tests.broadcast.conftest import drain


def _create(session, clock, corp_id, **extra):
    return service.create_broadcast(session, corp_id, name="周末特惠", audience=extra.pop("audience", {}),
                                    variants=extra.pop("variants", [VariantDraft("周末特惠来了")]),
                                    now=clock.now(), **extra)


def test_the_preview_counts_what_each_rule_would_block_or_defer_and_writes_nothing(database, clock, wired):
    served = wired.brand.served[wired.brand.staff_ids[0]]
    with database.session() as session:
        opt_out(session, wired.corp_id, served[0], source="manual", now=clock.now())
        admit(session, wired.corp_id, [TouchRequest(served[1], TouchChannel.broadcast, TouchPriority.service)],
              now=clock.now())
        broadcast = _create(session, clock, wired.corp_id)
    with database.session() as session:
        plan = service.preview(session, wired.corp_id, broadcast.id, now=clock.now())
        written = session.scalars(select(BroadcastRecipient)).all()
    assert (plan.audience, plan.eligible, plan.holdout) == (8, 4, 0)
    assert dict(plan.by_rule) == {(RecipientStatus.blocked, TouchRule.no_relation): 2,
                                  (RecipientStatus.blocked, TouchRule.opted_out): 1,
                                  (RecipientStatus.deferred, TouchRule.wecom_quota): 1}
    assert dict(plan.by_staff) == {wired.brand.staff_ids[1]: 2, wired.brand.staff_ids[2]: 2}
    assert written == []
    # and dispatching decides the same
    with database.session() as session:
        service.schedule(session, wired.corp_id, broadcast.id, at=clock.now(), now=clock.now())
        sent = service.dispatch(session, wired.corp_id, broadcast.id, now=clock.now())
    assert (dict(sent.by_rule), dict(sent.by_staff), sent.eligible) == (dict(plan.by_rule), dict(plan.by_staff), 4)


def test_a_deferred_recipient_goes_out_in_the_next_wave(database, clock, wired, worker):
    customer = wired.brand.served[wired.brand.staff_ids[2]][0]
    with database.session() as session:
        admit(session, wired.corp_id, [TouchRequest(customer, TouchChannel.broadcast, TouchPriority.service)],
              now=clock.now())
        broadcast = _create(session, clock, wired.corp_id, audience={"staff_ids": [wired.brand.staff_ids[2]]},
                            scheduled_at=clock.now())
    drain(worker, clock)
    messages = list(wired.wecom_corp.mass_messages.values())
    assert [sorted(r.external_userid for rows in m.recipients.values() for r in rows) for m in messages] == [
        sorted(wired.external[c] for c in wired.brand.served[wired.brand.staff_ids[2]] if c != customer)]
    with database.session() as session:
        recipient = session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.customer_id == customer)).one()
    # Tuesday 08:00 in Shanghai: the next day's quota, after quiet hours
    assert (recipient.status, recipient.rule, recipient.deferred_until) == (
        RecipientStatus.deferred, TouchRule.wecom_quota, datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    clock.set(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    drain(worker, clock)
    latest = [m for m in wired.wecom_corp.mass_messages.values() if m.msgid not in {x.msgid for x in messages}]
    assert [[r.external_userid for rows in m.recipients.values() for r in rows] for m in latest] == [
        [wired.external[customer]]]
    with database.session() as session:
        assert session.get(BroadcastRecipient, recipient.id).status == RecipientStatus.awaiting_staff


def test_results_by_variant_attribute_orders_within_seven_days_against_the_holdout(database, clock, wired, worker):
    with database.session() as session:
        broadcast = _create(session, clock, wired.corp_id, holdout_percent=50, scheduled_at=clock.now(),
                            variants=[VariantDraft("A 文案"), VariantDraft("B 文案")])
        variant_ids = [v.id for v in session.scalars(select(BroadcastVariant).order_by(BroadcastVariant.label))]
    drain(worker, clock)
    customers = wired.brand.customer_ids
    groups = {c: assign_variant(broadcast.id, c, 50, [(v, 1) for v in variant_ids]) for c in customers}
    # every customer orders once: inside the window, except the last customer (8 days later)
    with database.session() as session:
        for n, customer in enumerate(customers):
            late = n == len(customers) - 1
            session.add(Order(corp_id=wired.corp_id, customer_id=customer, platform="pos", order_no=f"after-{n}",
                              amount=Decimal("10.00"), paid_at=clock.now() + timedelta(days=8 if late else 1)))
    with database.session() as session:
        report = results.report(session, wired.corp_id, broadcast.id, now=clock.now())
    in_window = customers[:-1]
    expected = {label: sum(1 for c in in_window if groups[c] == group)
                for label, group in (("A", variant_ids[0]), ("B", variant_ids[1]), ("holdout", None))}
    assert {v.label: v.buyers for v in report.variants + [report.holdout]} == expected
    assert {v.label: v.recipients for v in report.variants + [report.holdout]} == {
        label: sum(1 for c in customers if groups[c] == group)
        for label, group in (("A", variant_ids[0]), ("B", variant_ids[1]), ("holdout", None))}
    assert report.holdout.revenue == Decimal("10.00") * expected["holdout"]
    assert report.audience == 8


def test_a_deferred_recipient_whose_touch_expired_meanwhile_expires_and_no_wave_follows(database, clock, wired,
                                                                                         worker):
    from siyu.models.job import Job
    from siyu.policy import expire_deferred

    customer = wired.brand.served[wired.brand.staff_ids[2]][0]
    with database.session() as session:
        admit(session, wired.corp_id, [TouchRequest(customer, TouchChannel.broadcast, TouchPriority.service)],
              now=clock.now())
        _create(session, clock, wired.corp_id, audience={"staff_ids": [wired.brand.staff_ids[2]]},
                scheduled_at=clock.now())
    drain(worker, clock)
    clock.set(datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    with database.session() as session:
        # the corp's deferral window is 7 days; force the expiry now to stand for a late wave
        session.execute(Touch.__table__.update().where(Touch.customer_id == customer,
                                                       Touch.status == "deferred").values(expires_at=clock.now()))
        assert expire_deferred(session, wired.corp_id, now=clock.now()) == 1
    drain(worker, clock)
    with database.session() as session:
        recipient = session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.customer_id == customer)).one()
        waves = session.scalars(select(Job.key).where(Job.name == "broadcast.wave")).all()
    assert recipient.status == RecipientStatus.expired
    assert waves == [f"broadcast:{recipient.broadcast_id}:wave:1"]
