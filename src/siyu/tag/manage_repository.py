"""Queries of tag management: groups, tags, rules, customers' tags and their history.

The tag catalogue (groups and tags) is corp-wide: every role of the corp reads it, since store
managers and staff tag the customers they serve. Customers' tags and history are visible exactly
when the customer is (the customer's data-scope rule).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

# Importing the domain repository registers the data-scope rule of Customer.
import siyu.customer.repository  # noqa: F401
from siyu.kit.tenancy import Principal, data_scope, scoped
from siyu.models.customer import Customer, Relation, RelationStatus
from siyu.models.org import Staff
from siyu.models.tag import CustomerTag, Tag, TagGroup, TagHistory
from siyu.models.tag_rule import TagRule
from siyu.models.wecom import WeComConnection


@data_scope(TagGroup)
def _group_scope(statement: Select, principal: Principal) -> Select:
    return statement


@data_scope(Tag)
def _tag_scope(statement: Select, principal: Principal) -> Select:
    return statement


def _visible_customers(principal: Principal) -> Select:
    return scoped(select(Customer.id), Customer, principal)


@data_scope(CustomerTag)
def _customer_tag_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(CustomerTag.customer_id.in_(_visible_customers(principal).scalar_subquery()))


@data_scope(TagHistory)
def _history_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(TagHistory.customer_id.in_(_visible_customers(principal).scalar_subquery()))


def live_groups(session: Session, principal: Principal) -> list[TagGroup]:
    return list(session.scalars(scoped(select(TagGroup), TagGroup, principal)
                                .where(TagGroup.deleted_at.is_(None)).order_by(TagGroup.order.desc(), TagGroup.id)))


def live_tags(session: Session, principal: Principal, *, group_id: int | None = None,
              kind: str | None = None) -> list[Tag]:
    statement = scoped(select(Tag), Tag, principal).where(Tag.deleted_at.is_(None))
    if group_id is not None:
        statement = statement.where(Tag.group_id == group_id)
    if kind is not None:
        statement = statement.where(Tag.kind == kind)
    return list(session.scalars(statement.order_by(Tag.group_id, Tag.order.desc(), Tag.id)))


def get_group(session: Session, principal: Principal, group_id: int) -> TagGroup | None:
    return session.scalars(scoped(select(TagGroup), TagGroup, principal)
                           .where(TagGroup.id == group_id, TagGroup.deleted_at.is_(None))).one_or_none()


def get_tag(session: Session, principal: Principal, tag_id: int) -> Tag | None:
    return session.scalars(scoped(select(Tag), Tag, principal)
                           .where(Tag.id == tag_id, Tag.deleted_at.is_(None))).one_or_none()


def live_tags_of_corp(session: Session, corp_id: int, tag_ids: Sequence[int]) -> list[Tag]:
    """Live tags among ``tag_ids`` that belong to ``corp_id`` (callers without a principal)."""
    if not tag_ids:
        return []
    return list(session.scalars(select(Tag).where(Tag.corp_id == corp_id, Tag.id.in_(list(tag_ids)),
                                                  Tag.deleted_at.is_(None)).order_by(Tag.id)))


def groups_by_id(session: Session, corp_id: int, group_ids: Sequence[int]) -> dict[int, TagGroup]:
    if not group_ids:
        return {}
    rows = session.scalars(select(TagGroup).where(TagGroup.corp_id == corp_id, TagGroup.id.in_(list(group_ids))))
    return {group.id: group for group in rows}


def group_name_taken(session: Session, corp_id: int, name: str, *, except_id: int | None = None) -> bool:
    """Whether a live WeCom-synced group already has ``name`` (WeCom refuses a second one)."""
    statement = select(TagGroup.id).where(TagGroup.corp_id == corp_id, TagGroup.name == name,
                                          TagGroup.deleted_at.is_(None), TagGroup.wecom_group_id.is_not(None))
    if except_id is not None:
        statement = statement.where(TagGroup.id != except_id)
    return session.scalar(statement.limit(1)) is not None


def tag_name_taken(session: Session, corp_id: int, group_id: int, name: str, *, except_id: int | None = None) -> bool:
    statement = select(Tag.id).where(Tag.corp_id == corp_id, Tag.group_id == group_id, Tag.name == name,
                                     Tag.deleted_at.is_(None))
    if except_id is not None:
        statement = statement.where(Tag.id != except_id)
    return session.scalar(statement.limit(1)) is not None


def visible_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    return session.scalars(scoped(select(Customer), Customer, principal)
                           .where(Customer.id == customer_id, Customer.merged_into_id.is_(None))).one_or_none()


def live_customer_of_corp(session: Session, corp_id: int, customer_id: int) -> Customer | None:
    return session.scalars(select(Customer).where(Customer.corp_id == corp_id, Customer.id == customer_id,
                                                  Customer.merged_into_id.is_(None))).one_or_none()


def customer_tag(session: Session, customer_id: int, tag_id: int) -> CustomerTag | None:
    return session.scalars(select(CustomerTag).where(CustomerTag.customer_id == customer_id,
                                                     CustomerTag.tag_id == tag_id)).one_or_none()


def tags_of_customer(session: Session, principal: Principal, customer_id: int) -> list[CustomerTag]:
    return list(session.scalars(
        scoped(select(CustomerTag), CustomerTag, principal)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.customer_id == customer_id, Tag.deleted_at.is_(None))
        .order_by(CustomerTag.tagged_at, CustomerTag.tag_id)))


def history_query(principal: Principal, customer_id: int) -> Select:
    return scoped(select(TagHistory), TagHistory, principal).where(TagHistory.customer_id == customer_id)


def active_relations(session: Session, corp_id: int, customer_id: int) -> list[tuple[int, str, str]]:
    """(relation id, staff userid, external_userid) of the customer's active WeCom relations."""
    rows = session.execute(
        select(Relation.id, Staff.userid, Relation.external_userid)
        .join(Staff, Staff.id == Relation.staff_id)
        .where(Relation.corp_id == corp_id, Relation.customer_id == customer_id,
               Relation.status == RelationStatus.active, Relation.external_userid.is_not(None))
        .order_by(Relation.id))
    return [(relation_id, userid, external_userid) for relation_id, userid, external_userid in rows]


def customer_ids_with_tag(session: Session, corp_id: int, tag_id: int) -> list[tuple[int, str]]:
    return [(customer_id, source) for customer_id, source in session.execute(
        select(CustomerTag.customer_id, CustomerTag.source)
        .where(CustomerTag.corp_id == corp_id, CustomerTag.tag_id == tag_id).order_by(CustomerTag.customer_id))]


def rule_of(session: Session, tag_id: int) -> TagRule | None:
    return session.get(TagRule, tag_id)


def live_rules(session: Session, corp_id: int, tag_ids: Sequence[int] | None = None) -> list[tuple[Tag, TagRule]]:
    statement = (select(Tag, TagRule).join(TagRule, TagRule.tag_id == Tag.id)
                 .where(Tag.corp_id == corp_id, Tag.kind == "rule", Tag.deleted_at.is_(None)).order_by(Tag.id))
    if tag_ids is not None:
        statement = statement.where(Tag.id.in_(list(tag_ids)))
    return [(tag, rule) for tag, rule in session.execute(statement)]


def wecom_connected(session: Session, corp_id: int) -> bool:
    return session.scalar(select(WeComConnection.id).where(WeComConnection.corp_id == corp_id).limit(1)) is not None
