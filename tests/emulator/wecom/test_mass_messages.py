"""Mass messages are tasks: nothing is delivered until the member confirms; receive quotas give status 3."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


def _setup(harness, customers: int = 2, quota_rule: str | None = None):
    harness.create_corp(customers=0, groups=0)
    if quota_rule:
        assert harness.client.put("/simulate/wwcorp0001/config", json={"quota_rule": quota_rule}).status_code == 200
    userid = harness.staff()[0]
    way = harness.post("externalcontact/add_contact_way", {"type": 1, "scene": 2, "user": [userid]})["config_id"]
    ids = [harness.simulate("scan_contact_way", config_id=way)["external_userid"] for _ in range(customers)]
    return userid, ids


def _send(harness, userid, ids, content="会员日 8 折"):
    created = harness.post("externalcontact/add_msg_template",
                           {"chat_type": "single", "external_userid": ids, "sender": userid,
                            "text": {"content": content}})
    assert created["errcode"] == 0, created
    return created["msgid"]


def _results(harness, msgid, userid):
    rows = harness.post("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": userid})["send_list"]
    return {row["external_userid"]: row["status"] for row in rows}


def _mass_deliveries(harness):
    return [m for m in harness.client.get("/simulate/wwcorp0001/messages").json() if m["kind"] == "mass"]


def test_nothing_is_delivered_until_the_member_confirms(harness):
    userid, ids = _setup(harness)
    msgid = _send(harness, userid, ids)
    task = harness.post("externalcontact/get_groupmsg_task", {"msgid": msgid})["task_list"]
    assert task == [{"userid": userid, "status": 0}]
    assert _results(harness, msgid, userid) == {ids[0]: 0, ids[1]: 0}
    assert _mass_deliveries(harness) == []
    outcome = harness.simulate("staff_confirm_mass_task", msgid=msgid, userid=userid)
    assert outcome["sent"] == 2
    task = harness.post("externalcontact/get_groupmsg_task", {"msgid": msgid})["task_list"]
    assert task[0]["status"] == 2 and task[0]["send_time"] == int(harness.clock.now().timestamp())
    assert _results(harness, msgid, userid) == {ids[0]: 1, ids[1]: 1}
    assert len(_mass_deliveries(harness)) == 2
    listed = harness.post("externalcontact/get_groupmsg_list_v2", {
        "chat_type": "single", "start_time": int(harness.clock.now().timestamp()) - 60,
        "end_time": int(harness.clock.now().timestamp()) + 60})["group_msg_list"]
    assert [m["msgid"] for m in listed] == [msgid] and listed[0]["create_type"] == 0 and "creator" not in listed[0]


def test_daily_quota_reports_status_3_and_resets_the_next_day(harness):
    userid, ids = _setup(harness)
    first = _send(harness, userid, ids)
    harness.simulate("staff_confirm_mass_task", msgid=first, userid=userid)
    second = _send(harness, userid, ids)
    assert harness.simulate("staff_confirm_mass_task", msgid=second, userid=userid)["quota_exceeded"] == 2
    assert _results(harness, second, userid) == {ids[0]: 3, ids[1]: 3}
    harness.clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # 00:00 of Jan 6 in China
    third = _send(harness, userid, ids)
    harness.simulate("staff_confirm_mass_task", msgid=third, userid=userid)
    assert _results(harness, third, userid) == {ids[0]: 1, ids[1]: 1}
    assert len(_mass_deliveries(harness)) == 4


def test_weekly7_quota_allows_seven_per_natural_week(harness):
    userid, ids = _setup(harness, customers=1, quota_rule="weekly7")

    def deliver():
        msgid = _send(harness, userid, ids)
        harness.simulate("staff_confirm_mass_task", msgid=msgid, userid=userid)
        return _results(harness, msgid, userid)[ids[0]]

    statuses = []
    for day in range(7):  # Monday 17:00 … Sunday 17:00 China time, one a day
        statuses.append(deliver())
        if day < 6:
            harness.clock.advance(86400)
    statuses.append(deliver())  # a second one on Sunday: the eighth of the week
    assert statuses == [1] * 7 + [3]
    harness.clock.advance(86400)  # the next Monday
    assert deliver() == 1


@pytest.mark.parametrize(("start", "days"), [(datetime(2026, 1, 5, 1, 0, tzinfo=UTC), 31),
                                             (datetime(2026, 2, 3, 1, 0, tzinfo=UTC), 28)])
def test_days_in_month_quota(harness, start, days):
    harness.clock.set(start)
    userid, ids = _setup(harness, customers=1, quota_rule="days_in_month")
    statuses = []
    for index in range(days + 1):  # two a day, so a per-day or per-week rule would not fit
        msgid = _send(harness, userid, ids)
        harness.simulate("staff_confirm_mass_task", msgid=msgid, userid=userid)
        statuses.append(_results(harness, msgid, userid)[ids[0]])
        if index % 2:
            harness.clock.advance(86400)
    assert statuses == [1] * days + [3]
    assert harness.clock.now().month == start.month


def test_customer_who_deleted_the_member_gets_status_2(harness):
    userid, ids = _setup(harness)
    msgid = _send(harness, userid, ids)
    harness.simulate("customer_delete_staff", external_userid=ids[0], userid=userid)
    harness.simulate("staff_confirm_mass_task", msgid=msgid, userid=userid)
    assert _results(harness, msgid, userid) == {ids[0]: 2, ids[1]: 1}


def test_unknown_recipients_are_in_fail_list(harness):
    userid, ids = _setup(harness, customers=1)
    created = harness.post("externalcontact/add_msg_template",
                           {"external_userid": [ids[0], "wmNOBODY"], "sender": userid, "text": {"content": "x"}})
    assert created["fail_list"] == ["wmNOBODY"]
    assert _results(harness, created["msgid"], userid) == {ids[0]: 0}


def test_cancelled_message_cannot_be_confirmed(harness):
    userid, ids = _setup(harness)
    msgid = _send(harness, userid, ids)
    assert harness.post("externalcontact/cancel_groupmsg_send", {"msgid": msgid})["errcode"] == 0
    harness.simulate("staff_confirm_mass_task", msgid=msgid, userid=userid, expect=409)
    assert _mass_deliveries(harness) == []


def test_remind_at_most_three_times_a_day(harness):
    userid, ids = _setup(harness, customers=1)
    msgid = _send(harness, userid, ids)
    codes = [harness.post("externalcontact/remind_groupmsg_send", {"msgid": msgid})["errcode"] for _ in range(4)]
    assert codes == [0, 0, 0, 40058]


def test_group_mass_message_reaches_the_senders_groups_once_a_day(harness):
    harness.create_corp(customers=20, groups=0)
    owner = next(u for u, c in harness.state.corps["wwcorp0001"].customers_by_user.items() if len(c) >= 2)
    members = list(harness.state.corps["wwcorp0001"].customers_by_user[owner])[:2]
    chat_id = harness.simulate("staff_create_group", owner=owner, name="福利群", members=members)["chat_id"]
    msgid = harness.post("externalcontact/add_msg_template",
                         {"chat_type": "group", "sender": owner, "text": {"content": "群发"}})["msgid"]
    rows = harness.post("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": owner})["send_list"]
    assert rows == []  # group sends list sent rows only
    harness.simulate("staff_confirm_mass_task", msgid=msgid, userid=owner)
    rows = harness.post("externalcontact/get_groupmsg_send_result", {"msgid": msgid, "userid": owner})["send_list"]
    assert [(r["chat_id"], r["status"]) for r in rows] == [(chat_id, 1)]
    second = harness.post("externalcontact/add_msg_template",
                          {"chat_type": "group", "sender": owner, "text": {"content": "又一条"}})["msgid"]
    assert harness.simulate("staff_confirm_mass_task", msgid=second, userid=owner)["quota_exceeded"] == 1
    assert harness.post("externalcontact/add_msg_template",
                        {"chat_type": "group", "text": {"content": "x"}})["errcode"] == 40058
