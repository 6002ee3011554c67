"""REST: /api/v1/wecom — the connection (secrets write-only), its test against the emulator, the
callback log with cursor pages and replay, sync history; roles and tenants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu.kit.security import decrypt_secret
from siyu.models import CallbackStatus, Job, SyncStatus, WeComCallback, WeComConnection, WeComSyncRun
from tests.factories import api_token
from tests.integrations.wecom.conftest import EMULATOR_CORP

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SECRETS = {"contact_secret": "contact-SECRET-1", "address_book_secret": "book-SECRET-2",
           "callback_token": "CallbackTok3n", "encoding_aes_key": AES_KEY}


@pytest.fixture
def admin(client, brand) -> dict[str, str]:
    return api_token(client, brand[0], "admin")


def _connection(database, corp_id: int) -> WeComConnection | None:
    with database.session() as session:
        return session.scalars(select(WeComConnection).where(WeComConnection.corp_id == corp_id)).one_or_none()


def test_saving_a_connection_encrypts_secrets_and_never_returns_them(client, admin, brand, database, settings, clock):
    # Given an admin who enters the WeCom credentials
    response = client.put("/api/v1/wecom/connection", headers=admin, json={
        "wecom_corp_id": "wwAlpha0001", "agent_id": 1000002, **SECRETS,
        "api_base": "http://127.0.0.1:1/cgi-bin/", "broadcast_quota_rule": "weekly7"})
    # Then the answer says which secrets are set, and holds none of them
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "corp_id": brand[0].corp_id, "wecom_corp_id": "wwAlpha0001", "agent_id": 1000002,
        "api_base": "http://127.0.0.1:1/cgi-bin/", "broadcast_quota_rule": "weekly7",
        "contact_secret_set": True, "address_book_secret_set": True, "callback_token_set": True,
        "encoding_aes_key_set": True,
        "callback_url": f"{settings.public_base_url}/wecom/callback/{brand[0].corp_id}",
        "last_test_at": None, "last_test_ok": None, "last_test_message": None,
        "updated_at": clock.now().isoformat().replace("+00:00", "Z")}
    assert not any(secret in response.text for secret in SECRETS.values())
    # And the database holds them encrypted only
    stored = _connection(database, brand[0].corp_id)
    columns = (stored.contact_secret_encrypted, stored.address_book_secret_encrypted,
               stored.callback_token_encrypted, stored.encoding_aes_key_encrypted)
    assert not any(secret in column for secret, column in zip(SECRETS.values(), columns, strict=True))
    assert [decrypt_secret(column, settings.secret_key) for column in columns] == list(SECRETS.values())
    # And reading it back shows the same
    assert client.get("/api/v1/wecom/connection", headers=admin).json() == body


def test_secrets_left_out_are_kept(client, admin, brand, database):
    client.put("/api/v1/wecom/connection", headers=admin, json={"wecom_corp_id": "wwAlpha0001", **SECRETS})
    before = _connection(database, brand[0].corp_id)
    response = client.put("/api/v1/wecom/connection", headers=admin,
                          json={"wecom_corp_id": "wwAlpha0001", "agent_id": 7, "contact_secret": ""})
    after = _connection(database, brand[0].corp_id)
    assert response.json()["contact_secret_set"] is True
    assert (after.agent_id, after.contact_secret_encrypted, after.encoding_aes_key_encrypted) == (
        7, before.contact_secret_encrypted, before.encoding_aes_key_encrypted)


def test_no_connection_yet_is_404(client, admin):
    response = client.get("/api/v1/wecom/connection", headers=admin)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "该企业尚未连接企业微信"


@pytest.mark.parametrize(("field", "value"), [("encoding_aes_key", AES_KEY[:-1]), ("callback_token", "has space"),
                                              ("wecom_corp_id", ""), ("api_base", "ftp://x")])
def test_malformed_settings_are_refused_and_nothing_is_stored(client, admin, brand, database, field, value):
    response = client.put("/api/v1/wecom/connection", headers=admin,
                          json={"wecom_corp_id": "wwAlpha0001", **SECRETS, field: value})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert _connection(database, brand[0].corp_id) is None


def test_a_wecom_corp_connected_to_another_tenant_is_refused(client, admin, brand, database):
    other = api_token(client, brand[1], "admin")
    assert client.put("/api/v1/wecom/connection", headers=other, json={"wecom_corp_id": "wwShared"}).status_code == 200
    response = client.put("/api/v1/wecom/connection", headers=admin, json={"wecom_corp_id": "wwShared", **SECRETS})
    assert response.status_code == 409
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("conflict", "wecom_corp_id")
    assert _connection(database, brand[0].corp_id) is None


@pytest.mark.parametrize("role", ["hq_operator", "store_manager", "staff", "auditor"])
def test_only_admins_manage_wecom(client, brand, role):
    headers = api_token(client, brand[0], role)
    assert client.get("/api/v1/wecom/callbacks", headers=headers).status_code == 403
    assert client.put("/api/v1/wecom/connection", headers=headers,
                      json={"wecom_corp_id": "wwX"}).status_code == 403


def test_connection_test_against_the_emulator(client, admin, wecom_emulator, database, brand):
    wecom_emulator.seed(departments=1, staff=3, customers=0, groups=0)
    client.put("/api/v1/wecom/connection", headers=admin, json={
        "wecom_corp_id": EMULATOR_CORP, "contact_secret": wecom_emulator.contact_secret,
        "api_base": wecom_emulator.base_url})
    response = client.post("/api/v1/wecom/connection/test", headers=admin)
    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["message"]) == (True, "gettoken ok; follow users: 3")
    assert (wecom_emulator.count("gettoken"), wecom_emulator.count("externalcontact/get_follow_user_list")) == (1, 1)
    stored = _connection(database, brand[0].corp_id)
    assert (stored.last_test_ok, stored.last_test_message) == (True, "gettoken ok; follow users: 3")


def test_connection_test_with_a_wrong_secret_reports_wecoms_error(client, admin, wecom_emulator):
    client.put("/api/v1/wecom/connection", headers=admin, json={
        "wecom_corp_id": EMULATOR_CORP, "contact_secret": "not-the-secret", "api_base": wecom_emulator.base_url})
    body = client.post("/api/v1/wecom/connection/test", headers=admin).json()
    assert body["ok"] is False
    assert body["message"].startswith("errcode 40001: ")
    assert client.get("/api/v1/wecom/connection", headers=admin).json()["last_test_ok"] is False


def test_callbacks_are_listed_newest_first_in_cursor_pages(client, admin, callback_log):
    first = client.get("/api/v1/wecom/callbacks", headers=admin, params={"limit": 2}).json()
    assert [(c["id"], c["status"]) for c in first["items"]] == [
        (callback_log["rejected"], "rejected"), (callback_log["duplicate"], "duplicate")]
    second = client.get("/api/v1/wecom/callbacks", headers=admin,
                        params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert ([c["id"] for c in second["items"]], second["next_cursor"]) == ([callback_log["stored"]], None)
    stored = second["items"][0]
    assert (stored["event"], stored["change_type"], stored["replay_count"]) == (
        "change_external_contact", "add_external_contact", 0)
    rejected = client.get("/api/v1/wecom/callbacks", headers=admin, params={"status": "rejected"}).json()
    assert [(c["id"], c["payload_xml"], c["reason"]) for c in rejected["items"]] == [
        (callback_log["rejected"], None, "bad_signature: msg_signature does not match")]


def test_replay_re_enqueues_the_handler_and_counts(client, admin, callback_log, database):
    response = client.post(f"/api/v1/wecom/callbacks/{callback_log['stored']}/replay", headers=admin)
    assert response.status_code == 200
    assert (response.json()["replay_count"], response.json()["status"]) == (1, "received")
    with database.session() as session:
        jobs = [j.args for j in session.scalars(select(Job).where(Job.name == "wecom.handle_callback"))]
    assert jobs == [{"callback_id": callback_log["stored"]}, {"callback_id": callback_log["stored"]}]


@pytest.mark.parametrize("kind", ["duplicate", "rejected"])
def test_log_rows_without_an_event_of_their_own_cannot_be_replayed(client, admin, callback_log, database, kind):
    response = client.post(f"/api/v1/wecom/callbacks/{callback_log[kind]}/replay", headers=admin)
    assert response.status_code == 409
    with database.session() as session:
        row = session.get(WeComCallback, callback_log[kind])
        assert (row.replay_count, row.status) == (0, CallbackStatus(kind))
        assert len(session.scalars(select(Job).where(Job.name == "wecom.handle_callback")).all()) == 1


def test_another_corp_neither_sees_nor_replays_the_log(client, brand, callback_log, database):
    beta = api_token(client, brand[1], "admin")
    assert client.get("/api/v1/wecom/callbacks", headers=beta).json() == {"items": [], "next_cursor": None}
    assert client.post(f"/api/v1/wecom/callbacks/{callback_log['stored']}/replay", headers=beta).status_code == 404
    with database.session() as session:
        assert session.get(WeComCallback, callback_log["stored"]).replay_count == 0


def test_sync_runs_newest_first(client, admin, brand, database, clock):
    with database.session() as session:
        for index, (kind, status) in enumerate((("full", SyncStatus.done), ("incremental", SyncStatus.failed),
                                                ("full", SyncStatus.running))):
            session.add(WeComSyncRun(corp_id=brand[0].corp_id, kind=kind, status=status, phase="customers",
                                     counts={"customers": index}, started_at=clock.now() + timedelta(hours=index)))
        session.add(WeComSyncRun(corp_id=brand[1].corp_id, kind="full", status=SyncStatus.done,
                                 started_at=clock.now()))
    runs = client.get("/api/v1/wecom/sync-runs", headers=admin).json()["items"]
    assert [(r["kind"], r["status"], r["counts"]) for r in runs] == [
        ("full", "running", {"customers": 2}), ("incremental", "failed", {"customers": 1}),
        ("full", "done", {"customers": 0})]
    full = client.get("/api/v1/wecom/sync-runs", headers=admin, params={"kind": "full"}).json()["items"]
    assert [r["status"] for r in full] == ["running", "done"]
