"""Customer group chat (客户群) rules. For now: keeping siyu's copy of WeCom's groups in step.

``change_external_chat`` callbacks say that a group was created, dismissed, or that members joined
or left (with their ids); owner, name and notice changes carry no new value, so the handler reads the
group from WeCom and hands it here as a ``GroupChatSnapshot``. Members who leave keep their row with
``left_at``, so the join/quit timeline stays. Changes are guarded by their times: a late "joined"
does not undo a later "left", and applying an event twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.group import repository
from siyu.models.group import GroupChat, GroupChatMember
from siyu.org import wecom_repository as org_repository

ACTIVE = "active"
DISMISSED = "dismissed"
#: WeCom member types
STAFF_MEMBER = 1
EXTERNAL_MEMBER = 2


@dataclass(frozen=True)
class GroupMemberSnapshot:
    member_userid: str
    member_type: int
    unionid: str | None = None
    joined_at: datetime | None = None
    join_scene: int | None = None


@dataclass(frozen=True)
class GroupChatSnapshot:
    """A group as WeCom's groupchat/get reports it."""

    chat_id: str
    name: str | None
    owner_userid: str | None
    notice: str | None
    created_at: datetime | None
    members: tuple[GroupMemberSnapshot, ...]


def _ensure_group(session: Session, corp_id: int, chat_id: str, at: datetime) -> GroupChat:
    repository.insert_group_if_absent(session, dict(corp_id=corp_id, chat_id=chat_id, status=ACTIVE,
                                                    wecom_created_at=at, member_count=0, created_at=at,
                                                    updated_at=at))
    group = repository.group_by_chat_id(session, corp_id, chat_id)
    if group is None:
        raise LookupError(f"group chat {chat_id} vanished while being created")
    return group


def _recount(session: Session, group: GroupChat) -> None:
    repository.refresh_member_count(session, group.id)
    session.expire(group, ["member_count"])


def record_group_created(session: Session, corp_id: int, chat_id: str, at: datetime) -> GroupChat:
    """create: the group exists (details follow from WeCom)."""
    return _ensure_group(session, corp_id, chat_id, at)


def _member_kinds(session: Session, corp_id: int,
                  member_userids: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    staff = org_repository.staff_ids_by_userid(session, corp_id, member_userids)
    customers = repository.customer_ids_by_external_userid(
        session, corp_id, [m for m in member_userids if m not in staff])
    return staff, customers


def record_members_joined(session: Session, corp_id: int, chat_id: str, member_userids: list[str],
                          join_scene: int | None, at: datetime) -> list[str]:
    """add_member: members who joined at ``at``. Returns those whose presence changed."""
    group = _ensure_group(session, corp_id, chat_id, at)
    staff, customers = _member_kinds(session, corp_id, member_userids)
    existing = repository.members_of(session, group.id, member_userids)
    joined = []
    for member_userid in dict.fromkeys(member_userids):
        member = existing.get(member_userid)
        if member is None:
            session.add(GroupChatMember(
                corp_id=corp_id, group_chat_id=group.id, member_userid=member_userid,
                member_type=STAFF_MEMBER if member_userid in staff else EXTERNAL_MEMBER,
                customer_id=customers.get(member_userid), join_scene=join_scene, joined_at=at))
            joined.append(member_userid)
        elif member.left_at is not None and member.left_at <= at:
            member.left_at, member.quit_scene = None, None
            member.joined_at, member.join_scene = at, join_scene
            joined.append(member_userid)
    session.flush()
    _recount(session, group)
    return joined


def record_members_left(session: Session, corp_id: int, chat_id: str, member_userids: list[str],
                        quit_scene: int | None, at: datetime) -> list[str]:
    """del_member: members who left (quit_scene 0) or were removed (1) at ``at``."""
    group = _ensure_group(session, corp_id, chat_id, at)
    left = []
    for member_userid, member in repository.members_of(session, group.id, member_userids).items():
        if member.left_at is None and (member.joined_at is None or member.joined_at <= at):
            member.left_at, member.quit_scene = at, quit_scene
            left.append(member_userid)
    session.flush()
    _recount(session, group)
    return left


def apply_group_snapshot(session: Session, corp_id: int, snapshot: GroupChatSnapshot,
                         at: datetime) -> GroupChat:
    """Take name, owner, notice and the member list from WeCom's current view of the group.
    Members missing from it are marked as having left at ``at``."""
    group = _ensure_group(session, corp_id, snapshot.chat_id, at)
    group.name, group.notice = snapshot.name, snapshot.notice
    if snapshot.created_at is not None:
        group.wecom_created_at = snapshot.created_at
    if snapshot.owner_userid:
        group.owner_userid = snapshot.owner_userid
        group.owner_staff_id = org_repository.staff_ids_by_userid(
            session, corp_id, [snapshot.owner_userid]).get(snapshot.owner_userid)
    present = {m.member_userid: m for m in snapshot.members}
    staff, customers = _member_kinds(session, corp_id, list(present))
    existing = repository.members_of(session, group.id)
    for member_userid, seen in present.items():
        member = existing.get(member_userid)
        if member is None:
            member = GroupChatMember(corp_id=corp_id, group_chat_id=group.id, member_userid=member_userid)
            session.add(member)
        elif member.left_at is not None:
            member.left_at, member.quit_scene = None, None
        member.member_type = seen.member_type or (STAFF_MEMBER if member_userid in staff else EXTERNAL_MEMBER)
        member.customer_id = customers.get(member_userid, member.customer_id)
        member.unionid = seen.unionid or member.unionid
        member.joined_at = seen.joined_at or member.joined_at or at
        member.join_scene = seen.join_scene if seen.join_scene is not None else member.join_scene
    for member_userid, member in existing.items():
        if member_userid not in present and member.left_at is None:
            member.left_at = at
    session.flush()
    _recount(session, group)
    return group


def record_group_dismissed(session: Session, corp_id: int, chat_id: str, at: datetime) -> GroupChat | None:
    """dismiss: the owner dismissed the group. None when siyu never knew it."""
    group = repository.group_by_chat_id(session, corp_id, chat_id)
    if group is None:
        return None
    if group.status != DISMISSED:
        group.status, group.dismissed_at = DISMISSED, at
        session.flush()
    return group
