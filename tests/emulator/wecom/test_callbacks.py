"""Callback delivery: API changes raise none, simulated actions do; encryption, envelope, retries."""

from __future__ import annotations

import httpx
import xmltodict
from fastapi.testclient import TestClient

from siyu.emulator.wecom import close_emulator, create_emulator_app

from .conftest import AES_KEY, TOKEN, CallbackReceiver, Harness


def _tag_ids(harness):
    groups = harness.post("externalcontact/get_corp_tag_list", {})["tag_group"]
    return [t["id"] for g in groups for t in g["tag"]]


def test_api_changes_raise_no_callbacks(harness):
    harness.create_corp()
    userid = harness.staff()[0]
    external_userid = harness.get("externalcontact/list", userid=userid)["external_userid"][0]
    added = harness.post("externalcontact/add_corp_tag", {"group_name": "API组", "tag": [{"name": "API标签"}]})
    tag_id = added["tag_group"]["tag"][0]["id"]
    assert harness.post("externalcontact/edit_corp_tag", {"id": tag_id, "name": "改名"})["errcode"] == 0
    assert harness.post("externalcontact/mark_tag", {"userid": userid, "external_userid": external_userid,
                                                     "add_tag": [tag_id]})["errcode"] == 0
    assert harness.post("externalcontact/remark", {"userid": userid, "external_userid": external_userid,
                                                   "remark": "老客户"})["errcode"] == 0
    assert harness.post("externalcontact/del_corp_tag", {"tag_id": [tag_id]})["errcode"] == 0
    harness.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [userid]})
    harness.settle()
    assert harness.receiver.requests == []
    assert harness.client.get("/simulate/wwcorp0001/callbacks").json() == []


def test_simulated_actions_raise_the_matching_events(harness):
    harness.create_corp()
    userid = harness.staff()[0]
    customers = harness.get("externalcontact/list", userid=userid)["external_userid"]
    created = harness.simulate("admin_create_tags", group_name="活动", tags=["双11", "618"])
    harness.simulate("admin_update_tag", id=created["tag_ids"][0], name="双十一")
    harness.simulate("staff_edit_customer", userid=userid, external_userid=customers[0], remark="VIP",
                     add_tag=[created["tag_ids"][0]])
    harness.simulate("admin_delete_tags", group_id=[created["group_id"]])
    harness.simulate("customer_delete_staff", external_userid=customers[0], userid=userid)
    harness.simulate("staff_delete_customer", userid=userid, external_userid=customers[1])
    department = harness.simulate("admin_add_department", name="成都2号店", parentid=1)["id"]
    harness.simulate("admin_add_user", userid="newbie", name="新同事", department=[department])
    harness.simulate("admin_update_user", userid="newbie", position="店长")
    harness.settle()
    assert harness.receiver.changes() == [
        ("change_external_tag", "create"), ("change_external_tag", "create"), ("change_external_tag", "create"),
        ("change_external_tag", "update"), ("change_external_contact", "edit_external_contact"),
        ("change_external_tag", "delete"), ("change_external_contact", "del_follow_user"),
        ("change_external_contact", "del_external_contact"), ("change_contact", "create_party"),
        ("change_contact", "create_user"), ("change_contact", "update_user"),
    ]
    events = harness.receiver.events
    assert (events[0]["Id"], events[0]["TagType"]) == (created["group_id"], "tag_group")
    assert [e["Id"] for e in events[1:3]] == created["tag_ids"]
    assert (events[5]["Id"], events[5]["TagType"]) == (created["group_id"], "tag_group")
    assert events[9]["UserID"] == "newbie" and events[9]["Department"] == str(department)
    # Deleting the group removed its tags from every customer, and the API agrees.
    assert created["tag_ids"][0] not in _tag_ids(harness)


