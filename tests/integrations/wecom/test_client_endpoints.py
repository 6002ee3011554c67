"""Every typed call of the WeCom client round-trips against the emulator over real HTTP, and what
comes back (or what changed in the emulator) is exactly what was asked for."""

from __future__ import annotations

import pytest

from siyu.emulator.wecom.state import day_start
from siyu.integrations.wecom import schemas as s
from siyu.integrations.wecom import schemas_engagement as e
from siyu.integrations.wecom import schemas_groups as g
from siyu.integrations.wecom.client import WeComClient, WeComClientFactory
from siyu.integrations.wecom.errors import WeComApiError
from siyu.integrations.wecom.ratelimit import RateLimiter, RetryPolicy

DAY = 86400


@pytest.fixture
def corp(database, settings, wecom_emulator):
    wecom_emulator.seed(departments=4, staff=6, customers=30, groups=2)
    with database.session() as session:
        corp_id = wecom_emulator.connect(session, secret_key=settings.secret_key)
    return corp_id


@pytest.fixture
def factory(database, clock, settings) -> WeComClientFactory:
    return WeComClientFactory(database.session, clock, settings=settings, retry=RetryPolicy(attempts=1),
                              rate_limiter=RateLimiter())


@pytest.fixture
def client(factory, corp) -> WeComClient:
    return factory.for_corp(corp)


@pytest.fixture
def world(wecom_emulator):
    return wecom_emulator.state.corps[wecom_emulator.corp_id]


def test_address_book_calls(factory, corp, world):
    book = factory.for_corp(corp, "address_book")
    departments = book.department_list().department
    assert sorted((d.id, d.parentid, d.name) for d in departments) == sorted(
        (d.id, d.parentid, d.name) for d in world.departments.values())
    subtree = book.department_simplelist(2).department_id
    assert sorted(d.id for d in subtree) == sorted(world.department_tree(2))
    assert book.department_get(3).department.name == world.departments[3].name

    members = book.user_simplelist(1, fetch_child=True).userlist
    assert sorted(m.userid for m in members) == sorted(world.members)
    store_members = book.user_list(3).userlist
    assert [m.userid for m in store_members] == [
        m.userid for m in world.members.values() if 3 in m.department]
    first = next(iter(world.members.values()))
    detail = book.user_get(first.userid)
    assert (detail.userid, detail.name, detail.mobile, detail.main_department, detail.status) == (
        first.userid, first.name, first.mobile, first.main_department, 1)
    rows = book.user_list_id(s.UserListIdRequest(limit=4))
    assert [(r.userid, r.department) for r in rows.dept_user] == [
        (m.userid, m.department[0]) for m in list(world.members.values())[:4]]
    assert rows.next_cursor


def test_customer_calls(client, world):
    follow_users = client.get_follow_user_list().follow_user
    assert follow_users == list(world.members)
    userid = follow_users[0]
    listed = client.list_external_contacts(userid).external_userid
    assert listed == list(world.customers_by_user[userid])

    contact = world.customers[listed[0]]
    answer = client.get_external_contact(contact.external_userid)
    found = answer.external_contact
    assert (found.name, found.unionid, found.gender) == (contact.name, contact.unionid, contact.gender)
    assert [f.userid for f in answer.follow_user] == list(contact.follows)
    assert answer.next_cursor == ""

    page = client.batch_get_by_user(s.BatchGetByUserRequest(userid_list=[userid], limit=2))
    assert [item.external_contact.external_userid for item in page.external_contact_list] == listed[:2]
    assert page.external_contact_list[0].follow_info.tag_id == contact.follows[userid].tag_ids
    assert page.next_cursor

    client.remark(s.RemarkRequest(userid=userid, external_userid=contact.external_userid, remark="老客户",
                                  description="喜欢车厘子"))
    assert (contact.follows[userid].remark, contact.follows[userid].description) == ("老客户", "喜欢车厘子")


