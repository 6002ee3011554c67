"""Customer groups: size limit, membership callbacks, join ways, group transfer."""

from __future__ import annotations


def _big_corp(harness):
    harness.create_corp(staff=1, customers=520, groups=0)
    owner = harness.staff()[0]
    customers = list(harness.state.corps["wwcorp0001"].customers_by_user[owner])
    return owner, customers


def test_customer_group_holds_at_most_500_members(harness):
    owner, customers = _big_corp(harness)
    chat_id = harness.simulate("staff_create_group", owner=owner, name="大群", members=customers[:499])["chat_id"]
    harness.settle()
    events_before = len(harness.receiver.events)
    refused = harness.simulate("join_group", chat_id=chat_id, member_id=customers[499], expect=409)
    assert "full" in refused["detail"]
    group = harness.post("externalcontact/groupchat/get", {"chat_id": chat_id})["group_chat"]
    assert len(group["member_list"]) == 500
    assert customers[499] not in {m["userid"] for m in group["member_list"]}
    harness.settle()
    assert len(harness.receiver.events) == events_before
    harness.simulate("staff_create_group", owner=owner, name="太大", members=customers[:500], expect=409)


def test_join_and_leave_raise_update_events_with_member_versions(harness):
    owner, customers = _big_corp(harness)
    chat_id = harness.simulate("staff_create_group", owner=owner, name="会员群", members=customers[:3])["chat_id"]
    version_before = harness.post("externalcontact/groupchat/get", {"chat_id": chat_id})["group_chat"]["member_version"]
    harness.simulate("join_group", chat_id=chat_id, member_id=customers[3], join_scene=3)
    version_after = harness.post("externalcontact/groupchat/get", {"chat_id": chat_id})["group_chat"]["member_version"]
    harness.simulate("leave_group", chat_id=chat_id, member_id=customers[0], quit_scene=1)
    harness.settle()
    create, join, leave = harness.receiver.events[-3:]
    assert (create["ChangeType"], create["ChatId"]) == ("create", chat_id)
    assert (join["ChangeType"], join["UpdateDetail"], join["JoinScene"], join["MemChangeCnt"]) == \
        ("update", "add_member", "3", "1")
    assert join["MemChangeList"]["Item"] == customers[3]
    assert (join["LastMemVer"], join["CurMemVer"]) == (version_before, version_after)
    assert (leave["UpdateDetail"], leave["QuitScene"], leave["MemChangeList"]["Item"]) == \
        ("del_member", "1", customers[0])
    members = harness.post("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1})["group_chat"]
    joined = next(m for m in members["member_list"] if m["userid"] == customers[3])
    assert joined["type"] == 2 and joined["join_scene"] == 3 and joined["name"]


def test_join_way_auto_creates_a_room_when_its_groups_are_full(harness):
    owner, customers = _big_corp(harness)
    chat_id = harness.simulate("staff_create_group", owner=owner, name="福利群1", members=customers[:499])["chat_id"]
    config_id = harness.post("externalcontact/groupchat/add_join_way", {
        "scene": 2, "chat_id_list": [chat_id], "auto_create_room": 1, "room_base_name": "福利群",
        "room_base_id": 2, "state": "qr_store"})["config_id"]
    way = harness.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["join_way"]
    assert way["chat_id_list"] == [chat_id] and way["qr_code"]
    joined = harness.simulate("join_group", member_id=customers[499], join_way=config_id)
    assert joined["chat_id"] != chat_id and joined["members"] == 2
    group = harness.post("externalcontact/groupchat/get", {"chat_id": joined["chat_id"]})["group_chat"]
    assert group["name"] == "福利群2" and group["owner"] == owner
    assert next(m for m in group["member_list"] if m["userid"] == customers[499])["state"] == "qr_store"
    harness.settle()
    assert [e["ChangeType"] for e in harness.receiver.events[-2:]] == ["create", "update"]


def test_join_way_limits_and_full_overwrite(harness):
    owner, customers = _big_corp(harness)
    chats = [harness.simulate("staff_create_group", owner=owner, name=f"群{i}", members=customers[i:i + 2])["chat_id"]
             for i in range(6)]
    assert harness.post("externalcontact/groupchat/add_join_way",
                        {"scene": 2, "chat_id_list": chats})["errcode"] == 40058
    config_id = harness.post("externalcontact/groupchat/add_join_way",
                             {"scene": 2, "chat_id_list": chats[:2], "remark": "x" * 40})["config_id"]
    way = harness.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["join_way"]
    assert len(way["remark"]) == 30
    assert harness.post("externalcontact/groupchat/update_join_way",
                        {"config_id": config_id, "scene": 1, "chat_id_list": chats[2:3]})["errcode"] == 0
    way = harness.post("externalcontact/groupchat/get_join_way", {"config_id": config_id})["join_way"]
    assert (way["scene"], way["chat_id_list"], way["remark"]) == (1, chats[2:3], "")
    assert harness.post("externalcontact/groupchat/del_join_way", {"config_id": config_id})["errcode"] == 0


def test_groupchat_list_filters_and_requires_limit(harness):
    harness.create_corp(staff=6, customers=60, groups=4)
    assert harness.post("externalcontact/groupchat/list", {})["errcode"] == 40058
    everything = harness.post("externalcontact/groupchat/list", {"limit": 2})
    assert len(everything["group_chat_list"]) == 2 and everything["next_cursor"]
    rest = harness.post("externalcontact/groupchat/list", {"limit": 1000, "cursor": everything["next_cursor"]})
    assert len(rest["group_chat_list"]) == 2 and rest["next_cursor"] == ""
    owner = harness.state.corps["wwcorp0001"].groups[everything["group_chat_list"][0]["chat_id"]].owner
    mine = harness.post("externalcontact/groupchat/list", {"limit": 100, "owner_filter": {"userid_list": [owner]}})
    assert all(harness.state.corps["wwcorp0001"].groups[g["chat_id"]].owner == owner
               for g in mine["group_chat_list"])


def test_dismissed_group_raises_dismiss_and_disappears(harness):
    owner, customers = _big_corp(harness)
    chat_id = harness.simulate("staff_create_group", owner=owner, name="临时群", members=customers[:2])["chat_id"]
    harness.simulate("dismiss_group", chat_id=chat_id)
    harness.settle()
    assert (harness.receiver.events[-1]["ChangeType"], harness.receiver.events[-1]["ChatId"]) == ("dismiss", chat_id)
    assert harness.post("externalcontact/groupchat/get", {"chat_id": chat_id})["errcode"] == 40058


def test_resigned_group_transfer_needs_a_resigned_owner_and_raises_no_callback(harness):
    harness.create_corp(staff=3, customers=30, groups=0)
    owner, heir = harness.staff()[:2]
    members = list(harness.state.corps["wwcorp0001"].customers_by_user[owner])[:2]
    chat_id = harness.simulate("staff_create_group", owner=owner, name="店群", members=members)["chat_id"]
    failed = harness.post("externalcontact/groupchat/transfer", {"chat_id_list": [chat_id], "new_owner": heir})
    assert failed["failed_chat_list"] == [{"chat_id": chat_id, "errcode": 90500,
                                           "errmsg": "the owner of this chat is not resigned"}]
    harness.simulate("staff_resign", userid=owner)
    harness.settle()
    events_before = len(harness.receiver.events)
    assert harness.receiver.events[-1]["Event"] == "change_contact"
    assert harness.receiver.events[-1]["ChangeType"] == "delete_user"
    done = harness.post("externalcontact/groupchat/transfer", {"chat_id_list": [chat_id], "new_owner": heir})
    assert done["failed_chat_list"] == []
    assert harness.post("externalcontact/groupchat/get", {"chat_id": chat_id})["group_chat"]["owner"] == heir
    listed = harness.post("externalcontact/groupchat/list", {"limit": 10, "status_filter": 3})["group_chat_list"]
    assert listed == [{"chat_id": chat_id, "status": 3}]
    harness.settle()
    assert len(harness.receiver.events) == events_before
