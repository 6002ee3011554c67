"""Queries of one customer's profile (Customer 360): each section read by the customer's id, always
with the corp's id, and orders through the principal's order scope.

The caller has already checked that the principal may see the customer (``profile.resolve``);
these reads then show everything hanging off that customer, except orders, which a store manager
sees only for their own stores (the order scope of ``customer.repository``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from siyu.customer.repository import customers_query
from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer, Identity, Relation
from siyu.models.event import Event
from siyu.models.group import GroupChat, GroupChatMember
from siyu.models.identity import CustomerMerge
from siyu.models.order import PURCHASE_STATUSES, Order
from siyu.models.org import Department, Staff
from siyu.models.tag import CustomerTag, RelationTag, Tag, TagGroup, TagHistory
from siyu.models.trait import CustomerTrait
from siyu.models.user import User

try:  # the touch ledger belongs to the contact-policy domain; the section shows once it exists
    from siyu.models.policy import Touch
except ImportError:  # pragma: no cover - only before the policy domain is installed
    Touch = None  # type: ignore[assignment,misc]

HISTORY_LIMIT = 50
TOUCH_LIMIT = 50


def visible_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    """The live customer ``customer_id`` if the principal may see it."""
    return session.scalars(customers_query(principal).where(Customer.id == customer_id)).one_or_none()


def identities(session: Session, corp_id: int, customer_id: int) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.corp_id == corp_id,
                                                       Identity.customer_id == customer_id)
                                .order_by(Identity.created_at, Identity.id)))


@dataclass(frozen=True)
class RelationRow:
    id: int
    staff_id: int
    staff_name: str
    staff_userid: str
    store: str | None
    external_userid: str | None
    remark: str | None
    add_way: int | None
    state: str | None
    status: str
    added_at: datetime
    ended_at: datetime | None
    tags: tuple[str, ...]


def relations(session: Session, corp_id: int, customer_id: int) -> list[RelationRow]:
    rows = session.execute(
        select(Relation, Staff.name, Staff.userid, Department.name)
        .join(Staff, Staff.id == Relation.staff_id)
        .outerjoin(Department, Department.id == Staff.department_id)
        .where(Relation.corp_id == corp_id, Relation.customer_id == customer_id)
        .order_by(Relation.added_at, Relation.id)).all()
    tags: dict[int, list[str]] = {}
    if rows:
        for relation_id, name in session.execute(
                select(RelationTag.relation_id, Tag.name).join(Tag, Tag.id == RelationTag.tag_id)
                .where(RelationTag.corp_id == corp_id, RelationTag.relation_id.in_([r[0].id for r in rows]))
                .order_by(Tag.name)):
            tags.setdefault(relation_id, []).append(name)
    return [RelationRow(relation.id, relation.staff_id, staff_name, userid, store, relation.external_userid,
                        relation.remark, relation.add_way, relation.state, relation.status.value, relation.added_at,
                        relation.ended_at, tuple(tags.get(relation.id, ())))
            for relation, staff_name, userid, store in rows]


@dataclass(frozen=True)
class TagRow:
    tag_id: int
    name: str
    group: str
    kind: str
    source: str
    tagged_at: datetime


def tags(session: Session, corp_id: int, customer_id: int) -> list[TagRow]:
    rows = session.execute(
        select(CustomerTag.tag_id, Tag.name, TagGroup.name, Tag.kind, CustomerTag.source, CustomerTag.tagged_at)
        .join(Tag, Tag.id == CustomerTag.tag_id).join(TagGroup, TagGroup.id == Tag.group_id)
        .where(CustomerTag.corp_id == corp_id, CustomerTag.customer_id == customer_id, Tag.deleted_at.is_(None))
        .order_by(TagGroup.order, TagGroup.name, Tag.order, Tag.name))
    return [TagRow(*row) for row in rows]


@dataclass(frozen=True)
class TagHistoryRow:
    tag: str
    action: str
    source: str
    staff: str | None
    user: str | None
    at: datetime


def tag_history(session: Session, corp_id: int, customer_id: int) -> list[TagHistoryRow]:
    rows = session.execute(
        select(Tag.name, TagHistory.action, TagHistory.source, Staff.name, User.display_name, TagHistory.at)
        .join(Tag, Tag.id == TagHistory.tag_id)
        .outerjoin(Staff, Staff.id == TagHistory.staff_id).outerjoin(User, User.id == TagHistory.user_id)
        .where(TagHistory.corp_id == corp_id, TagHistory.customer_id == customer_id)
        .order_by(TagHistory.at.desc(), TagHistory.id.desc()).limit(HISTORY_LIMIT))
    return [TagHistoryRow(*row) for row in rows]


def trait(session: Session, corp_id: int, customer_id: int) -> tuple[CustomerTrait | None, str | None]:
    """The customer's traits and the name of their favourite store."""
    row = session.execute(
        select(CustomerTrait, Department.name).outerjoin(Department, Department.id == CustomerTrait.favourite_store_id)
        .where(CustomerTrait.corp_id == corp_id, CustomerTrait.customer_id == customer_id)).one_or_none()
    return (row[0], row[1]) if row else (None, None)


