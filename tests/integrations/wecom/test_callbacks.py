"""The callback endpoint: URL verification, verified and acknowledged deliveries in the inbox, and the
refused ones (forged, replayed, for another corp, malformed) that leave one log row and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from siyu.kit.security import encrypt_secret
from siyu.models import CallbackStatus, Identity, Job, JobStatus, Relation, WeComConnection
from tests.integrations.wecom.delivery import (
    AES_KEY,
    TOKEN,
    WECOM_CORP,
    callbacks,
    connect,
    encrypted,
    event,
    job_count,
)


@pytest.fixture
def corp_id(brand, database, settings):
    corp = brand[0]
    with database.session() as session:
        connect(session, corp.corp_id, settings.secret_key)
    return corp.corp_id


def _now(clock) -> int:
    return int(clock.now().timestamp())


def _added(create_time: int, external_userid: str = "wmExternal0001AAAA", userid: str = "alpha-s1") -> str:
    return event("change_external_contact", "add_external_contact", create_time, UserID=userid,
                 ExternalUserID=external_userid, State="store-1", WelcomeCode="WELCOME-1")


def _contacts(session) -> tuple[int, int]:
    """WeCom contacts known: identities of kind wecom_external_userid, relations with a contact id."""
    return (session.scalar(select(func.count()).select_from(Identity)
                           .where(Identity.kind == "wecom_external_userid")),
            session.scalar(select(func.count()).select_from(Relation)
                           .where(Relation.external_userid == "wmExternal0001AAAA")))


def test_url_verification_answers_the_decrypted_echostr(client, corp_id, clock):
    # Given WeCom's verification request, encrypted and signed by wechatpy
    crypto = WeChatCrypto(TOKEN, AES_KEY, WECOM_CORP)
    echo = crypto.encrypt_message("5927782489442352469", "4242", str(_now(clock)))
    from xmltodict import parse

    fields = parse(echo)["xml"]
    # When it reaches the callback URL
    response = client.get(f"/wecom/callback/{corp_id}", params={
        "msg_signature": fields["MsgSignature"], "timestamp": str(_now(clock)), "nonce": "4242",
        "echostr": fields["Encrypt"]})
    # Then the body is the plaintext exactly: no quotes, no newline
    assert response.status_code == 200
    assert response.content == b"5927782489442352469"
    assert response.headers["content-type"].startswith("text/plain")


def test_url_verification_with_a_bad_signature_is_refused_and_logged(client, corp_id, clock, database):
    response = client.get(f"/wecom/callback/{corp_id}", params={
        "msg_signature": "0" * 40, "timestamp": str(_now(clock)), "nonce": "1", "echostr": "AAAA"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "callback_bad_signature"
    with database.session() as session:
        rows = callbacks(session)
    assert [(r.corp_id, r.status, r.event_key, r.payload_xml) for r in rows] == [
        (corp_id, CallbackStatus.rejected, None, None)]
    assert rows[0].reason.startswith("bad_signature")


def test_a_verified_event_is_stored_acknowledged_and_queued_without_handling(client, corp_id, clock, database):
    # Given an add_external_contact event encrypted by wechatpy
    xml = _added(_now(clock))
    # When WeCom delivers it
    response = encrypted(xml, _now(clock)).post(client, corp_id)
    # Then siyu answers "success" at once
    assert (response.status_code, response.text) == (200, "success")
    with database.session() as session:
        rows = callbacks(session)
        jobs = list(session.scalars(select(Job)))
        assert _contacts(session) == (0, 0)  # handling happens in the job, not in the request
    # And the event is in the inbox with its key, and one handler job refers to it
    assert len(rows) == 1
    row = rows[0]
    assert (row.corp_id, row.status, row.event, row.change_type, row.payload_xml, row.replay_count) == (
        corp_id, CallbackStatus.received, "change_external_contact", "add_external_contact", xml, 0)
    assert len(row.event_key) == 64
    assert row.received_at == clock.now()
    assert [(j.name, j.args, j.corp_id, j.status) for j in jobs] == [
        ("wecom.handle_callback", {"callback_id": row.id}, corp_id, JobStatus.queued)]


def test_a_duplicate_delivery_is_acknowledged_logged_and_changes_nothing(client, corp_id, clock, database):
    # Given an event already delivered once
    delivery = encrypted(_added(_now(clock)), _now(clock))
    assert delivery.post(client, corp_id).text == "success"
    # When WeCom delivers the same request again, and again re-encrypted with a new nonce and time
    again = delivery.post(client, corp_id)
    clock.advance(2)
    reencrypted = encrypted(_added(_now(clock) - 2), _now(clock)).post(client, corp_id)
    # Then both answer "success", are logged as duplicates of the first, and queue nothing more
    assert (again.status_code, again.text, reencrypted.status_code, reencrypted.text) == (
        200, "success", 200, "success")
    with database.session() as session:
        rows = callbacks(session)
        assert job_count(session) == 1
    assert [(r.status, r.event_key is None) for r in rows] == [
        (CallbackStatus.received, False), (CallbackStatus.duplicate, True), (CallbackStatus.duplicate, True)]
    assert [r.reason for r in rows[1:]] == [f"duplicate of #{rows[0].id}"] * 2


def test_two_different_events_in_the_same_second_are_both_stored(client, corp_id, clock, database):
    now = _now(clock)
    encrypted(_added(now, "wmFirst0000000AAAA"), now).post(client, corp_id)
    encrypted(_added(now, "wmSecond000000AAAA"), now).post(client, corp_id)
    with database.session() as session:
        rows = callbacks(session)
        assert job_count(session) == 2
    assert [r.status for r in rows] == [CallbackStatus.received, CallbackStatus.received]
    assert rows[0].event_key != rows[1].event_key


def test_a_forged_signature_is_refused_with_one_rejected_row(client, corp_id, clock, database):
    delivery = encrypted(_added(_now(clock)), _now(clock))
    forged = {**delivery.params, "msg_signature": "f" * 40}
    response = client.post(f"/wecom/callback/{corp_id}", params=forged, content=delivery.body.encode())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "callback_bad_signature"
    with database.session() as session:
        rows = callbacks(session)
        assert job_count(session) == 0
        assert _contacts(session) == (0, 0)
    assert [(r.status, r.corp_id, r.event_key, r.payload_xml, r.event) for r in rows] == [
        (CallbackStatus.rejected, corp_id, None, None, None)]
    assert rows[0].reason == "bad_signature: msg_signature does not match"
    assert rows[0].remote_address == "testclient"


def test_a_body_signed_with_another_token_is_refused(client, corp_id, clock, database):
    response = encrypted(_added(_now(clock)), _now(clock), token="SomeoneElsesToken").post(client, corp_id)
    assert response.status_code == 403
    with database.session() as session:
        assert [(r.status, r.reason.split(":")[0]) for r in callbacks(session)] == [
            (CallbackStatus.rejected, "bad_signature")]


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_five_minutes_is_refused_as_a_replay(client, corp_id, clock, database, offset):
    # Given a correctly signed delivery whose timestamp is five minutes and a second away
    delivery = encrypted(_added(_now(clock)), _now(clock) + offset)
    # When it arrives
    response = delivery.post(client, corp_id)
    # Then it is refused and only logged
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "callback_stale_timestamp"
    with database.session() as session:
        rows = callbacks(session)
        assert job_count(session) == 0
    assert [(r.status, r.event_key, r.payload_xml) for r in rows] == [(CallbackStatus.rejected, None, None)]
    assert rows[0].reason.startswith("stale_timestamp")


def test_a_timestamp_within_the_window_is_accepted(client, corp_id, clock):
    assert encrypted(_added(_now(clock)), _now(clock) - 299).post(client, corp_id).text == "success"


def test_an_event_encrypted_for_another_corp_is_refused(client, corp_id, clock, database):
    response = encrypted(_added(_now(clock)), _now(clock), receive_id="wwanothercorp0000").post(client, corp_id)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "callback_wrong_receive_id"
    with database.session() as session:
        assert [(r.status, r.payload_xml, r.reason.split(":")[0]) for r in callbacks(session)] == [
            (CallbackStatus.rejected, None, "wrong_receive_id")]
        assert job_count(session) == 0


def test_a_corp_without_a_connection_is_refused_and_logged_without_a_corp(client, brand, clock, database):
    other_corp = brand[1].corp_id
    response = encrypted(_added(_now(clock)), _now(clock)).post(client, other_corp)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "callback_unknown_corp"
    with database.session() as session:
        assert [(r.status, r.corp_id) for r in callbacks(session)] == [(CallbackStatus.rejected, None)]


@pytest.mark.parametrize("case", ["no_signature", "not_xml", "no_encrypt"])
def test_malformed_deliveries_are_refused_with_400(client, corp_id, clock, database, case):
    delivery = encrypted(_added(_now(clock)), _now(clock))
    params, body = dict(delivery.params), delivery.body
    if case == "no_signature":
        del params["msg_signature"]
    elif case == "not_xml":
        body = "this is not xml"
    else:
        body = "<xml><ToUserName><![CDATA[x]]></ToUserName></xml>"
    response = client.post(f"/wecom/callback/{corp_id}", params=params, content=body.encode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "callback_malformed"
    with database.session() as session:
        assert [r.status for r in callbacks(session)] == [CallbackStatus.rejected]
        assert job_count(session) == 0


def test_refusal_messages_follow_the_callers_language(client, corp_id, clock):
    delivery = encrypted(_added(_now(clock)), _now(clock))
    forged = {**delivery.params, "msg_signature": "e" * 40}
    chinese = client.post(f"/wecom/callback/{corp_id}", params=forged, content=delivery.body.encode())
    english = client.post(f"/wecom/callback/{corp_id}", params={**forged, "lang": "en"},
                          content=delivery.body.encode())
    assert chinese.json()["error"]["message"] == "回调签名不匹配"
    assert english.json()["error"]["message"] == "The callback signature does not match"


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


def test_changed_callback_settings_apply_at_once(client, corp_id, clock, database, settings):
    # Given a delivery accepted with the current Token (its crypto is now remembered)
    assert encrypted(_added(_now(clock), "wmBefore00001"), _now(clock)).post(client, corp_id).text == "success"
    # When the admin changes the Token in siyu (and then in WeCom)
    with database.session() as session:
        connection = session.scalars(select(WeComConnection)).one()
        connection.callback_token_encrypted = encrypt_secret("RotatedTok3n", settings.secret_key)
    # Then a delivery signed with the new Token is accepted right away, and the old Token is refused
    assert encrypted(_added(_now(clock), "wmAfter000001"), _now(clock),
                     token="RotatedTok3n").post(client, corp_id).text == "success"
    assert encrypted(_added(_now(clock), "wmOldToken001"), _now(clock)).post(client, corp_id).status_code == 403
    with database.session() as session:
        assert [r.status for r in callbacks(session)] == [
            CallbackStatus.received, CallbackStatus.received, CallbackStatus.rejected]
