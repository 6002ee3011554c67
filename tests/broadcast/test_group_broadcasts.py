"""Broadcasts to group chats against the WeCom emulator: one group mass message per owner through the
outbox, exactly the chosen groups, another corp's group refused, results synced per group, and quiet
hours deferring a group touch (one touch per group, nothing in the customer touch ledger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu.broadcast import service
from siyu.broadcast.service import VariantDraft
from siyu.emulator.wecom.entities import GroupChat as WeComGroupChat
from siyu.kit.errors import InvalidInput, NotFound
from siyu.models import GroupChat
from siyu.models.broadcast import (
    Broadcast,
    BroadcastKind,
    BroadcastRecipient,
    BroadcastStatus,
    BroadcastTask,
    RecipientStatus,
    TaskStatus,
)
from siyu.models.policy import Touch, TouchRule
from tests.broadcast.conftest import drain
from tests.console.conftest import console, csrf_of, field_error, kpis, rows, seeded  # noqa: F401
from tests.factories import api_token


def _groups(database, wired, owners: list[tuple[str, int]], *, dismissed: set[str] = frozenset()) -> dict[str, int]:
    """Group chats in siyu and in the emulator: (chat_id, owner staff id) each; returns chat_id → id."""
    ids = {}
    with database.session() as session:
        for chat_id, staff_id in owners:
            group = GroupChat(corp_id=wired.corp_id, chat_id=chat_id, name=f"群{chat_id}", owner_staff_id=staff_id,
                              owner_userid=wired.userid[staff_id],
                              status="dismissed" if chat_id in dismissed else "active")
            session.add(group)
            session.flush()
            ids[chat_id] = group.id
    with wired.emulator.state.lock:
        for chat_id, staff_id in owners:
            wired.wecom_corp.groups[chat_id] = WeComGroupChat(chat_id=chat_id, name=f"群{chat_id}",
                                                              owner=wired.userid[staff_id], create_time=1,
                                                              dismissed=chat_id in dismissed)
    return ids


def _send(database, clock, corp_id, audience, text="{staff_name} 的群友们：本周末新品试吃", **extra):
    with database.session() as session:
        broadcast = service.create_broadcast(session, corp_id, name="群发新品", kind="groups", audience=audience,
                                             variants=[VariantDraft(text)], now=clock.now(),
                                             scheduled_at=clock.now(), **extra)
    return broadcast.id


def _sent_by_owner(wired) -> dict[str, list[str]]:
    return {userid: sorted(r.chat_id for r in rows) for m in wired.wecom_corp.mass_messages.values()
            if m.chat_type == "group" for userid, rows in m.recipients.items()}


def _recipients(database, broadcast_id) -> dict[int, tuple]:
    with database.session() as session:
        return {r.group_chat_id: (r.status, r.rule, r.wecom_status, r.staff_id)
                for r in session.scalars(select(BroadcastRecipient)
                                         .where(BroadcastRecipient.broadcast_id == broadcast_id))}


@pytest.fixture
def groups(database, wired):
    first, second, third = wired.brand.staff_ids
    return _groups(database, wired, [("wrA1", first), ("wrA2", first), ("wrA3", first), ("wrB1", second),
                                     ("wrC1", third)], dismissed={"wrA3"})


def test_a_group_broadcast_by_owner_reaches_exactly_those_owners_groups(database, clock, wired, worker, groups):
    first, second, third = wired.brand.staff_ids
    broadcast_id = _send(database, clock, wired.corp_id, {"owner_staff_ids": [first, second]})
    with database.session() as session:
        plan = service.preview(session, wired.corp_id, broadcast_id, now=clock.now())
    assert (plan.audience, plan.eligible, dict(plan.by_staff)) == (3, 3, {first: 2, second: 1})
    assert {staff: [name for _, name, _ in rows] for staff, rows in plan.groups.items()} == {
        first: ["群wrA1", "群wrA2"], second: ["群wrB1"]}
    drain(worker, clock)
    assert _sent_by_owner(wired) == {wired.userid[first]: ["wrA1", "wrA2"], wired.userid[second]: ["wrB1"]}
    assert {m.text["content"] for m in wired.wecom_corp.mass_messages.values()} == {
        "导购1 的群友们：本周末新品试吃", "导购2 的群友们：本周末新品试吃"}
    assert _recipients(database, broadcast_id) == {
        groups["wrA1"]: (RecipientStatus.awaiting_staff, None, None, first),
        groups["wrA2"]: (RecipientStatus.awaiting_staff, None, None, first),
        groups["wrB1"]: (RecipientStatus.awaiting_staff, None, None, second)}
    with database.session() as session:
        tasks = session.scalars(select(BroadcastTask).order_by(BroadcastTask.staff_id)).all()
        assert [(t.staff_id, t.status, t.recipients) for t in tasks] == [
            (first, TaskStatus.awaiting_staff, 2), (second, TaskStatus.awaiting_staff, 1)]
        # one touch per group, recorded on the recipient: nothing in the customer-keyed ledger
        assert session.scalar(select(func.count()).select_from(Touch)) == 0


def test_chosen_groups_go_out_through_each_groups_owner(database, clock, wired, worker, groups):
    first, _, third = wired.brand.staff_ids
    _send(database, clock, wired.corp_id, {"group_chat_ids": [groups["wrA2"], groups["wrC1"]]})
    drain(worker, clock)
    assert _sent_by_owner(wired) == {wired.userid[first]: ["wrA2"], wired.userid[third]: ["wrC1"]}


def test_a_group_of_another_corp_cannot_be_targeted(database, clock, wired, groups, brand):
    other = brand[1]
    with database.session() as session:
        foreign = GroupChat(corp_id=other.corp_id, chat_id="wrB-other", name="乙品牌群",
                            owner_staff_id=other.staff_ids[0], owner_userid="x")
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    with pytest.raises(NotFound) as refused, database.session() as session:
        service.create_broadcast(session, wired.corp_id, name="越权", kind="groups",
                                 audience={"group_chat_ids": [groups["wrA1"], foreign_id]},
                                 variants=[VariantDraft("hi")], now=clock.now(), scheduled_at=clock.now())
    assert refused.value.field == "audience.group_chat_ids"
    with pytest.raises(InvalidInput) as holdout, database.session() as session:
        service.create_broadcast(session, wired.corp_id, name="对照", kind="groups", audience={},
                                 variants=[VariantDraft("hi")], now=clock.now(), holdout_percent=10)
    assert holdout.value.field == "holdout_percent"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
        assert session.scalar(select(func.count()).select_from(BroadcastRecipient)) == 0
    assert wired.wecom_corp.mass_messages == {}


def test_the_api_takes_the_kind_and_refuses_another_corps_group_naming_the_field(client, brand, database):
    corp, other = brand
    with database.session() as session:
        own = GroupChat(corp_id=corp.corp_id, chat_id="wr-own", name="甲群", owner_staff_id=corp.staff_ids[0],
                        owner_userid="u")
        foreign = GroupChat(corp_id=other.corp_id, chat_id="wr-foreign", name="乙群",
                            owner_staff_id=other.staff_ids[0], owner_userid="v")
        session.add_all([own, foreign])
        session.flush()
        own_id, foreign_id = own.id, foreign.id
    headers = {**api_token(client, corp, "hq_operator"), "Accept-Language": "en"}
    refused = client.post("/api/v1/broadcasts", headers=headers, json={
        "name": "群发", "kind": "groups", "audience": {"group_chat_ids": [foreign_id]}, "variants": [{"text": "x"}]})
    assert (refused.status_code, refused.json()["error"]["field"], refused.json()["error"]["message"]) == (
        404, "audience.group_chat_ids", "Not found (field audience.group_chat_ids)")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
    created = client.post("/api/v1/broadcasts", headers=headers, json={
        "name": "群发", "kind": "groups", "audience": {"group_chat_ids": [own_id]}, "variants": [{"text": "x"}]})
    assert (created.status_code, created.json()["kind"]) == (201, "groups")
    preview = client.get(f"/api/v1/broadcasts/{created.json()['id']}/preview", headers=headers).json()
    assert (preview["audience"], preview["eligible"], preview["groups"]) == (
        1, 1, [{"group_chat_id": own_id, "name": "甲群", "staff_id": corp.staff_ids[0], "status": "queued"}])


def test_results_sync_per_group_and_a_group_wecom_did_not_send_to_fails(database, clock, wired, worker, groups):
    first, second, _ = wired.brand.staff_ids
    broadcast_id = _send(database, clock, wired.corp_id, {"owner_staff_ids": [first, second]})
    drain(worker, clock)
    message = next(m for m in wired.wecom_corp.mass_messages.values() if wired.userid[first] in m.recipients)
    # WeCom's receive quota (1 a day per group): wrA2 already got a mass message today
    with wired.emulator.state.lock:
        wired.wecom_corp.receipts["wrA2"] = [wired.emulator.state.now_int()]
    confirmed = wired.emulator.simulator.staff_confirm_mass_task(wired.emulator.corp_id, message.msgid,
                                                                 wired.userid[first])
    assert (confirmed["sent"], confirmed["quota_exceeded"]) == (1, 1)
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    assert _recipients(database, broadcast_id) == {
        groups["wrA1"]: (RecipientStatus.delivered, None, 1, first),
        groups["wrA2"]: (RecipientStatus.failed, None, 0, first),
        groups["wrB1"]: (RecipientStatus.awaiting_staff, None, None, second)}
    with database.session() as session:
        assert session.get(Broadcast, broadcast_id).status == BroadcastStatus.sending
    other = next(m for m in wired.wecom_corp.mass_messages.values() if wired.userid[second] in m.recipients)
    wired.emulator.simulator.staff_confirm_mass_task(wired.emulator.corp_id, other.msgid, wired.userid[second])
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    assert _recipients(database, broadcast_id)[groups["wrB1"]] == (RecipientStatus.delivered, None, 1, second)
    with database.session() as session:
        assert session.get(Broadcast, broadcast_id).status == BroadcastStatus.done


def test_quiet_hours_defer_a_group_touch_to_their_end(database, clock, wired, worker, groups):
    first = wired.brand.staff_ids[0]
    now = clock.now()
    # 23:30 in Shanghai (quiet hours 22:00–08:00)
    late = datetime(now.year, now.month, now.day, 15, 30, tzinfo=UTC)
    clock.advance(late - now if late > now else late + timedelta(days=1) - now)
    broadcast_id = _send(database, clock, wired.corp_id, {"group_chat_ids": [groups["wrA1"]]})
    drain(worker)
    assert _recipients(database, broadcast_id)[groups["wrA1"]][:2] == (RecipientStatus.deferred,
                                                                        TouchRule.quiet_hours)
    assert wired.wecom_corp.mass_messages == {}
    clock.advance(timedelta(hours=9))
    drain(worker, clock)
    assert _recipients(database, broadcast_id)[groups["wrA1"]] == (RecipientStatus.awaiting_staff, None, None,
                                                                    first)
    assert _sent_by_owner(wired) == {wired.userid[first]: ["wrA1"]}


def test_the_wizard_chooses_group_chats_and_previews_them_by_owner(console, database, seeded):
    corp, other = seeded
    with database.session() as session:
        own = [GroupChat(corp_id=corp.corp_id, chat_id=f"wr-{n}", name=f"甲群{n}", owner_staff_id=corp.staff_ids[n])
               for n in (0, 1)]
        foreign = GroupChat(corp_id=other.corp_id, chat_id="wr-x", name="乙群", owner_staff_id=other.staff_ids[0])
        session.add_all([*own, foreign])
        session.flush()
        own_ids, foreign_id = [g.id for g in own], foreign.id
    operator = console("hq_operator")
    new = operator.get("/broadcasts/new")
    assert (new.status_code, 'value="groups"' in new.text, "甲群0" in new.text, "乙群" in new.text) == (
        200, True, True, False)
    form = {"csrf_token": csrf_of(new.text), "kind": "groups", "name": "群发试吃", "text_a": "{staff_name} 邀您试吃",
            "priority": "marketing", "holdout_percent": "0", "tag_match": "any"}
    refused = operator.post("/broadcasts", data={**form, "group_chat_ids": [str(own_ids[0]), str(foreign_id)]})
    assert (refused.status_code, field_error(refused.text, "broadcast.group_chat_ids")) == (
        422, "所选对象不存在（字段 audience.group_chat_ids）")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
    created = operator.post("/broadcasts", data={**form, "owner_staff_ids": str(corp.staff_ids[1])},
                            follow_redirects=False)
    assert created.status_code == 303
    detail = operator.get(created.headers["location"])
    assert {k: kpis(detail.text)[k] for k in ("audience", "eligible", "blocked")} == {
        "audience": "1", "eligible": "1", "blocked": "0"}
    assert (rows(detail.text, "group"), rows(detail.text, "owner")) == ([str(own_ids[1])], [str(corp.staff_ids[1])])
    with database.session() as session:
        broadcast = session.scalars(select(Broadcast)).one()
    assert (broadcast.kind, broadcast.audience) == (BroadcastKind.groups, {"owner_staff_ids": [corp.staff_ids[1]]})


def test_a_lost_add_msg_template_answer_is_reconciled_not_sent_twice(database, clock, wired, worker, groups):
    from siyu.emulator.wecom.broadcasts import create_mass_message

    first = wired.brand.staff_ids[0]
    broadcast_id = _send(database, clock, wired.corp_id, {"owner_staff_ids": [first]})
    worker.run_once()  # dispatch
    worker.run_once()  # the write-ahead delivery: intent recorded, nothing sent
    assert wired.wecom_corp.mass_messages == {}
    with database.session() as session:
        task = session.scalars(select(BroadcastTask)).one()
    # WeCom created the message, but its answer never reached siyu
    with wired.emulator.state.lock:
        lost, _ = create_mass_message(wired.emulator.state, wired.wecom_corp, {
            "chat_type": "group", "sender": wired.userid[first], "chat_id_list": ["wrA1", "wrA2"],
            "text": {"content": task.text}})
    drain(worker, clock)
    assert list(wired.wecom_corp.mass_messages) == [lost.msgid]
    with database.session() as session:
        task = session.scalars(select(BroadcastTask)).one()
    assert (task.msgid, task.status) == (lost.msgid, TaskStatus.awaiting_staff)
    assert {status for status, *_ in _recipients(database, broadcast_id).values()} == {RecipientStatus.awaiting_staff}
