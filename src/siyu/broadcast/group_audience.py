"""Broadcasts to group chats (客户群群发): which groups, through which owner, and the gate for groups.

WeCom sends a group mass message through the group's **owner**: ``add_msg_template`` with
``chat_type: "group"``, ``sender`` the owner and ``chat_id_list`` the owner's chosen groups; the owner
confirms in the client and the message is posted in each group. So a group broadcast makes one task
per owner (and variant), through the same write-ahead outbox path as customer broadcasts.

The audience (``Broadcast.audience`` when ``kind`` is ``groups``): ``group_chat_ids`` (chosen
groups), ``owner_staff_ids`` (every group of these owners), ``store_ids`` (every group whose owner
belongs to one of these stores/departments); the filters narrow each other; empty: every group of
the corp. Dismissed groups are never included; a group without an active owner is blocked with
``no_relation`` (nobody can send to it).

Contact policy for groups (channel ``group``): **a group message is one touch per group, not one
per member.** It is posted once in a room the members joined, not pushed to each member 1:1, and
WeCom itself counts group mass messages per group (its receive quota holds per ``chat_id``). So it
does not take members' per-customer slots (the WeCom customer quota, the brand-wide marketing cap) —
counting it per member would let one busy group silence every 1:1 touch of hundreds of customers —
and it is not written to the customer-keyed touch ledger; its decision is recorded on the
recipient row (status and ``rule``). The rules that do apply to a group: no relation is needed
(``group`` is not a relation channel), and quiet hours in the corp's time zone defer a non-service
group touch to their end (the deferred wave sends it then). WeCom's own per-group receive quota is
enforced by WeCom at the owner's confirmation; WeCom lists only the groups a message reached, so a
group it did not list once the owner confirmed fails with ``wecom_status`` 0 (result sync).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.errors import InvalidInput, NotFound
from siyu.models import Department, Staff, StaffStatus
from siyu.models.broadcast import RecipientStatus
from siyu.models.group import GroupChat
from siyu.models.policy import TouchPriority, TouchRule
from siyu.policy.settings import PolicySettings

AUDIENCE_FIELDS = (("group_chat_ids", GroupChat), ("owner_staff_ids", Staff), ("store_ids", Department))


def check_group_audience(session: Session, corp_id: int, audience: dict[str, Any]) -> dict[str, Any]:
    """Normalise a group audience and check every id names a row of this corp; refusals name the
    field (``audience.group_chat_ids`` …)."""
    clean: dict[str, Any] = {}
    for name, model in AUDIENCE_FIELDS:
        values = audience.get(name) or []
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            raise InvalidInput("error.broadcast_ids_invalid", field=f"audience.{name}")
        if not values:
            continue
        wanted = set(values)
        found = set(session.scalars(select(model.id).where(model.corp_id == corp_id, model.id.in_(wanted))))
        if wanted - found:
            raise NotFound("error.broadcast_reference_not_found", field=f"audience.{name}")
        clean[name] = sorted(wanted)
    for name in ("tag_ids", "staff_ids", "segment_id"):
        if audience.get(name):
            raise InvalidInput("error.broadcast_group_audience_field", field=f"audience.{name}")
    return clean


def audience_groups(session: Session, corp_id: int, audience: dict[str, Any]) -> list[tuple[int, str, int | None, str]]:
    """(group_chat_id, chat_id, owner staff id or None, name) of every group of the audience; the
    owner is ``None`` when the group has no active owner staff member."""
    statement = (select(GroupChat.id, GroupChat.chat_id, GroupChat.owner_staff_id, Staff.status, GroupChat.name)
                 .outerjoin(Staff, Staff.id == GroupChat.owner_staff_id)
                 .where(GroupChat.corp_id == corp_id, GroupChat.status != "dismissed",
                        GroupChat.dismissed_at.is_(None))
                 .order_by(GroupChat.id))
    if audience.get("group_chat_ids"):
        statement = statement.where(GroupChat.id.in_(audience["group_chat_ids"]))
    if audience.get("owner_staff_ids"):
        statement = statement.where(GroupChat.owner_staff_id.in_(audience["owner_staff_ids"]))
    if audience.get("store_ids"):
        statement = statement.where(Staff.department_id.in_(audience["store_ids"]))
    return [(group_id, chat_id, owner if status == StaffStatus.active else None, name or chat_id)
            for group_id, chat_id, owner, status, name in session.execute(statement)]


def gate_group(settings: PolicySettings, priority: TouchPriority, at: datetime
               ) -> tuple[RecipientStatus, TouchRule | None, datetime | None]:
    """The contact policy for one group touch (see the module docstring): quiet hours defer it."""
    if priority != TouchPriority.service:
        release = settings.quiet_hours.release(at, settings.timezone)
        if release is not None:
            return RecipientStatus.deferred, TouchRule.quiet_hours, release
    return RecipientStatus.queued, None, None
