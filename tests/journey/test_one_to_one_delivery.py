"""A journey's send node reaches WeCom (the emulator) as one single-chat mass message from the
serving staff member, through the write-ahead outbox deliverer (``integrations.wecom.journey_outbox``):
delivered once even when WeCom's answer is lost, refused (and nothing created in WeCom) when the
relation ended or WeCom rejects the request."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from siyu.emulator.wecom.app import close_emulator, create_emulator_app, get_emulator, get_simulator
from siyu.integrations.wecom.broadcast_outbox import WRITE_AHEAD
from siyu.models import JourneyStep, OutboxMessage, Relation
from siyu.models.customer import RelationStatus
from siyu.models.job import OutboxStatus
from siyu.models.policy import Touch, TouchStatus
from tests.broadcast.conftest import drain, wired, worker  # noqa: F401 — fixtures
from tests.integrations.wecom.conftest import EMULATOR_CORP, WeComEmulator, _RequestLog, _serve
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401 — fixture

CREATE = "/cgi-bin/externalcontact/add_msg_template"
TEXT = "您好 {customer_name}，新品到店"


class LosingAnswers(_RequestLog):
    """The emulator; while ``lose`` is above zero, an ``add_msg_template`` is processed by WeCom but
    its answer is replaced by a 502 (the answer lost on the way back)."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.lose = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != CREATE or self.lose <= 0:
            await super().__call__(scope, receive, send)
            return
        self.lose -= 1

        async def swallow(message) -> None:
            pass

        await super().__call__(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"bad gateway"})


@pytest.fixture
def answers(clock):
    app = create_emulator_app(clock=clock)
    wrapper = LosingAnswers(app)
    server, thread, port = _serve(wrapper)
    yield app, wrapper, port
    server.should_exit = True
    thread.join(timeout=10)
    close_emulator(app)


@pytest.fixture
def wecom_emulator(answers) -> WeComEmulator:
    """The shared emulator fixture's emulator, behind ``LosingAnswers``."""
    app, wrapper, port = answers
    credentials = get_simulator(app).create_corp(EMULATOR_CORP, "模拟品牌")
    url = f"http://127.0.0.1:{port}"
    return WeComEmulator(url=url, base_url=f"{url}/cgi-bin/", app=app, state=get_emulator(app),
                         simulator=get_simulator(app), corp_id=EMULATOR_CORP, credentials=credentials, _log=wrapper)


def _served(wired) -> tuple[int, int, str, str]:
    """The first customer of the first staff member: (customer, staff, userid, external_userid)."""
    staff_id = wired.brand.staff_ids[0]
    customer_id = wired.brand.served[staff_id][0]
    return customer_id, staff_id, wired.userid[staff_id], wired.external[customer_id]


def _outbox(database) -> list[tuple]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(
            select(OutboxMessage.provider, OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.result,
                   OutboxMessage.last_error).order_by(OutboxMessage.id))]


def _touches(database) -> list[tuple[int, TouchStatus]]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(select(Touch.customer_id, Touch.status).order_by(Touch.id))]


def _messages(wired) -> list:
    return list(wired.wecom_corp.mass_messages.values())


def test_a_send_node_becomes_one_single_chat_message_from_the_serving_staff(
        database, clock, wired, worker, runner, live_journey, enrol):
    # given a published journey with a send node and a served customer enrolled
    customer_id, _, userid, external_userid = _served(wired)
    journey_id = live_journey([{"id": "hello", "type": "send_message", "text": TEXT}])
    enrol(journey_id, [customer_id])
    # when the journey runs and the worker delivers its outbox
    runner.run_until_idle()
    drain(worker, clock)
    # then WeCom holds exactly one single-chat message from that staff member to that customer
    messages = _messages(wired)
    assert [(m.chat_type, m.create_type, m.text, {u: [r.external_userid for r in rows]
                                                  for u, rows in m.recipients.items()}) for m in messages] == [
        ("single", 0, {"content": "您好 alpha客户alpha-s1-0，新品到店"}, {userid: [external_userid]})]
    assert wired.emulator.count("externalcontact/add_msg_template") == 1
    # and the outbox recorded WeCom's msgid after the write-ahead delivery and the send, and the touch is sent
    assert _outbox(database) == [("wecom_journey", OutboxStatus.sent, 2, {"msgid": messages[0].msgid}, None)]
    assert _touches(database) == [(customer_id, TouchStatus.sent)]
    with database.session() as session:
        assert session.execute(select(JourneyStep.node, JourneyStep.outcome)
                               .where(JourneyStep.journey_id == journey_id)).all() == [("hello", "sent")]