def test_corp_tag_calls(client, world):
    groups = client.get_corp_tag_list().tag_group
    assert sorted(group.group_name for group in groups) == sorted(
        g.group_name for g in world.tag_groups.values())

    added = client.add_corp_tag(s.AddCorpTagRequest(group_name="节日", tag=[s.NewCorpTag(name="中秋"),
                                                                          s.NewCorpTag(name="春节")]))
    assert [t.name for t in added.tag_group.tag] == ["中秋", "春节"]
    mid_autumn, spring = (t.id for t in added.tag_group.tag)
    client.edit_corp_tag(s.EditCorpTagRequest(id=mid_autumn, name="中秋节"))
    assert world.tags[mid_autumn].name == "中秋节"

    userid = next(iter(world.members))
    external_userid = next(iter(world.customers_by_user[userid]))
    client.mark_tag(s.MarkTagRequest(userid=userid, external_userid=external_userid, add_tag=[spring]))
    assert spring in world.customers[external_userid].follows[userid].tag_ids

    client.del_corp_tag(s.DelCorpTagRequest(tag_id=[spring]))
    by_id = client.get_corp_tag_list(s.GetCorpTagListRequest(tag_id=[spring])).tag_group
    assert [(t.id, t.deleted) for t in by_id[0].tag] == [(spring, True)]
    assert spring not in world.customers[external_userid].follows[userid].tag_ids


def test_contact_way_and_welcome_calls(client, world, wecom_emulator):
    userid = next(iter(world.members))
    created = client.add_contact_way(e.AddContactWayRequest(type=1, scene=2, user=[userid], state="spring_qr",
                                                            remark="春季门店码"))
    assert created.qr_code.startswith("http")
    way = client.get_contact_way(created.config_id).contact_way
    assert (way.type, way.scene, way.user, way.state, way.remark) == (1, 2, [userid], "spring_qr", "春季门店码")
    listed = client.list_contact_way(e.ListContactWayRequest(limit=1000)).contact_way
    assert created.config_id in [w.config_id for w in listed]
    client.update_contact_way(e.UpdateContactWayRequest(config_id=created.config_id, remark="夏季门店码"))
    assert world.contact_ways[created.config_id].remark == "夏季门店码"

    scan = wecom_emulator.simulator.scan_contact_way(wecom_emulator.corp_id, created.config_id)
    client.send_welcome_msg(e.SendWelcomeMsgRequest(welcome_code=scan["welcome_code"],
                                                    text=e.Text(content="欢迎！")))
    assert world.messages[-1]["kind"] == "welcome" and world.messages[-1]["text"] == {"content": "欢迎！"}
    with pytest.raises(WeComApiError) as again:
        client.send_welcome_msg(e.SendWelcomeMsgRequest(welcome_code=scan["welcome_code"],
                                                        text=e.Text(content="欢迎！")))
    assert again.value.errcode == 41051
    client.close_temp_chat(e.CloseTempChatRequest(userid=userid, external_userid=scan["external_userid"]))

    client.del_contact_way(created.config_id)
    assert created.config_id not in world.contact_ways


