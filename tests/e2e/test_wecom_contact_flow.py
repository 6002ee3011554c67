"""End to end: a WeChat user scans a contact way in the (emulated) WeCom → WeCom POSTs the encrypted
callback to siyu over loopback HTTP → a worker handles it → the customer, its identity and its
relation to the staff member exist. The same delivery again, a forged one and a replayed old one are
refused without a second effect."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from siyu.customer import contacts
from siyu.kit.jobs import Worker
from siyu.models import (
    CallbackStatus,
    Customer,
    Identity,
    Job,
    Relation,
    RelationStatus,
    Staff,
    WeComCallback,
)
from tests.factories import api_token
from tests.integrations.wecom.conftest import EMULATOR_CORP
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401 — fixture

TOKEN = "E2eToken2026"
AES_KEY = "Zq3bX9kLm2Pw7Rt5Yv8Nc4Hd6Jf1Gs0Ae3Ui9Oo7Kl5"
STATE = "e2e-store-1"


def _counts(database) -> dict[str, int]:
    with database.session() as session:
        def count(model, *where):
            return session.scalar(select(func.count()).select_from(model).where(*where))

        return {"customers": count(Customer), "identities": count(Identity, Identity.kind == "wecom_external_userid"),
                "relations": count(Relation, Relation.state == STATE), "jobs": count(Job),
                "inbox": count(WeComCallback, WeComCallback.event_key.is_not(None))}


@pytest.fixture
def flow(siyu_server, wecom_emulator_factory, client, brand, database, clock, monkeypatch,
         process_secret_key):  # noqa: F811
    """siyu corp alpha connected (through the REST API) to an emulated WeCom corp that sends its
    callbacks to siyu; every callback request the emulator sends is recorded."""
    sent: list[httpx.Request] = []
    recording = httpx.Client(timeout=5, event_hooks={"request": [sent.append]})
    emulator = wecom_emulator_factory(callback_http_client=recording, callback_retry_delays=(0.05, 0.1))
    emulator.seed(departments=2, staff=2, customers=0, groups=0)
    staff_userid = sorted(emulator.state.corps[EMULATOR_CORP].members)[0]
    corp_id = brand[0].corp_id
    with database.session() as session:  # the address book sync brought the member over
        session.add(Staff(corp_id=corp_id, userid=staff_userid, name="导购小王"))
    # The IT admin saves the connection in siyu ...
    headers = api_token(client, brand[0], "admin")
    saved = httpx.put(f"{siyu_server.url}/api/v1/wecom/connection", headers=headers, json={
        "wecom_corp_id": EMULATOR_CORP, "contact_secret": emulator.contact_secret, "callback_token": TOKEN,
        "encoding_aes_key": AES_KEY, "api_base": emulator.base_url})
    assert saved.status_code == 200, saved.text
    callback_url = saved.json()["callback_url"].replace(saved.json()["callback_url"].split("/wecom/")[0],
                                                        siyu_server.url)
    # ... and WeCom's admin console, which checks the URL (GET with an encrypted echostr) before saving
    configured = httpx.put(f"{emulator.url}/simulate/{EMULATOR_CORP}/config", json={
        "callback_url": callback_url, "callback_token": TOKEN, "encoding_aes_key": AES_KEY,
        "verify_callback_url_now": True})
    assert configured.status_code == 200, configured.text
    assert configured.json()["verification"] == "ok"
    added: list[contacts.CustomerAdded] = []
    monkeypatch.setattr(contacts, "on_customer_added", [lambda session, event: added.append(event)])
    yield {"emulator": emulator, "sent": sent, "corp_id": corp_id, "userid": staff_userid, "added": added,
           "url": callback_url}
    recording.close()


def _drain(database, clock) -> int:
    """Run workers until nothing is due; returns how many jobs ran."""
    ran = total = Worker(database, clock=clock).run_once()
    while ran:
        ran = Worker(database, clock=clock).run_once()
        total += ran
    return total


def _contact_way(emulator, userid: str) -> str:
    token = httpx.get(f"{emulator.base_url}gettoken",
                      params={"corpid": EMULATOR_CORP, "corpsecret": emulator.contact_secret}).json()["access_token"]
    answer = httpx.post(f"{emulator.base_url}externalcontact/add_contact_way", params={"access_token": token},
                        json={"type": 1, "scene": 2, "state": STATE, "user": [userid], "skip_verify": True}).json()
    assert answer["errcode"] == 0, answer
    return answer["config_id"]


def test_a_scanned_contact_way_becomes_a_customer_and_nothing_happens_twice(flow, siyu_server, database, clock):
    emulator, sent = flow["emulator"], flow["sent"]
    # Given a contact way of the staff member with a channel state
    config_id = _contact_way(emulator, flow["userid"])
    # When a WeChat user scans it
    scanned = httpx.post(f"{emulator.url}/simulate/{EMULATOR_CORP}/scan_contact_way",
                         json={"config_id": config_id, "name": "李女士"})
    assert scanned.status_code == 200, scanned.text
    scan = scanned.json()
    assert emulator.app.state.callbacks.wait_idle(10)
    deliveries = httpx.get(f"{emulator.url}/simulate/{EMULATOR_CORP}/callbacks").json()
    # Then WeCom's delivery was acknowledged with "success" at the first attempt
    assert [(d["state"], [(a["status_code"], a["response_body"]) for a in d["attempts"]]) for d in deliveries] == [
        ("delivered", [(200, "success")])]
    # And once workers ran (the event, then the contact's refresh from WeCom), the customer, its
    # identity and its relation to the staff member exist
    assert _drain(database, clock) == 2
    external_userid = scan["external_userid"]
    with database.session() as session:
        identity = session.scalars(select(Identity).where(Identity.kind == "wecom_external_userid",
                                                          Identity.value == external_userid)).one()
        customer = session.get(Customer, identity.customer_id)
        relation = session.scalars(select(Relation).where(Relation.customer_id == customer.id)).one()
        staff = session.get(Staff, relation.staff_id)
        callback = session.scalars(select(WeComCallback)).one()
    assert (customer.corp_id, identity.corp_id, customer.name) == (flow["corp_id"], flow["corp_id"], "李女士")
    assert (staff.userid, relation.external_userid, relation.state, relation.status, relation.added_at) == (
        flow["userid"], external_userid, STATE, RelationStatus.active, clock.now())
    assert (callback.status, callback.change_type) == (CallbackStatus.handled, "add_external_contact")
    assert [(a.external_userid, a.state, a.welcome_code) for a in flow["added"]] == [
        (external_userid, STATE, scan["welcome_code"])]
    before = _counts(database)

    # When WeCom's exact request is delivered a second time
    original = sent[-1]
    again = httpx.post(str(original.url), content=original.content, headers={"Content-Type": "text/xml"})
    # Then it is acknowledged, logged as a duplicate, and changes nothing
    assert (again.status_code, again.text) == (200, "success")
    assert _drain(database, clock) == 0
    assert _counts(database) == before

    # When a forged delivery (the signature of someone without the Token) arrives
    forged_url = original.url.copy_set_param("msg_signature", "0123456789abcdef0123456789abcdef01234567")
    forged = httpx.post(str(forged_url), content=original.content)
    # Then it is refused and only logged
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "callback_bad_signature"

    # When the genuine request is replayed ten minutes later
    clock.advance(600)
    replayed = httpx.post(str(original.url), content=original.content)
    # Then it is refused as stale
    assert replayed.status_code == 403
    assert replayed.json()["error"]["code"] == "callback_stale_timestamp"
    assert _drain(database, clock) == 0
    assert _counts(database) == before
    with database.session() as session:
        log = [(c.status, (c.reason or "").split(":")[0]) for c in session.scalars(
            select(WeComCallback).order_by(WeComCallback.id))]
    assert log == [(CallbackStatus.handled, f"relation {relation.id} active"),
                   (CallbackStatus.duplicate, f"duplicate of #{callback.id}"),
                   (CallbackStatus.rejected, "bad_signature"), (CallbackStatus.rejected, "stale_timestamp")]
