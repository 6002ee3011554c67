"""Corp tags, media, moments visibility and statistics."""

from __future__ import annotations


def _upload(harness, kind="image"):
    response = harness.client.post("/cgi-bin/media/upload", params={"access_token": harness.token(), "type": kind},
                                   files={"media": ("a.png", b"\x89PNG fake", "image/png")})
    body = response.json()
    assert body["errcode"] == 0, body
    return body


def test_corp_tags_add_collapse_duplicates_and_filter(harness):
    harness.create_corp()
    added = harness.post("externalcontact/add_corp_tag",
                         {"group_name": "新组", "tag": [{"name": "甲"}, {"name": "乙"}, {"name": "甲"}]})
    tags = added["tag_group"]["tag"]
    assert [t["name"] for t in tags] == ["甲", "乙"]
    into_existing = harness.post("externalcontact/add_corp_tag", {"group_name": "新组", "tag": [{"name": "丙"}]})
    assert into_existing["tag_group"]["group_id"] == added["tag_group"]["group_id"]
    by_id = harness.post("externalcontact/get_corp_tag_list", {"tag_id": [tags[0]["id"]]})["tag_group"]
    assert [[t["id"] for t in g["tag"]] for g in by_id] == [[tags[0]["id"]]] and by_id[0]["deleted"] is False
    assert harness.post("externalcontact/edit_corp_tag", {"id": tags[0]["id"], "name": "乙"})["errcode"] == 40058
    assert harness.post("externalcontact/mark_tag", {"userid": harness.staff()[0], "external_userid": "wmX",
                                                     "add_tag": [tags[0]["id"]]})["errcode"] == 40096
    assert harness.post("externalcontact/del_corp_tag", {})["errcode"] == 40058
    group_id = added["tag_group"]["group_id"]
    all_ids = [t["id"] for t in tags] + [into_existing["tag_group"]["tag"][0]["id"]]
    assert harness.post("externalcontact/del_corp_tag", {"tag_id": all_ids})["errcode"] == 0
    listed = harness.post("externalcontact/get_corp_tag_list", {})["tag_group"]
    assert group_id not in [g["group_id"] for g in listed]  # deleting every tag deleted the group


def test_media_upload_is_valid_three_days(harness):
    harness.create_corp()
    media_id = _upload(harness)["media_id"]
    userid = harness.staff()[0]
    attachment = [{"msgtype": "image", "image": {"media_id": media_id}}]
    assert harness.post("externalcontact/add_msg_template",
                        {"sender": userid, "attachments": attachment})["errcode"] == 0
    harness.clock.advance(3 * 86400)
    assert harness.post("externalcontact/add_msg_template",
                        {"sender": userid, "attachments": attachment})["errcode"] == 40007


def test_moment_visibility_follows_tags_and_publication(harness):
    harness.create_corp(staff=2, customers=40)
    corp = harness.state.corps["wwcorp0001"]
    userid = next(u for u, c in corp.customers_by_user.items() if len(c) >= 4)
    customers = list(corp.customers_by_user[userid])
    tag_id = harness.post("externalcontact/add_corp_tag",
                          {"group_name": "朋友圈", "tag": [{"name": "可见"}]})["tag_group"]["tag"][0]["id"]
    for external_userid in customers[:2]:
        harness.post("externalcontact/mark_tag", {"userid": userid, "external_userid": external_userid,
                                                  "add_tag": [tag_id]})
    media_id = _upload(harness)["media_id"]
    jobid = harness.post("externalcontact/add_moment_task", {
        "text": {"content": "新品上市"}, "attachments": [{"msgtype": "image", "image": {"media_id": media_id}}],
        "visible_range": {"sender_list": {"user_list": [userid, "ghost"]},
                          "external_contact_list": {"tag_list": [tag_id]}}})["jobid"]
    result = harness.get("externalcontact/get_moment_task_result", jobid=jobid)
    assert result["status"] == 3 and result["result"]["invalid_sender_list"]["user_list"] == ["ghost"]
    moment_id = result["result"]["moment_id"]
    body = {"moment_id": moment_id, "userid": userid}
    visible = harness.post("externalcontact/get_moment_customer_list", body)["customer_list"]
    assert sorted(r["external_userid"] for r in visible) == sorted(customers[:2])
    assert harness.post("externalcontact/get_moment_send_result", body)["customer_list"] == []
    assert harness.post("externalcontact/get_moment_task", {"moment_id": moment_id})["task_list"] == \
        [{"userid": userid, "publish_status": 0}]
    harness.simulate("staff_publish_moment", moment_id=moment_id, userid=userid)
    sent = harness.post("externalcontact/get_moment_send_result", body)["customer_list"]
    assert sorted(r["external_userid"] for r in sent) == sorted(customers[:2])
    harness.simulate("customer_comment_moment", moment_id=moment_id, userid=userid,
                     external_userid=customers[0], like=True)
    comments = harness.post("externalcontact/get_moment_comments", body)
    assert comments["comment_list"] == [] and [r["external_userid"] for r in comments["like_list"]] == [customers[0]]
    now = int(harness.clock.now().timestamp())
    listed = harness.post("externalcontact/get_moment_list", {"start_time": now - 10, "end_time": now + 10})
    assert [(m["moment_id"], m["visible_type"]) for m in listed["moment_list"]] == [(moment_id, 0)]
    mixed = harness.post("externalcontact/add_moment_task", {"attachments": [
        {"msgtype": "image", "image": {"media_id": media_id}}, {"msgtype": "video", "video": {"media_id": media_id}}]})
    assert mixed["errcode"] == 40058 and mixed["errmsg"].startswith("invalid attachments msgtype")


