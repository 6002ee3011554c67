"""Customer group membership rules shared by the simulation and the API.

Functions change the group and return the callback events the change would raise; the caller decides
whether to emit them (simulated member/customer actions do, API calls such as groupchat/transfer do not).
"""

from __future__ import annotations

import hashlib

from siyu.emulator.wecom import events
from siyu.emulator.wecom.entities import GroupChat, GroupMember, JoinWay
from siyu.emulator.wecom.errors import SimulationError
from siyu.emulator.wecom.state import CUSTOMER_GROUP_MAX_MEMBERS, Corp, EmulatorState


def member_version(group: GroupChat) -> str:
    """The opaque ``member_version`` WeCom reports; changes whenever membership changes."""
    return hashlib.md5(f"{group.chat_id}:{group.version}".encode()).hexdigest()


def _new_member(corp: Corp, member_id: str, now: int, join_scene: int, invitor: str = "",
                state: str = "") -> GroupMember:
    if member_id in corp.members:
        return GroupMember(userid=member_id, type=1, join_time=now, join_scene=join_scene,
                           invitor=invitor, name=corp.members[member_id].name, state=state)
    customer = corp.customers.get(member_id)
    if customer is None:
        raise SimulationError(404, f"no member or external contact {member_id!r}")
    return GroupMember(userid=member_id, type=2, join_time=now, join_scene=join_scene, invitor=invitor,
                       name=customer.name, unionid=customer.unionid, state=state)


def create_group(state: EmulatorState, corp: Corp, owner: str, name: str, member_ids: list[str],
                 notice: str = "") -> tuple[GroupChat, list[str]]:
    """A member creates a customer group with initial members (one ``create`` event)."""
    if owner not in corp.members or corp.members[owner].status != 1:
        raise SimulationError(404, f"no active member {owner!r}")
    now = state.now_int()
    if len(set(member_ids) | {owner}) > CUSTOMER_GROUP_MAX_MEMBERS:
        raise SimulationError(409, f"a customer group holds at most {CUSTOMER_GROUP_MAX_MEMBERS} members")
    group = GroupChat(chat_id=state.new_id("wr", 26, "AAAA"), name=name, owner=owner, create_time=now,
                      notice=notice)
    group.members[owner] = _new_member(corp, owner, now, join_scene=1)
    for member_id in member_ids:
        if member_id not in group.members:
            group.members[member_id] = _new_member(corp, member_id, now, join_scene=1, invitor=owner)
    corp.groups[group.chat_id] = group
    return group, [events.external_chat(corp.corp_id, now, "create", group.chat_id)]


def add_members(state: EmulatorState, corp: Corp, group: GroupChat, member_ids: list[str], join_scene: int,
                invitor: str = "", join_state: str = "") -> list[str]:
    """Members join; refused when the group would exceed 500 members."""
    now = state.now_int()
    joining = [m for m in dict.fromkeys(member_ids) if m not in group.members]
    if not joining:
        raise SimulationError(409, "already in the group")
    if len(group.members) + len(joining) > CUSTOMER_GROUP_MAX_MEMBERS:
        raise SimulationError(409, f"group {group.chat_id} is full ({CUSTOMER_GROUP_MAX_MEMBERS} members)")
    for member_id in joining:
        group.members[member_id] = _new_member(corp, member_id, now, join_scene, invitor, join_state)
    return [_update(corp, group, now, "add_member", joining,
                    join_scene=0 if join_scene in (1, 2) else 3)]


def remove_members(state: EmulatorState, corp: Corp, group: GroupChat, member_ids: list[str],
                   quit_scene: int) -> list[str]:
    """Members leave (0) or are removed by the owner/admin (1)."""
    leaving = [m for m in dict.fromkeys(member_ids) if m in group.members and m != group.owner]
    if not leaving:
        raise SimulationError(409, "not in the group (or the owner, who cannot leave)")
    for member_id in leaving:
        del group.members[member_id]
    return [_update(corp, group, state.now_int(), "del_member", leaving, quit_scene=quit_scene)]


def change_owner(state: EmulatorState, corp: Corp, group: GroupChat, new_owner: str) -> list[str]:
    now = state.now_int()
    if new_owner not in group.members:
        group.members[new_owner] = _new_member(corp, new_owner, now, join_scene=1)
    group.owner = new_owner
    return [_update(corp, group, now, "change_owner", [], bump=False)]


def rename(state: EmulatorState, corp: Corp, group: GroupChat, name: str) -> list[str]:
    group.name = name
    return [_update(corp, group, state.now_int(), "change_name", [], bump=False)]


def dismiss(state: EmulatorState, corp: Corp, group: GroupChat) -> list[str]:
    group.dismissed = True
    return [events.external_chat(corp.corp_id, state.now_int(), "dismiss", group.chat_id)]


def _update(corp: Corp, group: GroupChat, now: int, detail: str, changed: list[str], *,
            join_scene: int | None = None, quit_scene: int | None = None, bump: bool = True) -> str:
    last = member_version(group)
    if bump:
        group.version += 1
    return events.external_chat(corp.corp_id, now, "update", group.chat_id, update_detail=detail,
                                join_scene=join_scene, quit_scene=quit_scene, changed=changed,
                                last_version=last, current_version=member_version(group))


def join_by_way(state: EmulatorState, corp: Corp, way: JoinWay, member_id: str) -> tuple[GroupChat, list[str]]:
    """A customer scans a group code: first group with room, else auto-create ``room_base_name + id``."""
    for chat_id in way.chat_id_list:
        group = corp.groups.get(chat_id)
        if group is not None and not group.dismissed and len(group.members) < CUSTOMER_GROUP_MAX_MEMBERS:
            return group, add_members(state, corp, group, [member_id], 3, join_state=way.state)
    if not way.auto_create_room or not way.chat_id_list:
        raise SimulationError(409, "every group of this join way is full")
    template = corp.groups.get(way.chat_id_list[0])
    if template is None:
        raise SimulationError(409, "the join way's groups no longer exist")
    name = f"{way.room_base_name or template.name}{way.room_base_id}"[:40]
    way.room_base_id += 1
    group, raised = create_group(state, corp, template.owner, name, [])
    way.chat_id_list.append(group.chat_id)
    raised += add_members(state, corp, group, [member_id], 3, join_state=way.state)
    return group, raised