def department_name(session: Session, corp_id: int, department_id: int | None) -> str | None:
    if department_id is None:
        return None
    return session.scalar(select(Department.name).where(Department.corp_id == corp_id,
                                                        Department.id == department_id))


def orders_query(principal: Principal, customer_id: int) -> Select[Any]:
    """The customer's orders the principal may see (a store manager: their stores')."""
    return scoped(select(Order).where(Order.customer_id == customer_id), Order, principal)


def monthly_spend(session: Session, principal: Principal, customer_id: int) -> list[tuple[datetime, Decimal]]:
    """(paid_at, amount) of the customer's purchases in scope, oldest first; the service buckets them
    by month in the corp's zone (a customer has hundreds of orders, not millions)."""
    statement = orders_query(principal, customer_id).where(Order.status.in_(PURCHASE_STATUSES))
    rows = session.execute(statement.with_only_columns(Order.paid_at, Order.amount - Order.refund_amount)
                           .order_by(Order.paid_at))
    return [(paid_at, Decimal(amount)) for paid_at, amount in rows]


def events_query(corp_id: int, customer_id: int) -> Select[Any]:
    return select(Event).where(Event.corp_id == corp_id, Event.customer_id == customer_id)


def touches_available() -> bool:
    return Touch is not None


def touches(session: Session, corp_id: int, customer_id: int) -> list[Any]:
    """The latest touches of the customer, newest first (empty without the policy domain)."""
    if Touch is None:
        return []
    rows = session.execute(
        select(Touch, Staff.name).outerjoin(Staff, Staff.id == Touch.staff_id)
        .where(Touch.corp_id == corp_id, Touch.customer_id == customer_id)
        .order_by(Touch.occurred_at.desc(), Touch.id.desc()).limit(TOUCH_LIMIT)).all()
    return list(rows)


def touch_count(session: Session, corp_id: int, customer_id: int) -> int:
    if Touch is None:
        return 0
    return session.scalar(select(func.count()).select_from(Touch).where(
        Touch.corp_id == corp_id, Touch.customer_id == customer_id)) or 0


def groups(session: Session, corp_id: int, customer_id: int) -> list[tuple[GroupChatMember, GroupChat, str | None]]:
    owner = aliased(Staff)
    return list(session.execute(
        select(GroupChatMember, GroupChat, owner.name).join(GroupChat, GroupChat.id == GroupChatMember.group_chat_id)
        .outerjoin(owner, owner.id == GroupChat.owner_staff_id)
        .where(GroupChatMember.corp_id == corp_id, GroupChatMember.customer_id == customer_id)
        .order_by(GroupChatMember.joined_at.desc(), GroupChatMember.id.desc())).all())


def merges(session: Session, corp_id: int, customer_id: int) -> list[tuple[CustomerMerge, str | None]]:
    """Merges the customer took part in, newest first, with who undid each (if anyone)."""
    return list(session.execute(
        select(CustomerMerge, User.display_name).outerjoin(User, User.id == CustomerMerge.undone_by_user_id)
        .where(CustomerMerge.corp_id == corp_id,
               or_(CustomerMerge.survivor_id == customer_id, CustomerMerge.merged_id == customer_id))
        .order_by(CustomerMerge.merged_at.desc(), CustomerMerge.id.desc())).all())

