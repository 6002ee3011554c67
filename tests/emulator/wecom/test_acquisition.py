"""Contact ways, scanning, half-adds and welcome codes."""

from __future__ import annotations


def _way(harness, users, **extra):
    body = {"type": 1 if len(users) == 1 else 2, "scene": 2, "user": users, "state": "live_0105", **extra}
    created = harness.post("externalcontact/add_contact_way", body)
    assert created["errcode"] == 0, created
    return created["config_id"]


def test_contact_way_refuses_more_than_100_users_and_changes_nothing(harness):
    harness.create_corp(staff=101, customers=0, groups=0)
    staff = harness.staff()
    before = set(harness.state.corps["wwcorp0001"].contact_ways)
    refused = harness.post("externalcontact/add_contact_way", {"type": 2, "scene": 2, "user": staff})
    assert refused["errcode"] == 40058 and "at most 100 users" in refused["errmsg"]
    assert set(harness.state.corps["wwcorp0001"].contact_ways) == before
    config_id = _way(harness, staff[:100])
    assert harness.post("externalcontact/update_contact_way",
                        {"config_id": config_id, "user": staff})["errcode"] == 40058
    assert harness.post("externalcontact/get_contact_way", {"config_id": config_id})["contact_way"]["user"] == staff[:100]


def test_contact_way_party_expansion_counts_toward_the_limit(harness):
    harness.create_corp(staff=101, customers=0, groups=0)
    refused = harness.post("externalcontact/add_contact_way", {"type": 2, "scene": 2, "party": [1]})
    assert refused["errcode"] == 40058


def test_single_way_needs_exactly_one_user(harness):
    harness.create_corp()
    staff = harness.staff()
    assert harness.post("externalcontact/add_contact_way",
                        {"type": 1, "scene": 2, "user": staff[:2]})["errcode"] == 40058


def test_contact_way_crud_and_list(harness):
    harness.create_corp()
    staff = harness.staff()
    config_id = _way(harness, staff[:1], remark="直播间")
    assert harness.post("externalcontact/update_contact_way",
                        {"config_id": config_id, "state": "live_0106", "skip_verify": False})["errcode"] == 0
    way = harness.post("externalcontact/get_contact_way", {"config_id": config_id})["contact_way"]
    assert (way["state"], way["skip_verify"], way["remark"]) == ("live_0106", False, "直播间")
    listed = harness.post("externalcontact/list_contact_way", {})["contact_way"]
    assert {"config_id": config_id} in listed
    assert harness.post("externalcontact/del_contact_way", {"config_id": config_id})["errcode"] == 0
    assert harness.post("externalcontact/get_contact_way", {"config_id": config_id})["errcode"] == 40058


def test_scan_adds_customer_with_state_and_raises_add_external_contact(harness):
    harness.create_corp()
    userid = harness.staff()[0]
    config_id = _way(harness, [userid])
    scanned = harness.simulate("scan_contact_way", config_id=config_id, name="林小姐")
    harness.settle()
    assert scanned["userid"] == userid and scanned["half"] is False
    detail = harness.get("externalcontact/get", external_userid=scanned["external_userid"])
    assert detail["external_contact"]["name"] == "林小姐"
    follow = next(f for f in detail["follow_user"] if f["userid"] == userid)
    assert (follow["state"], follow["add_way"]) == ("live_0105", 1)
    event = harness.receiver.events[-1]
    assert (event["Event"], event["ChangeType"]) == ("change_external_contact", "add_external_contact")
    assert event["ToUserName"] == "wwcorp0001" and event["FromUserName"] == "sys"
    assert (event["UserID"], event["ExternalUserID"]) == (userid, scanned["external_userid"])
    assert event["State"] == "live_0105" and event["WelcomeCode"] == scanned["welcome_code"]


def test_non_skip_verify_way_half_adds_then_accept_adds(harness):
    harness.create_corp()
    userid = harness.staff()[0]
    config_id = _way(harness, [userid], skip_verify=False)
    scanned = harness.simulate("scan_contact_way", config_id=config_id)
    assert scanned["half"] is True
    harness.simulate("accept", userid=userid, external_userid=scanned["external_userid"])
    harness.settle()
    changes = [(e["ChangeType"], e.get("WelcomeCode")) for e in harness.receiver.events]
    assert changes == [("add_half_external_contact", scanned["welcome_code"]), ("add_external_contact", None)]
    assert harness.receiver.events[-1]["State"] == "live_0105"
    harness.simulate("accept", userid=userid, external_userid=scanned["external_userid"], expect=409)


