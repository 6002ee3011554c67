"""A broadcast end to end against the WeCom emulator: dispatch through the gate, one WeCom task per
sender through the outbox, confirmation by staff, result sync, reminders and cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siyu.broadcast import service
from siyu.broadcast.service import VariantDraft
from siyu.integrations.wecom import schemas_engagement as s
from siyu.kit.errors import Conflict, InvalidInput
from siyu.models.broadcast import BroadcastRecipient, BroadcastStatus, BroadcastTask, RecipientStatus, TaskStatus
from siyu.models.policy import Touch, TouchChannel, TouchPriority, TouchRule, TouchStatus
from siyu.policy import TouchRequest, decide
from tests.broadcast.conftest import drain


def _send(database, clock, corp_id, name="双十二", text="{staff_name}（{store}）给您准备了双十二好礼", **extra):
    with database.session() as session:
        broadcast = service.create_broadcast(session, corp_id, name=name, audience=extra.pop("audience", {}),
                                             variants=extra.pop("variants", [VariantDraft(text)]), now=clock.now(),
                                             scheduled_at=clock.now(), **extra)
    return broadcast.id


def _recipients(database, broadcast_id):
    with database.session() as session:
        return {r.customer_id: r for r in session.scalars(select(BroadcastRecipient)
                                                          .where(BroadcastRecipient.broadcast_id == broadcast_id))}


def _confirm_all(wired, msgids=None):
    corp = wired.wecom_corp
    for message in list(corp.mass_messages.values()):
        if msgids is not None and message.msgid not in msgids:
            continue
        for userid, status in list(message.task_status.items()):
            if status == 0:
                wired.emulator.simulator.staff_confirm_mass_task(wired.emulator.corp_id, message.msgid, userid)


def test_a_broadcast_becomes_one_wecom_task_per_sender_and_walk_ins_are_blocked(database, clock, wired, worker):
    broadcast_id = _send(database, clock, wired.corp_id)
    drain(worker, clock)
    messages = list(wired.wecom_corp.mass_messages.values())
    by_sender = {userid: sorted(r.external_userid for r in rows)
                 for m in messages for userid, rows in m.recipients.items()}
    served = wired.brand.served
    assert by_sender == {wired.userid[staff]: sorted(wired.external[c] for c in customers)
                         for staff, customers in served.items()}
    assert {m.text["content"] for m in messages} == {"导购1（甲品牌门店1）给您准备了双十二好礼",
                                                     "导购2（甲品牌门店1）给您准备了双十二好礼",
                                                     "导购3（甲品牌门店2）给您准备了双十二好礼"}
    recipients = _recipients(database, broadcast_id)
    walk_ins = wired.brand.customer_ids[6:]
    assert {c: (r.status, r.rule) for c, r in recipients.items() if c in walk_ins} == {
        c: (RecipientStatus.blocked, TouchRule.no_relation) for c in walk_ins}
    assert {r.status for c, r in recipients.items() if c not in walk_ins} == {RecipientStatus.awaiting_staff}
    with database.session() as session:
        tasks = session.scalars(select(BroadcastTask)).all()
        assert {(t.status, t.recipients) for t in tasks} == {(TaskStatus.awaiting_staff, 2)}
        assert session.scalar(select(func.count()).select_from(Touch).where(Touch.status == TouchStatus.allowed)) == 6


def test_results_sync_marks_delivered_recipients_and_their_touches_sent(database, clock, wired, worker):
    broadcast_id = _send(database, clock, wired.corp_id)
    drain(worker, clock)
    first_staff = wired.brand.staff_ids[0]
    message = next(m for m in wired.wecom_corp.mass_messages.values()
                   if wired.userid[first_staff] in m.recipients)
    wired.emulator.simulator.staff_confirm_mass_task(wired.emulator.corp_id, message.msgid, wired.userid[first_staff])
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    recipients = _recipients(database, broadcast_id)
    delivered = {c for c, r in recipients.items() if r.status == RecipientStatus.delivered}
    assert delivered == set(wired.brand.served[first_staff])
    assert {recipients[c].wecom_status for c in delivered} == {1}
    with database.session() as session:
        sent = set(session.scalars(select(Touch.customer_id).where(Touch.status == TouchStatus.sent)))
        broadcast = service.get_broadcast(session, wired.corp_id, broadcast_id)
        confirmed = session.scalar(select(func.count()).select_from(BroadcastTask)
                                   .where(BroadcastTask.status == TaskStatus.confirmed))
    assert sent == delivered
    assert (broadcast.status, confirmed) == (BroadcastStatus.sending, 1)
    # when every sender confirmed, the next sync finishes the broadcast
    _confirm_all(wired)
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    with database.session() as session:
        assert service.get_broadcast(session, wired.corp_id, broadcast_id).status == BroadcastStatus.done


def test_the_gates_wecom_quota_agrees_with_the_emulators_status_3(database, clock, wired, worker):
    # given half the served customers got a broadcast today (daily quota in siyu and in WeCom)
    served = [c for customers in wired.brand.served.values() for c in customers]
    first_staff = wired.brand.staff_ids[0]
    _send(database, clock, wired.corp_id, audience={"staff_ids": [first_staff]})
    drain(worker, clock)
    _confirm_all(wired)
    clock.advance(timedelta(hours=1))
    # when the gate is asked about a second broadcast, and WeCom is sent one anyway
    with database.session() as session:
        decisions = decide(session, wired.corp_id, [
            TouchRequest(c, TouchChannel.broadcast, TouchPriority.transactional) for c in served], now=clock.now())
    deferred = {d.request.customer_id for d in decisions if d.rule == TouchRule.wecom_quota}
    from siyu.integrations.wecom.client import WeComClientFactory
    from siyu.kit.settings import get_settings

    with WeComClientFactory(database.session, clock, settings=get_settings()).for_corp(wired.corp_id) as client:
        answers = {}
        for staff_id, customers in wired.brand.served.items():
            answer = client.add_msg_template(s.AddMsgTemplateRequest(
                external_userid=[wired.external[c] for c in customers], sender=wired.userid[staff_id],
                text=s.Text(content="直接发给企业微信")))
            answers[staff_id] = answer.msgid
    _confirm_all(wired, set(answers.values()))
    over_quota = {r.external_userid for m in wired.wecom_corp.mass_messages.values() if m.msgid in answers.values()
                  for rows in m.recipients.values() for r in rows if r.status == 3}
    # then exactly the customers the gate deferred are the ones WeCom refused with status 3
    assert deferred == set(wired.brand.served[first_staff])
    assert over_quota == {wired.external[c] for c in deferred}


def test_reminders_reach_only_senders_who_have_not_confirmed(database, clock, wired, worker):
    broadcast_id = _send(database, clock, wired.corp_id)
    drain(worker, clock)
    first_staff = wired.brand.staff_ids[0]
    confirmed = next(m for m in wired.wecom_corp.mass_messages.values() if wired.userid[first_staff] in m.recipients)
    wired.emulator.simulator.staff_confirm_mass_task(wired.emulator.corp_id, confirmed.msgid,
                                                     wired.userid[first_staff])
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    with database.session() as session:
        assert service.request_reminders(session, wired.corp_id, broadcast_id, now=clock.now()) == 2
    drain(worker, clock)
    reminded = {m.msgid: len(m.reminders) for m in wired.wecom_corp.mass_messages.values()}
    assert reminded == {m.msgid: (0 if m.msgid == confirmed.msgid else 1)
                        for m in wired.wecom_corp.mass_messages.values()}


def test_cancel_stops_the_wecom_tasks_and_the_waiting_recipients(database, clock, wired, worker):
    broadcast_id = _send(database, clock, wired.corp_id)
    drain(worker, clock)
    with database.session() as session:
        service.cancel(session, wired.corp_id, broadcast_id, now=clock.now())
    drain(worker, clock)
    assert {m.cancelled for m in wired.wecom_corp.mass_messages.values()} == {True}
    statuses = {r.status for r in _recipients(database, broadcast_id).values()}
    assert statuses == {RecipientStatus.cancelled, RecipientStatus.blocked}
    with database.session() as session, pytest.raises(Conflict):
        service.cancel(session, wired.corp_id, broadcast_id, now=clock.now())


def test_a_cancelled_scheduled_broadcast_never_reaches_wecom(database, clock, wired, worker):
    with database.session() as session:
        broadcast = service.create_broadcast(session, wired.corp_id, name="晚点发", audience={},
                                             variants=[VariantDraft("新品上市")], now=clock.now(),
                                             scheduled_at=clock.now() + timedelta(hours=2))
        service.cancel(session, wired.corp_id, broadcast.id, now=clock.now())
    clock.advance(timedelta(hours=3))
    drain(worker, clock)
    assert wired.wecom_corp.mass_messages == {}
    assert _recipients(database, broadcast.id) == {}


def test_customer_placeholders_are_refused_in_a_broadcast(database, clock, wired):
    with database.session() as session, pytest.raises(InvalidInput) as refused:
        service.create_broadcast(session, wired.corp_id, name="x", audience={},
                                 variants=[VariantDraft("{customer_name}您好")], now=clock.now())
    assert (refused.value.field, refused.value.params) == ("variants[0].text", {"placeholder": "customer_name"})