def test_a_lost_answer_is_reconciled_and_never_sent_twice(database, clock, wired, worker, runner, live_journey,
                                                          enrol, answers):
    # given a journey send queued for a served customer, and WeCom's next answer to be lost
    customer_id, _, userid, external_userid = _served(wired)
    journey_id = live_journey([{"id": "hello", "type": "send_message", "text": TEXT}])
    enrol(journey_id, [customer_id])
    runner.run_until_idle()
    answers[1].lose = 1
    # when the first delivery runs, it only records the intent: nothing reaches WeCom
    assert worker.run_once() == 1
    assert _outbox(database) == [("wecom_journey", OutboxStatus.unknown, 1, None, WRITE_AHEAD)]
    assert _messages(wired) == []
    # when the next delivery sends and WeCom creates the message but the answer is lost
    clock.advance(2)
    assert worker.run_once() == 1
    [(_, status, attempts, result, error)] = _outbox(database)
    assert (status, attempts, result) == (OutboxStatus.unknown, 2, None)
    assert "errcode=-2" in error
    assert len(_messages(wired)) == 1
    assert _touches(database) == [(customer_id, TouchStatus.allowed)]
    # then the redelivery reconciles with WeCom's result APIs instead of creating a second message
    clock.advance(4)
    assert worker.run_once() == 1
    [message] = _messages(wired)
    assert {u: [r.external_userid for r in rows] for u, rows in message.recipients.items()} == {
        userid: [external_userid]}
    assert wired.emulator.count("externalcontact/add_msg_template") == 1
    assert wired.emulator.count("externalcontact/get_groupmsg_send_result") == 1
    assert _outbox(database) == [("wecom_journey", OutboxStatus.sent, 2, {"msgid": message.msgid, "reconciled": True},
                                  None)]
    assert _touches(database) == [(customer_id, TouchStatus.sent)]
    assert drain(worker, clock) == 0


def test_the_same_text_twice_is_two_messages_none_claiming_the_others(database, clock, wired, worker, runner,
                                                                      live_journey, enrol):
    # given two send nodes of the same text to the same customer (each delivery reconciles first)
    customer_id, *_ = _served(wired)
    journey_id = live_journey([{"id": "s1", "type": "send_message", "text": "周末见", "next": "s2"},
                               {"id": "s2", "type": "send_message", "text": "周末见"}])
    enrol(journey_id, [customer_id])
    runner.run_until_idle()
    drain(worker, clock)
    # then the second send did not take the first one's message for its own
    messages = _messages(wired)
    assert [m.text for m in messages] == [{"content": "周末见"}, {"content": "周末见"}]
    assert [(status, result) for _, status, _, result, _ in _outbox(database)] == [
        (OutboxStatus.sent, {"msgid": messages[0].msgid}), (OutboxStatus.sent, {"msgid": messages[1].msgid})]
    assert _touches(database) == [(customer_id, TouchStatus.sent), (customer_id, TouchStatus.sent)]


def test_a_relation_ended_before_delivery_is_refused_without_calling_wecom(database, clock, wired, worker, runner,
                                                                           live_journey, enrol):
    # given a send queued for a served customer, and a walk-in nobody serves
    customer_id, staff_id, userid, external_userid = _served(wired)
    walk_in = wired.brand.customer_ids[-1]
    journey_id = live_journey([{"id": "hello", "type": "send_message", "text": TEXT}])
    enrol(journey_id, [customer_id, walk_in])
    runner.run_until_idle()
    # when the customer deletes the staff member before the worker delivers
    with database.session() as session:
        session.execute(update(Relation).where(Relation.customer_id == customer_id, Relation.staff_id == staff_id)
                        .values(status=RelationStatus.deleted_by_customer))
    drain(worker, clock)
    # then the message failed with the reason, once, and nothing was created in WeCom
    assert _outbox(database) == [("wecom_journey", OutboxStatus.failed, 1, None,
                                  f"no active relation between {userid} and {external_userid}")]
    assert _messages(wired) == []
    assert wired.emulator.count("externalcontact/add_msg_template") == 0
    # and the touch was not marked sent; the walk-in was never queued at all
    assert _touches(database) == [(customer_id, TouchStatus.allowed)]


def test_a_request_wecom_refuses_ends_failed_and_is_not_resent(database, clock, wired, worker, runner, live_journey,
                                                               enrol):
    # given a send whose text is longer than WeCom's 4000 bytes
    customer_id, *_ = _served(wired)
    journey_id = live_journey([{"id": "long", "type": "send_message", "text": "长" * 1400}])
    enrol(journey_id, [customer_id])
    runner.run_until_idle()
    # when the worker delivers it
    drain(worker, clock)
    # then WeCom's refusal ends the message failed, nothing is created there and nothing is resent
    [(provider, status, attempts, result, error)] = _outbox(database)
    assert (provider, status, attempts, result) == ("wecom_journey", OutboxStatus.failed, 2, None)
    assert "errcode=40058" in error
    assert _messages(wired) == []
    assert wired.emulator.count("externalcontact/add_msg_template") == 1
    assert _touches(database) == [(customer_id, TouchStatus.allowed)]
    clock.advance(3600)
    assert drain(worker, clock) == 0
    assert wired.emulator.count("externalcontact/add_msg_template") == 1


def test_a_customer_wecom_cannot_reach_from_the_sender_ends_failed(database, clock, wired, worker, runner,
                                                                   live_journey, enrol):
    # given a served customer who, in WeCom, is no longer the staff member's contact
    customer_id, _, userid, external_userid = _served(wired)
    del wired.wecom_corp.customers[external_userid].follows[userid]
    journey_id = live_journey([{"id": "hello", "type": "send_message", "text": TEXT}])
    enrol(journey_id, [customer_id])
    runner.run_until_idle()
    # when the worker delivers it
    drain(worker, clock)
    # then WeCom's fail_list refuses it: failed with the reason, and no WeCom message has a recipient
    [(_, status, attempts, result, error)] = _outbox(database)
    [message] = _messages(wired)
    assert (status, attempts, result) == (OutboxStatus.failed, 2, None)
    assert error == (f"WeCom cannot send {external_userid} a message from {userid} "
                     f"(fail_list of msgid {message.msgid})")
    assert message.recipients == {}
    assert _touches(database) == [(customer_id, TouchStatus.allowed)]
