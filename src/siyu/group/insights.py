"""Reading customer groups for operators: the list with owners, a group's join/quit timeline, the
"20 % of members bring 80 % of sales" view, and loss alerts (a customer deleted the staff member, or
the staff member deleted the customer).

Reads are for one corp; the console and API call them with the principal's corp (groups are HQ's
tool — corp-wide roles only, as the areas' permissions say).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.acquisition import ChannelCode, ChannelCodeAdd
from siyu.models.customer import Customer, Relation, RelationStatus
from siyu.models.group import GroupChat, GroupChatMember
from siyu.models.order import PURCHASE_STATUSES, Order
from siyu.models.org import Staff

LOSS_STATUSES = (RelationStatus.deleted_by_customer, RelationStatus.deleted_by_staff)
TOP_SHARE = 0.2


@dataclass
class GroupRow:
    id: int
    chat_id: str
    name: str | None
    owner: str | None
    member_count: int
    status: str


def groups(session: Session, corp_id: int, *, limit: int = 200) -> list[GroupRow]:
    rows = session.execute(
        select(GroupChat, Staff.name).outerjoin(Staff, Staff.id == GroupChat.owner_staff_id)
        .where(GroupChat.corp_id == corp_id).order_by(GroupChat.member_count.desc(), GroupChat.id).limit(limit))
    return [GroupRow(g.id, g.chat_id, g.name, owner or g.owner_userid, g.member_count, g.status) for g, owner in rows]


def group_of_corp(session: Session, corp_id: int, group_id: int) -> GroupChat | None:
    return session.scalars(select(GroupChat).where(GroupChat.corp_id == corp_id,
                                                   GroupChat.id == group_id)).one_or_none()


@dataclass
class TimelineEntry:
    at: datetime
    member_userid: str
    customer_id: int | None
    #: joined / left
    change: str
    #: join_scene (1 invited, 2 link, 3 QR code) or quit_scene (0 left, 1 removed)
    scene: int | None


def timeline(session: Session, group_id: int, *, limit: int = 200) -> list[TimelineEntry]:
    """Joins and quits, newest first (a member who rejoined shows their latest stay)."""
    entries = []
    for member in session.scalars(select(GroupChatMember).where(GroupChatMember.group_chat_id == group_id)):
        if member.joined_at is not None:
            entries.append(TimelineEntry(member.joined_at, member.member_userid, member.customer_id, "joined",
                                         member.join_scene))
        if member.left_at is not None:
            entries.append(TimelineEntry(member.left_at, member.member_userid, member.customer_id, "left",
                                         member.quit_scene))
    return sorted(entries, key=lambda e: (e.at, e.change), reverse=True)[:limit]


@dataclass
class Concentration:
    members: int
    buyers: int
    total_sales: Decimal
    #: how many members make the top 20 %, and the share of sales they bring
    top_members: int
    top_share: float | None
    #: (customer_id, name, sales), best first
    ranking: list[tuple[int, str | None, Decimal]]


def sales_concentration(session: Session, corp_id: int, group_id: int) -> Concentration:
    """Sales of the group's present customer members; the share the top 20 % of members bring."""
    present = (select(GroupChatMember.customer_id).where(
        GroupChatMember.group_chat_id == group_id, GroupChatMember.left_at.is_(None),
        GroupChatMember.customer_id.is_not(None)).scalar_subquery())
    members = session.scalar(select(func.count()).select_from(GroupChatMember).where(
        GroupChatMember.group_chat_id == group_id, GroupChatMember.left_at.is_(None),
        GroupChatMember.member_type == 2)) or 0
    rows = session.execute(
        select(Customer.id, Customer.name, func.sum(Order.amount - Order.refund_amount).label("sales"))
        .join(Order, Order.customer_id == Customer.id)
        .where(Customer.corp_id == corp_id, Customer.id.in_(present), Order.status.in_(PURCHASE_STATUSES))
        .group_by(Customer.id, Customer.name)
        .order_by(func.sum(Order.amount - Order.refund_amount).desc(), Customer.id))
    ranking = [(customer_id, name, Decimal(sales)) for customer_id, name, sales in rows]
    total = sum((sales for _, _, sales in ranking), Decimal(0))
    top = math.ceil(members * TOP_SHARE) if members else 0
    share = float(sum((s for _, _, s in ranking[:top]), Decimal(0)) / total) if total else None
    return Concentration(members, len(ranking), total, top, share, ranking)


@dataclass
class LossAlert:
    relation_id: int
    ended_at: datetime
    status: str
    customer_id: int
    customer_name: str | None
    staff_name: str
    channel_code: str | None


def loss_alerts(session: Session, corp_id: int, since: datetime, *, limit: int = 200) -> list[LossAlert]:
    """Relations ended by either side since ``since``, newest first, with the code the customer came by."""
    code_name = (select(ChannelCode.name).join(ChannelCodeAdd, ChannelCodeAdd.channel_code_id == ChannelCode.id)
                 .where(ChannelCodeAdd.relation_id == Relation.id).limit(1).scalar_subquery())
    rows = session.execute(
        select(Relation.id, Relation.ended_at, Relation.status, Customer.id, Customer.name, Staff.name, code_name)
        .join(Customer, Customer.id == Relation.customer_id).join(Staff, Staff.id == Relation.staff_id)
        .where(Relation.corp_id == corp_id, Relation.status.in_(LOSS_STATUSES), Relation.ended_at >= since)
        .order_by(Relation.ended_at.desc(), Relation.id.desc()).limit(limit))
    return [LossAlert(rid, ended, RelationStatus(status).value, cid, cname, sname, code)
            for rid, ended, status, cid, cname, sname, code in rows]