def test_user_behavior_data_counts_simulated_activity(harness):
    harness.create_corp(customers=0, groups=0)
    userid = harness.staff()[0]
    way = harness.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [userid]})["config_id"]
    first = harness.simulate("scan_contact_way", config_id=way)["external_userid"]
    second = harness.simulate("scan_contact_way", config_id=way)["external_userid"]
    harness.simulate("send_chat_message", sender=first, receiver=userid, content="你好")
    harness.clock.advance(120)
    harness.simulate("staff_send_single", userid=userid, external_userid=first, content="您好")
    harness.simulate("customer_delete_staff", external_userid=second, userid=userid)
    now = int(harness.clock.now().timestamp())
    (day,) = harness.post("externalcontact/get_user_behavior_data",
                          {"userid": [userid], "start_time": now, "end_time": now})["behavior_data"]
    assert day == {"stat_time": now - (now + 8 * 3600) % 86400, "chat_cnt": 1, "message_cnt": 1,
                   "negative_feedback_cnt": 1, "new_apply_cnt": 2, "new_contact_cnt": 2,
                   "reply_percentage": 100.0, "avg_reply_time": 2}
    assert harness.post("externalcontact/get_user_behavior_data",
                        {"userid": [userid], "start_time": now - 40 * 86400, "end_time": now})["errcode"] == 40058


def test_group_statistics_by_owner_and_by_day(harness):
    harness.create_corp(staff=2, customers=20, groups=0)
    corp = harness.state.corps["wwcorp0001"]
    owner = next(u for u, c in corp.customers_by_user.items() if len(c) >= 3)
    members = list(corp.customers_by_user[owner])[:3]
    chat_id = harness.simulate("staff_create_group", owner=owner, name="统计群", members=members[:2])["chat_id"]
    harness.simulate("join_group", chat_id=chat_id, member_id=members[2])
    harness.simulate("send_chat_message", sender=members[0], chat_id=chat_id, content="hi")
    harness.simulate("send_chat_message", sender=owner, chat_id=chat_id, content="欢迎")
    today = int(harness.clock.now().timestamp())
    today -= (today + 8 * 3600) % 86400
    assert harness.post("externalcontact/groupchat/statistic", {"day_begin_time": today})["errcode"] == 40058
    harness.clock.advance(86400)
    stats = harness.post("externalcontact/groupchat/statistic",
                         {"day_begin_time": today, "owner_filter": {"userid_list": [owner]}})
    assert stats["total"] == 1 and stats["next_offset"] == 1
    assert stats["items"][0] == {"owner": owner, "data": {
        "new_chat_cnt": 1, "chat_total": 1, "chat_has_msg": 1, "new_member_cnt": 4, "member_total": 4,
        "member_has_msg": 2, "msg_total": 2, "migrate_trainee_chat_cnt": 0}}
    by_day = harness.post("externalcontact/groupchat/statistic_group_by_day",
                          {"day_begin_time": today, "owner_filter": {"userid_list": [owner]}})["items"]
    assert [(d["stat_time"], d["data"]["msg_total"]) for d in by_day] == [(today, 2)]