def test_welcome_code_works_once_then_41051(harness):
    harness.create_corp()
    config_id = _way(harness, [harness.staff()[0]])
    code = harness.simulate("scan_contact_way", config_id=config_id)["welcome_code"]
    body = {"welcome_code": code, "text": {"content": "欢迎光临！"}}
    assert harness.post("externalcontact/send_welcome_msg", body)["errcode"] == 0
    again = harness.post("externalcontact/send_welcome_msg", body)
    assert again["errcode"] == 41051 and again["errmsg"].startswith("externaluser has started chatting")
    delivered = [m for m in harness.client.get("/simulate/wwcorp0001/messages").json() if m["kind"] == "welcome"]
    assert len(delivered) == 1 and delivered[0]["text"] == {"content": "欢迎光临！"}


def test_welcome_code_expires_after_20_seconds(harness):
    harness.create_corp()
    config_id = _way(harness, [harness.staff()[0]])
    fresh = harness.simulate("scan_contact_way", config_id=config_id)["welcome_code"]
    stale = harness.simulate("scan_contact_way", config_id=config_id)["welcome_code"]
    harness.clock.advance(20)
    assert harness.post("externalcontact/send_welcome_msg",
                        {"welcome_code": fresh, "text": {"content": "hi"}})["errcode"] == 0
    harness.clock.advance(0.5)
    assert harness.post("externalcontact/send_welcome_msg",
                        {"welcome_code": stale, "text": {"content": "hi"}})["errcode"] == 41051
    assert [m["kind"] for m in harness.client.get("/simulate/wwcorp0001/messages").json()] == ["welcome"]


def test_welcome_code_after_the_customer_chatted_is_41051(harness):
    harness.create_corp()
    userid = harness.staff()[0]
    scanned = harness.simulate("scan_contact_way", config_id=_way(harness, [userid]))
    harness.simulate("send_chat_message", sender=scanned["external_userid"], receiver=userid, content="在吗")
    assert harness.post("externalcontact/send_welcome_msg",
                        {"welcome_code": scanned["welcome_code"], "text": {"content": "hi"}})["errcode"] == 41051


def test_welcome_code_held_by_another_app_is_41096_then_usable(harness):
    harness.create_corp()
    code = harness.simulate("scan_contact_way", config_id=_way(harness, [harness.staff()[0]]))["welcome_code"]
    harness.simulate("hold_welcome_code", welcome_code=code, seconds=5)
    body = {"welcome_code": code, "text": {"content": "hi"}}
    assert harness.post("externalcontact/send_welcome_msg", body)["errcode"] == 41096
    harness.clock.advance(6)
    assert harness.post("externalcontact/send_welcome_msg", body)["errcode"] == 0


def test_welcome_message_needs_content(harness):
    harness.create_corp()
    code = harness.simulate("scan_contact_way", config_id=_way(harness, [harness.staff()[0]]))["welcome_code"]
    assert harness.post("externalcontact/send_welcome_msg", {"welcome_code": code})["errcode"] == 40058
    # The refused attempt did not consume the code.
    assert harness.post("externalcontact/send_welcome_msg",
                        {"welcome_code": code, "text": {"content": "hi"}})["errcode"] == 0


def test_multi_user_way_rotates_members(harness):
    harness.create_corp()
    staff = harness.staff()[:3]
    config_id = _way(harness, staff)
    chosen = [harness.simulate("scan_contact_way", config_id=config_id)["userid"] for _ in range(6)]
    assert chosen == staff + staff


def test_temporary_way_is_spent_after_one_add(harness):
    harness.create_corp()
    config_id = _way(harness, [harness.staff()[0]], is_temp=True, expires_in=3600)
    harness.simulate("scan_contact_way", config_id=config_id)
    harness.simulate("scan_contact_way", config_id=config_id, expect=409)