def test_mass_message_calls(client, world, wecom_emulator, clock):
    userid = next(iter(world.members))
    recipients = list(world.customers_by_user[userid])
    created = client.add_msg_template(e.AddMsgTemplateRequest(
        chat_type="single", external_userid=[*recipients, "wmnobody"], sender=userid,
        text=e.Text(content="周三会员日")))
    assert created.fail_list == ["wmnobody"]

    now = int(clock.now().timestamp())
    listed = client.get_groupmsg_list_v2(e.GetGroupMsgListV2Request(chat_type="single", start_time=now - DAY,
                                                                    end_time=now + 60))
    assert [(m.msgid, m.text) for m in listed.group_msg_list] == [(created.msgid, {"content": "周三会员日"})]
    client.remind_groupmsg_send(created.msgid)
    wecom_emulator.simulator.staff_confirm_mass_task(wecom_emulator.corp_id, created.msgid, userid)
    tasks = client.get_groupmsg_task(e.GetGroupMsgTaskRequest(msgid=created.msgid)).task_list
    assert [(t.userid, t.status, t.send_time) for t in tasks] == [(userid, 2, now)]
    results = client.get_groupmsg_send_result(e.GetGroupMsgSendResultRequest(msgid=created.msgid,
                                                                             userid=userid))
    assert sorted((r.external_userid, r.status) for r in results.send_list) == sorted(
        (x, 1) for x in recipients)

    second = client.add_msg_template(e.AddMsgTemplateRequest(sender=userid, text=e.Text(content="第二条")))
    client.cancel_groupmsg_send(second.msgid)
    assert world.mass_messages[second.msgid].cancelled


def test_moment_calls(client, world, wecom_emulator, clock):
    userid = next(iter(world.members))
    media = client.upload_media("image", "fruit.jpg", b"\xff\xd8jpeg-bytes")
    job = client.add_moment_task(e.AddMomentTaskRequest(
        text=e.Text(content="新品上市"),
        attachments=[e.Attachment(msgtype="image", image=e.ImagePayload(media_id=media.media_id))],
        visible_range=e.MomentVisibleRange(sender_list=e.MomentSenders(user_list=[userid]))))
    result = client.get_moment_task_result(job.jobid)
    assert (result.status, result.result.errcode) == (3, 0)
    moment_id = result.result.moment_id

    now = int(clock.now().timestamp())
    moments = client.get_moment_list(e.GetMomentListRequest(start_time=now - DAY,
                                                            end_time=now + 60)).moment_list
    assert [(m.moment_id, m.text, m.image) for m in moments] == [
        (moment_id, {"content": "新品上市"}, [{"media_id": media.media_id}])]
    wecom_emulator.simulator.staff_publish_moment(wecom_emulator.corp_id, moment_id, userid)
    tasks = client.get_moment_task(e.GetMomentTaskRequest(moment_id=moment_id)).task_list
    assert [(t.userid, t.publish_status) for t in tasks] == [(userid, 1)]
    customers = list(world.customers_by_user[userid])
    visible = client.get_moment_customer_list(e.MomentMemberRequest(moment_id=moment_id, userid=userid))
    assert [c.external_userid for c in visible.customer_list] == customers
    sent = client.get_moment_send_result(e.MomentMemberRequest(moment_id=moment_id, userid=userid))
    assert [c.external_userid for c in sent.customer_list] == customers
    wecom_emulator.simulator.customer_comment_moment(wecom_emulator.corp_id, moment_id, userid, customers[0])
    comments = client.get_moment_comments(e.GetMomentCommentsRequest(moment_id=moment_id, userid=userid))
    assert [(c.external_userid, c.create_time) for c in comments.comment_list] == [(customers[0], now)]
    client.cancel_moment_task(moment_id)
    assert world.moments[moment_id].cancelled


def test_group_chat_and_join_way_calls(client, world):
    listed = client.groupchat_list(g.GroupChatListRequest(limit=1000))
    assert sorted(c.chat_id for c in listed.group_chat_list) == sorted(world.groups)
    chat_id = listed.group_chat_list[0].chat_id
    chat = client.groupchat_get(chat_id).group_chat
    group = world.groups[chat_id]
    assert (chat.name, chat.owner, [m.userid for m in chat.member_list]) == (group.name, group.owner,
                                                                             list(group.members))
    assert all(m.name for m in chat.member_list)

    created = client.add_join_way(g.JoinWayRequest(scene=2, chat_id_list=[chat_id], state="group_qr",
                                                   room_base_name="福利群", room_base_id=3))
    way = client.get_join_way(created.config_id).join_way
    assert (way.scene, way.chat_id_list, way.state, way.room_base_id) == (2, [chat_id], "group_qr", 3)
    client.update_join_way(g.UpdateJoinWayRequest(config_id=created.config_id, scene=1,
                                                  chat_id_list=[chat_id]))
    assert world.join_ways[created.config_id].scene == 1
    client.del_join_way(created.config_id)
    assert created.config_id not in world.join_ways