def test_envelope_and_query_parameters(harness):
    harness.create_corp()
    way = harness.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [harness.staff()[0]]})
    harness.simulate("scan_contact_way", config_id=way["config_id"])
    harness.settle()
    request = harness.receiver.requests[0]
    assert request.method == "POST" and request.url.path == "/wecom/callback/wwcorp0001"
    assert set(request.url.params) == {"msg_signature", "timestamp", "nonce"}
    assert request.url.params["timestamp"] == str(int(harness.clock.now().timestamp()))
    envelope = xmltodict.parse(request.content)["xml"]
    assert set(envelope) == {"ToUserName", "Encrypt", "AgentID"} and envelope["ToUserName"] == "wwcorp0001"


def test_failed_deliveries_are_retried_up_to_three_attempts(harness):
    harness.create_corp()
    way = harness.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [harness.staff()[0]]})
    harness.receiver.statuses = [500, 503]
    harness.simulate("scan_contact_way", config_id=way["config_id"])
    harness.settle()
    (delivery,) = harness.client.get("/simulate/wwcorp0001/callbacks").json()
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert len(harness.receiver.events) == 1
    # All three attempts carried the same ciphertext, so a receiver can dedupe.
    assert len({r.content for r in harness.receiver.requests}) == 1


def test_delivery_gives_up_after_three_failures(harness):
    harness.create_corp()
    way = harness.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [harness.staff()[0]]})
    harness.receiver.statuses = [500, 500, 500, 500]
    harness.simulate("scan_contact_way", config_id=way["config_id"])
    harness.settle()
    (delivery,) = harness.client.get("/simulate/wwcorp0001/callbacks").json()
    assert delivery["state"] == "failed" and len(delivery["attempts"]) == 3
    assert len(harness.receiver.requests) == 3 and harness.receiver.statuses == [500]


def test_connection_errors_count_as_failures(clock):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    app = create_emulator_app(clock=clock, callback_http_client=http, callback_retry_delays=(0, 0))
    with TestClient(app) as client:
        harness = Harness(app, client, CallbackReceiver(), clock)
        harness.create_corp()
        harness.simulate("staff_resign", userid=harness.staff()[0])
        harness.settle()
        (delivery,) = client.get("/simulate/wwcorp0001/callbacks").json()
        assert delivery["state"] == "failed"
        assert [a["error"].split(":")[0] for a in delivery["attempts"]] == ["ConnectError"] * 3
    close_emulator(app)
    http.close()


def test_without_a_callback_url_events_are_recorded_but_not_sent(harness):
    harness.create_corp(callback=False)
    harness.simulate("staff_resign", userid=harness.staff()[0])
    harness.settle()
    (delivery,) = harness.client.get("/simulate/wwcorp0001/callbacks").json()
    assert delivery["state"] == "no_url" and delivery["attempts"] == []
    assert harness.receiver.requests == []


def test_configuring_the_url_runs_wecom_url_verification(harness):
    harness.create_corp(callback=False)
    url = "http://siyu.test/wecom/callback/wwcorp0001"
    ok = harness.client.put("/simulate/wwcorp0001/config", json={"callback_url": url, "callback_token": TOKEN,
                                                                  "encoding_aes_key": AES_KEY,
                                                                  "verify_callback_url_now": True})
    assert ok.status_code == 200 and ok.json()["verification"] == "ok"
    assert harness.receiver.requests[-1].method == "GET"
    refused = harness.client.put("/simulate/wwcorp0001/config", json={
        "callback_url": url, "callback_token": "wrongtoken", "verify_callback_url_now": True})
    assert refused.status_code == 409
    assert harness.client.get("/simulate/wwcorp0001").json()["callback"]["token"] == TOKEN


def test_quota_rule_must_be_known(harness):
    harness.create_corp()
    response = harness.client.put("/simulate/wwcorp0001/config", json={"quota_rule": "monthly4"})
    assert response.status_code == 422
    assert harness.client.get("/simulate/wwcorp0001").json()["quota_rule"] == "daily"
