"""Customer group chats and their members.

``groupchat/list`` is cheap (1000 ids a call), so each run lists every chat id first and then fetches
the chats in id order, ``chats_per_commit`` per unit; the checkpoint is the last chat id written.
Chats that WeCom no longer lists are marked dismissed; members who left keep their row with
``left_at`` so the join/quit timeline survives.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from siyu.customer.contacts_bulk import EXTERNAL, insert_ignoring_conflicts
from siyu.integrations.wecom import errors
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError
from siyu.integrations.wecom.schemas_groups import GroupChatInfo, GroupChatListRequest, OwnerFilter
from siyu.integrations.wecom.sync_runner import SyncRunner
from siyu.models.customer import Identity
from siyu.models.group import GroupChat, GroupChatMember
from siyu.models.org import Staff

ACTIVE = "active"
DISMISSED = "dismissed"
#: WeCom refuses an unfiltered list when more than 1000 members are visible: list per owner instead.
OWNERS_PER_CALL = 100


def _timestamp(value: int) -> datetime | None:
    from siyu.integrations.wecom.sync_customers import from_timestamp

    return from_timestamp(value) if value else None


def list_chat_ids(client: WeComClient, owner_userids: list[str]) -> list[str]:
    """Every chat id WeCom lists (sorted), by owner chunks when the corp is too large for one list."""
    def listing(owner_filter: OwnerFilter | None) -> list[str]:
        ids, cursor = [], None
        while True:
            answer = client.groupchat_list(GroupChatListRequest(owner_filter=owner_filter, cursor=cursor,
                                                                limit=1000))
            ids.extend(chat.chat_id for chat in answer.group_chat_list)
            cursor = answer.next_cursor
            if not cursor:
                return ids
    try:
        chat_ids = listing(None)
    except WeComApiError as error:
        if error.errcode != errors.TOO_MANY_VISIBLE_MEMBERS:
            raise
        chat_ids = []
        for start in range(0, len(owner_userids), OWNERS_PER_CALL):
            chat_ids.extend(listing(OwnerFilter(userid_list=owner_userids[start:start + OWNERS_PER_CALL])))
    return sorted(set(chat_ids))


@dataclass
class GroupCounts:
    groups_created: int = 0
    groups_updated: int = 0
    groups_dismissed: int = 0
    members_joined: int = 0
    members_updated: int = 0
    members_left: int = 0

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


def _apply(session: Session, table, key_columns: list[str], existing: dict, desired: dict, base: dict,
           now: datetime) -> tuple[int, int]:
    """Insert the desired rows that are missing and update those that differ; returns the counts."""
    inserts, updates = [], []
    for key, values in desired.items():
        row = existing.get(key)
        if row is None:
            inserts.append({**base(key), **values, "created_at": now, "updated_at": now})
        elif any(getattr(row, name) != value for name, value in values.items()):
            updates.append({"b_id": row.id, **{f"b_{name}": value for name, value in values.items()}})
    created = insert_ignoring_conflicts(session, table, key_columns, inserts)
    if updates:
        names = [key[2:] for key in updates[0] if key != "b_id"]
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            updated_at=now, **{name: bindparam(f"b_{name}") for name in names}), updates)
    return created, len(updates)


def upsert_group_chats(session: Session, corp_id: int, chats: list[GroupChatInfo],
                       now: datetime) -> GroupCounts:
    """Write chats and their complete member lists."""
    counts = GroupCounts()
    if not chats:
        return counts
    owners = dict(session.execute(select(Staff.userid, Staff.id).where(
        Staff.corp_id == corp_id, Staff.userid.in_({c.owner for c in chats}))).all())
    chat_columns = (GroupChat.id, GroupChat.chat_id, GroupChat.name, GroupChat.owner_staff_id,
                    GroupChat.owner_userid, GroupChat.notice, GroupChat.status, GroupChat.wecom_created_at,
                    GroupChat.member_count, GroupChat.dismissed_at)
    existing = {row.chat_id: row for row in session.execute(select(*chat_columns).where(
        GroupChat.corp_id == corp_id, GroupChat.chat_id.in_([c.chat_id for c in chats])))}
    desired = {chat.chat_id: {
        "name": chat.name[:200] or None, "owner_staff_id": owners.get(chat.owner),
        "owner_userid": chat.owner or None, "notice": chat.notice[:1000] or None, "status": ACTIVE,
        "wecom_created_at": _timestamp(chat.create_time), "member_count": len(chat.member_list),
        "dismissed_at": None} for chat in chats}
    counts.groups_created, counts.groups_updated = _apply(
        session, GroupChat.__table__, ["corp_id", "chat_id"], existing, desired,
        lambda chat_id: {"corp_id": corp_id, "chat_id": chat_id}, now)

    group_id = dict(session.execute(select(GroupChat.chat_id, GroupChat.id).where(
        GroupChat.corp_id == corp_id, GroupChat.chat_id.in_(list(desired)))).all())
    external = {m.userid for c in chats for m in c.member_list if m.type == 2}
    customers = dict(session.execute(select(Identity.value, Identity.customer_id).where(
        Identity.corp_id == corp_id, Identity.kind == EXTERNAL, Identity.value.in_(external))).all()
    ) if external else {}
    member_columns = (GroupChatMember.id, GroupChatMember.group_chat_id, GroupChatMember.member_userid,
                      GroupChatMember.member_type, GroupChatMember.customer_id, GroupChatMember.unionid,
                      GroupChatMember.join_scene, GroupChatMember.joined_at, GroupChatMember.left_at,
                      GroupChatMember.quit_scene)
    existing_members = {(row.group_chat_id, row.member_userid): row for row in session.execute(
        select(*member_columns).where(GroupChatMember.group_chat_id.in_(list(group_id.values()))))}
    desired_members = {}
    for chat in chats:
        for member in chat.member_list:
            desired_members[(group_id[chat.chat_id], member.userid)] = {
                "member_type": member.type,
                "customer_id": customers.get(member.userid) if member.type == 2 else None,
                "unionid": member.unionid or None, "join_scene": member.join_scene,
                "joined_at": _timestamp(member.join_time), "left_at": None, "quit_scene": None}
    counts.members_joined, counts.members_updated = _apply(
        session, GroupChatMember.__table__, ["group_chat_id", "member_userid"], existing_members,
        desired_members,
        lambda key: {"corp_id": corp_id, "group_chat_id": key[0], "member_userid": key[1]}, now)
    left = [row.id for key, row in existing_members.items()
            if key not in desired_members and row.left_at is None]
    if left:
        session.execute(update(GroupChatMember).where(GroupChatMember.id.in_(left))
                        .values(left_at=now, updated_at=now))
    counts.members_left = len(left)
    return counts


def dismiss_unlisted(session: Session, corp_id: int, listed: set[str], now: datetime) -> int:
    """Mark active chats that WeCom no longer lists as dismissed."""
    active = session.execute(select(GroupChat.id, GroupChat.chat_id).where(
        GroupChat.corp_id == corp_id, GroupChat.status == ACTIVE)).all()
    gone = [row.id for row in active if row.chat_id not in listed]
    if gone:
        session.execute(update(GroupChat).where(GroupChat.id.in_(gone))
                        .values(status=DISMISSED, dismissed_at=now, updated_at=now))
    return len(gone)


def run_group_chats(runner: SyncRunner) -> None:
    """List every chat, then fetch and write them after the saved chat id, then mark the dismissed."""
    with runner.sessions() as session:
        owners = sorted(session.scalars(select(Staff.userid).where(Staff.corp_id == runner.corp_id)).all())
    chat_ids = list_chat_ids(runner.contact, owners)
    last = runner.checkpoint.get("last_chat_id")
    pending = [chat_id for chat_id in chat_ids if last is None or chat_id > last]
    done = len(chat_ids) - len(pending)
    step = runner.tuning.chats_per_commit
    vanished: set[str] = set()
    for start in range(0, len(pending), step):
        batch = pending[start:start + step]
        chats = []
        for chat_id in batch:
            try:
                chats.append(runner.contact.groupchat_get(chat_id).group_chat)
            except WeComApiError as error:
                if error.errcode != errors.INVALID_PARAMETER:
                    raise
                vanished.add(chat_id)  # 40058: dismissed between the list and the get
        now = runner.clock.now()
        done += len(batch)
        def write(session: Session, chats=chats, now=now) -> dict[str, int]:
            return upsert_group_chats(session, runner.corp_id, chats, now).as_dict()

        runner.commit(write, checkpoint={"last_chat_id": batch[-1]}, done=done, total=len(chat_ids))
    now = runner.clock.now()
    runner.commit(lambda session: {"groups_dismissed": dismiss_unlisted(session, runner.corp_id,
                                                                           set(chat_ids) - vanished, now)},
                  checkpoint={"last_chat_id": chat_ids[-1] if chat_ids else ""}, done=len(chat_ids),
                  total=len(chat_ids))