def test_transfer_calls(client, world, wecom_emulator):
    handover, takeover, leaver = list(world.members)[:3]
    customer = next(iter(world.customers_by_user[handover]))
    started = client.transfer_customer(g.TransferCustomerRequest(
        handover_userid=handover, takeover_userid=takeover, external_userid=[customer, "wmnobody"]))
    assert [(c.external_userid, c.errcode) for c in started.customer] == [(customer, 0), ("wmnobody", 40096)]
    waiting = client.transfer_result(g.TransferResultRequest(handover_userid=handover,
                                                             takeover_userid=takeover))
    assert [(c.external_userid, c.status) for c in waiting.customer] == [(customer, 2)]

    wecom_emulator.simulator.staff_resign(wecom_emulator.corp_id, leaver)
    unassigned = client.get_unassigned_list(g.GetUnassignedListRequest(page_size=1000))
    leaver_customers = list(world.customers_by_user[leaver])
    assert [u.external_userid for u in unassigned.info] == leaver_customers
    assert unassigned.is_last
    resigned = client.resigned_transfer_customer(g.ResignedTransferCustomerRequest(
        handover_userid=leaver, takeover_userid=takeover, external_userid=leaver_customers[:1]))
    assert [c.errcode for c in resigned.customer] == [0]
    result = client.resigned_transfer_result(g.TransferResultRequest(handover_userid=leaver,
                                                                     takeover_userid=takeover))
    assert [(c.external_userid, c.status) for c in result.customer] == [(leaver_customers[0], 2)]

    chat_id = next(iter(world.groups))
    transfer = g.GroupChatTransferRequest(chat_id_list=[chat_id], new_owner=takeover)
    refused = client.groupchat_transfer(transfer)
    assert [(f.chat_id, f.errcode) for f in refused.failed_chat_list] == [(chat_id, 90500)]
    moved = client.groupchat_onjob_transfer(transfer)
    assert moved.failed_chat_list == []
    assert world.groups[chat_id].owner == takeover


def test_statistics_calls(client, world, wecom_emulator, clock):
    userid = next(iter(world.members))
    customer = next(iter(world.customers_by_user[userid]))
    wecom_emulator.simulator.send_chat_message(wecom_emulator.corp_id, customer, receiver=userid)
    clock.advance(120)
    wecom_emulator.simulator.send_chat_message(wecom_emulator.corp_id, userid, receiver=customer)
    today = day_start(int(clock.now().timestamp()))
    behaviour = client.get_user_behavior_data(g.UserBehaviorDataRequest(userid=[userid], start_time=today,
                                                                        end_time=today))
    assert [(b.stat_time, b.message_cnt, b.chat_cnt, b.reply_percentage, b.avg_reply_time)
            for b in behaviour.behavior_data] == [(today, 1, 1, 100.0, 2)]

    yesterday = today - DAY
    owners = sorted({group.owner for group in world.groups.values()})
    statistic = client.groupchat_statistic(g.GroupChatStatisticRequest(
        day_begin_time=yesterday, owner_filter=g.OwnerFilter(userid_list=owners), limit=100))
    assert statistic.total == len(owners)
    assert sorted(item.owner for item in statistic.items) == owners
    assert sum(item.data.chat_total for item in statistic.items) == len(world.groups)
    by_day = client.groupchat_statistic_by_day(g.StatisticByDayRequest(day_begin_time=yesterday - DAY,
                                                                      day_end_time=yesterday))
    assert [(item.stat_time, item.data.chat_total) for item in by_day.items] == [
        (yesterday - DAY, len(world.groups)), (yesterday, len(world.groups))]
