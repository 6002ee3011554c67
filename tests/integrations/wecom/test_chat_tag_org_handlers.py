"""``wecom.handle_callback`` for customer groups, corp tags and the address book.

Group and tag events come from the emulator itself: a simulated person acts, the emulator POSTs the
encrypted callback to siyu (through siyu's ASGI app), the worker handles it and reads the details
back from the emulator over loopback HTTP. Address-book events are written by hand from the
reference, including the shapes where sources disagree.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siyu.emulator.wecom import groups as emulator_groups
from siyu.kit.security import encrypt_secret
from siyu.models import (
    CallbackStatus,
    Department,
    DepartmentKind,
    GroupChat,
    GroupChatMember,
    JobStatus,
    Staff,
    StaffStatus,
    Tag,
    TagGroup,
    WeComCallback,
    WeComConnection,
)
from tests.integrations.wecom.conftest import EMULATOR_CORP
from tests.integrations.wecom.delivery import AES_KEY, TOKEN, connect, event
from tests.integrations.wecom.handling import CallbackHarness, harness, process_secret_key  # noqa: F401


class EmulatedCorp(CallbackHarness):
    """siyu's corp alpha connected to the emulator's corp, which sends its callbacks to siyu."""

    def __init__(self, emulator, **kwargs) -> None:
        super().__init__(wecom_corp_id=EMULATOR_CORP, **kwargs)
        self.emulator = emulator
        self.simulator = emulator.simulator

    def act(self, action: str, **arguments):
        """A simulated person acts in WeCom; wait for the callbacks, then run the handler jobs."""
        result = getattr(self.simulator, action)(EMULATOR_CORP, **arguments)
        assert self.emulator.app.state.callbacks.wait_idle(10)
        self.run_jobs()
        return result

    def callbacks(self) -> list[WeComCallback]:
        with self.database.session() as session:
            return list(session.scalars(select(WeComCallback).order_by(WeComCallback.id)))


@pytest.fixture
def emulated(wecom_emulator_factory, client, database, clock, brand, settings, process_secret_key):  # noqa: F811
    emulator = wecom_emulator_factory(callback_http_client=client)
    corp_id = brand[0].corp_id
    with database.session() as session:
        connect(session, corp_id, settings.secret_key, wecom_corp_id=EMULATOR_CORP,
                contact_secret=emulator.contact_secret, api_base=emulator.base_url)
    emulator.simulator.configure(EMULATOR_CORP, callback_url=f"http://testserver/wecom/callback/{corp_id}",
                                 callback_token=TOKEN, encoding_aes_key=AES_KEY)
    emulator.seed(departments=2, staff=3, customers=6, groups=0)
    members = sorted(emulator.state.corps[EMULATOR_CORP].members)
    with database.session() as session:
        for userid in members:  # the address-book sync already brought the staff over
            session.add(Staff(corp_id=corp_id, userid=userid, name=f"员工{userid}"))
    return EmulatedCorp(emulator, client=client, database=database, clock=clock, corp_id=corp_id)


def _wecom_tags(database, corp_id: int) -> tuple[list[tuple], list[tuple]]:
    with database.session() as session:
        groups = session.scalars(select(TagGroup).where(TagGroup.corp_id == corp_id).order_by(TagGroup.id))
        group_rows = [(g.wecom_group_id, g.name, g.deleted_at is not None) for g in groups]
        tags = session.scalars(select(Tag).where(Tag.corp_id == corp_id).order_by(Tag.id))
        tag_rows = [(t.wecom_tag_id, t.name, t.order, t.kind, t.deleted_at is not None) for t in tags]
    return group_rows, tag_rows


# -- corp tags ---------------------------------------------------------------------------------------


def test_tags_created_updated_shuffled_and_deleted_in_wecom_follow_in_siyu(emulated, database):
    corp_id = emulated.corp_id
    # Given an admin who creates a group with two tags in WeCom's console
    created = emulated.act("admin_create_tags", tags=["双11", "618"], group_name="大促")
    group_id, (first, second) = created["group_id"], created["tag_ids"]
    assert _wecom_tags(database, corp_id) == (
        [(group_id, "大促", False)], [(first, "双11", 0, "wecom", False), (second, "618", 0, "wecom", False)])
    assert [c.status for c in emulated.callbacks()] == [CallbackStatus.handled] * 3
    # When a tag is renamed, then the group's tags re-ordered
    emulated.act("admin_update_tag", id=first, name="双十一")
    emulated.act("admin_shuffle_tags", group_id=group_id)
    assert _wecom_tags(database, corp_id)[1] == [(first, "双十一", 1, "wecom", False),
                                                 (second, "618", 2, "wecom", False)]
    # When one tag, then the whole group is deleted
    emulated.act("admin_delete_tags", tag_id=[second])
    assert _wecom_tags(database, corp_id)[1] == [(first, "双十一", 1, "wecom", False),
                                                 (second, "618", 2, "wecom", True)]
    emulated.act("admin_delete_tags", group_id=[group_id])
    assert _wecom_tags(database, corp_id) == (
        [(group_id, "大促", True)], [(first, "双十一", 1, "wecom", True), (second, "618", 2, "wecom", True)])
    assert [(c.change_type, c.status) for c in emulated.callbacks()][-2:] == [
        ("delete", CallbackStatus.handled), ("delete", CallbackStatus.handled)]


def test_a_tag_event_without_a_contact_secret_fails_once_and_changes_nothing(harness, database):  # noqa: F811
    # Given a connection with callback settings but no 客户联系 secret (WeCom cannot be read)
    xml = event("change_external_tag", "create", harness.now, Id="etNoSecretTag0001", TagType="tag")
    # When the create event is handled
    callback = harness.handle(xml)
    # Then the callback is failed with the reason, at once (retrying cannot help), and nothing changed
    assert callback.status == CallbackStatus.failed
    assert callback.reason.startswith("WeComNotConnected")
    assert _wecom_tags(database, harness.corp_id) == ([], [])
    assert [(j.status, j.attempts) for j in harness.jobs("wecom.handle_callback")] == [(JobStatus.done, 1)]


def test_an_unreachable_wecom_is_retried_later(harness, database, process_secret_key):  # noqa: F811
    with database.session() as session:
        connection = session.scalars(select(WeComConnection)).one()
        connection.api_base = "http://127.0.0.1:9/cgi-bin/"  # the discard port: nothing listens
        connection.contact_secret_encrypted = encrypt_secret("secret", harness.client.app.state.settings.secret_key)
    callback = harness.handle(event("change_external_tag", "create", harness.now, Id="etRetry0001", TagType="tag"))
    jobs = harness.jobs("wecom.handle_callback")
    assert (callback.status, callback.reason) == (CallbackStatus.received, None)
    assert [(j.status, j.attempts) for j in jobs] == [(JobStatus.queued, 1)]
    assert "errcode=-2" in jobs[0].last_error


# -- customer groups ---------------------------------------------------------------------------------


def _group(database, corp_id: int) -> tuple[GroupChat, list[GroupChatMember]]:
    with database.session() as session:
        group = session.scalars(select(GroupChat).where(GroupChat.corp_id == corp_id)).one()
        members = list(session.scalars(select(GroupChatMember).where(GroupChatMember.group_chat_id == group.id)
                                       .order_by(GroupChatMember.id)))
    return group, members


def test_group_created_joined_left_renamed_and_dismissed(emulated, database):
    corp = emulated.emulator.state.corps[EMULATOR_CORP]
    owner = sorted(corp.members)[0]
    customers = sorted(corp.customers)
    with database.session() as session:
        owner_staff_id = session.scalars(select(Staff.id).where(Staff.userid == owner)).one()
    # Given a staff member who creates a group with two customers
    created_at = emulated.now
    chat_id = emulated.act("staff_create_group", owner=owner, name="VIP群", members=customers[:2])["chat_id"]
    group, members = _group(database, emulated.corp_id)
    assert (group.chat_id, group.name, group.owner_userid, group.owner_staff_id, group.status, group.member_count,
            group.wecom_created_at) == (chat_id, "VIP群", owner, owner_staff_id, "active", 3,
                                        emulated.at(created_at))
    assert [(m.member_userid, m.member_type, m.left_at) for m in members] == [
        (owner, 1, None), (customers[0], 2, None), (customers[1], 2, None)]
    # When a third customer joins by the group QR code, and the second leaves
    emulated.clock.advance(60)
    joined_at = emulated.now
    emulated.act("join_group", member_id=customers[2], chat_id=chat_id, join_scene=3)
    emulated.clock.advance(60)
    left_at = emulated.now
    emulated.act("leave_group", chat_id=chat_id, member_id=customers[1], quit_scene=0)
    group, members = _group(database, emulated.corp_id)
    assert group.member_count == 3
    assert [(m.member_userid, m.joined_at == emulated.at(joined_at), m.join_scene, m.left_at, m.quit_scene)
            for m in members[1:]] == [
        (customers[0], False, 1, None, None),
        (customers[1], False, 1, emulated.at(left_at), 0),
        (customers[2], True, 3, None, None)]
    # When the owner renames it (the event says only "change_name"; the name comes from WeCom)
    emulated.act("staff_rename_group", chat_id=chat_id, name="VIP尊享群")
    assert _group(database, emulated.corp_id)[0].name == "VIP尊享群"
    # When the owner dismisses it
    emulated.clock.advance(60)
    dismissed_at = emulated.now
    emulated.act("staff_dismiss_group", chat_id=chat_id)
    group, _ = _group(database, emulated.corp_id)
    assert (group.status, group.dismissed_at) == ("dismissed", emulated.at(dismissed_at))
    assert {c.status for c in emulated.callbacks()} == {CallbackStatus.handled}


def test_owner_change_and_member_change_without_a_member_list_are_read_from_wecom(emulated, database):
    corp = emulated.emulator.state.corps[EMULATOR_CORP]
    first, second = sorted(corp.members)[:2]
    customer = sorted(corp.customers)[0]
    chat_id = emulated.act("staff_create_group", owner=first, name="门店群", members=[customer])["chat_id"]
    with emulated.emulator.state.lock:  # the group's ownership moves in WeCom
        emulator_groups.change_owner(emulated.emulator.state, corp, corp.groups[chat_id], second)
    emulated.handle(event("change_external_chat", "update", emulated.now, ChatId=chat_id,
                          UpdateDetail="change_owner"))
    # An older document shape: add_member without MemChangeList — WeCom's member list decides
    emulated.handle(event("change_external_chat", "update", emulated.now + 1, ChatId=chat_id,
                          UpdateDetail="add_member", JoinScene=1, MemChangeCnt=1))
    group, members = _group(database, emulated.corp_id)
    with database.session() as session:
        second_staff = session.scalars(select(Staff.id).where(Staff.userid == second)).one()
    assert (group.owner_userid, group.owner_staff_id, group.member_count) == (second, second_staff, 3)
    assert [m.member_userid for m in members] == [first, customer, second]


def test_a_member_list_event_for_an_unknown_group_creates_it(harness, database):  # noqa: F811
    xml = event("change_external_chat", "update", harness.now, ChatId="wrUnknownGroup0001", UpdateDetail="add_member",
                JoinScene=0, MemChangeCnt=2, MemChangeList="<Item><![CDATA[alpha-s1]]></Item><Item>wmGuest01</Item>")
    callback = harness.handle(xml)
    group, members = _group(database, harness.corp_id)
    assert (group.chat_id, group.member_count, callback.reason) == ("wrUnknownGroup0001", 2, "joined: alpha-s1, wmGuest01")
    assert [(m.member_userid, m.member_type, m.join_scene) for m in members] == [
        ("alpha-s1", 1, 0), ("wmGuest01", 2, 0)]


def test_dismissing_an_unknown_group_changes_nothing(harness, database):  # noqa: F811
    callback = harness.handle(event("change_external_chat", "dismiss", harness.now, ChatId="wrNeverSeen"))
    with database.session() as session:
        assert session.scalars(select(GroupChat)).all() == []
    assert callback.reason == "unknown group; unchanged"


# -- address book ------------------------------------------------------------------------------------


def _department(database, corp_id: int, wecom_id: int) -> Department:
    with database.session() as session:
        return session.scalars(select(Department).where(Department.corp_id == corp_id,
                                                        Department.wecom_id == wecom_id)).one()


def test_departments_created_moved_and_deleted(harness, database):  # noqa: F811
    now = harness.now
    for wecom_id, name, parent in ((1, "总部", 0), (2, "华东", 1), (3, "华南", 1), (4, "上海店", 2)):
        harness.handle(event("change_contact", "create_party", now, Id=wecom_id, Name=name, ParentId=str(parent),
                             Order=1))
    hq, east, south, shanghai = (_department(database, harness.corp_id, i) for i in (1, 2, 3, 4))
    assert [(d.name, d.kind, d.parent_id, d.path) for d in (hq, east, south, shanghai)] == [
        ("总部", DepartmentKind.hq, None, f"/{hq.id}/"),
        ("华东", DepartmentKind.branch, hq.id, f"/{hq.id}/{east.id}/"),
        ("华南", DepartmentKind.branch, hq.id, f"/{hq.id}/{south.id}/"),
        ("上海店", DepartmentKind.store, east.id, f"/{hq.id}/{east.id}/{shanghai.id}/")]
    # When 华东 is renamed and moved under 华南, its store moves with it
    harness.handle(event("change_contact", "update_party", now + 1, Id=2, Name="华东区", ParentId="3"))
    east, shanghai = (_department(database, harness.corp_id, i) for i in (2, 4))
    assert (east.name, east.parent_id, east.path) == ("华东区", south.id, f"/{hq.id}/{south.id}/{east.id}/")
    assert shanghai.path == f"/{hq.id}/{south.id}/{east.id}/{shanghai.id}/"
    # When the store is deleted in WeCom it stays in siyu for history, unlinked
    callback = harness.handle(event("change_contact", "delete_party", now + 2, Id=4))
    with database.session() as session:
        kept = session.get(Department, shanghai.id)
    assert (kept.name, kept.wecom_id) == ("上海店", None)
    assert callback.reason == f"department {shanghai.id} unlinked from WeCom"


def test_staff_created_renamed_moved_and_resigned(harness, database):  # noqa: F811
    now = harness.now
    harness.handle(event("change_contact", "create_party", now, Id=7, Name="杭州店", ParentId="0"))
    store = _department(database, harness.corp_id, 7)
    harness.handle(event("change_contact", "create_user", now, UserID="lisi", Name="李四", Department="7",
                         MainDepartment=7, Mobile="13900000000", Status=1))
    with database.session() as session:
        staff = session.scalars(select(Staff).where(Staff.userid == "lisi")).one()
    assert (staff.name, staff.department_id, staff.mobile, staff.status) == (
        "李四", store.id, "13900000000", StaffStatus.active)
    # WeCom lets an admin change a member's userid once: NewUserID
    harness.handle(event("change_contact", "update_user", now + 1, UserID="lisi", NewUserID="li.si", Name="李 四"))
    harness.handle(event("change_contact", "delete_user", now + 2, UserID="li.si"))
    with database.session() as session:
        staff = session.get(Staff, staff.id)
    assert (staff.userid, staff.name, staff.department_id, staff.status, staff.resigned_at) == (
        "li.si", "李 四", store.id, StaffStatus.resigned, harness.at(now + 2))


def test_a_member_reported_as_left_by_status_resigns_and_can_come_back(harness, database):  # noqa: F811
    now = harness.now
    harness.handle(event("change_contact", "update_user", now, UserID="alpha-s2", Status=5))
    harness.handle(event("change_contact", "update_user", now + 1, UserID="alpha-s2", Status=1))
    with database.session() as session:
        staff = session.scalars(select(Staff).where(Staff.userid == "alpha-s2")).one()
    assert (staff.status, staff.resigned_at, staff.name) == (StaffStatus.active, None, "导购2")
