"""Queries of segments and their members — tenant scope through ``scoped``.

Segments are corp-wide audience definitions: roles with corp-wide scope see them; store managers and
staff see none (no data-scope rule is registered, so ``scoped`` gives them nothing).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer
from siyu.models.group import GroupChat
from siyu.models.org import Department, Staff
from siyu.models.segment import Segment, SegmentMembership
from siyu.models.tag import Tag
from siyu.segment import optional_models


def segments_query(principal: Principal) -> Select[Any]:
    return scoped(select(Segment), Segment, principal)


def get_segment(session: Session, principal: Principal, segment_id: int) -> Segment | None:
    return session.scalars(segments_query(principal).where(Segment.id == segment_id)).one_or_none()


def corp_segments(session: Session, corp_id: int) -> list[Segment]:
    return list(session.scalars(select(Segment).where(Segment.corp_id == corp_id).order_by(Segment.id)))


def visible_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    statement = scoped(select(Customer), Customer, principal).where(Customer.id == customer_id,
                                                                    Customer.merged_into_id.is_(None))
    return session.scalars(statement).one_or_none()


def members_page_query(principal: Principal, segment_id: int) -> Select[Any]:
    """The segment's current members as customer rows with their entry time (for ``paginate``)."""
    return (scoped(select(Customer), Customer, principal)
            .join(SegmentMembership, and_(SegmentMembership.customer_id == Customer.id,
                                          SegmentMembership.segment_id == segment_id,
                                          SegmentMembership.exited_at.is_(None)))
            .where(Customer.merged_into_id.is_(None)))


def entered_at(session: Session, segment_id: int, customer_ids: list[int]) -> dict[int, datetime]:
    """When each of these customers entered the segment (their current stay)."""
    if not customer_ids:
        return {}
    return dict(session.execute(select(SegmentMembership.customer_id, SegmentMembership.entered_at).where(
        SegmentMembership.segment_id == segment_id, SegmentMembership.exited_at.is_(None),
        SegmentMembership.customer_id.in_(customer_ids))).all())


def customers_by_id(session: Session, corp_id: int, customer_ids: list[int]) -> list[Customer]:
    if not customer_ids:
        return []
    rows = session.scalars(select(Customer).where(Customer.corp_id == corp_id, Customer.id.in_(customer_ids)))
    order = {customer_id: index for index, customer_id in enumerate(customer_ids)}
    return sorted(rows, key=lambda customer: order[customer.id])


#: kind → (model, column) of the objects a definition may name
REFERENCE_MODELS = {"tag": Tag, "staff": Staff, "department": Department, "group_chat": GroupChat,
                    "segment": Segment}


def existing_ids(session: Session, corp_id: int, kind: str, ids: set[int]) -> set[int]:
    """Which of ``ids`` are the corp's objects of ``kind`` (live tags only)."""
    if not ids:
        return set()
    if kind == "channel_code":
        model = optional_models.channel_code_model()
    elif kind == "member_level":
        model = optional_models.membership_model()
        from siyu.models.loyalty import MemberLevel

        model = MemberLevel if model is not None else None
    else:
        model = REFERENCE_MODELS[kind]
    if model is None:
        return set()
    statement = select(model.id).where(model.corp_id == corp_id, model.id.in_(ids))
    if model is Tag:
        statement = statement.where(Tag.deleted_at.is_(None))
    return set(session.scalars(statement))


def membership_trend(session: Session, segment_id: int, days: list[datetime]) -> list[int]:
    """Members at the end of each day in ``days`` (UTC moments), from the membership history."""
    counts = []
    for moment in days:
        counts.append(session.scalar(
            select(func.count()).select_from(SegmentMembership)
            .where(SegmentMembership.segment_id == segment_id, SegmentMembership.entered_at <= moment,
                   or_(SegmentMembership.exited_at.is_(None), SegmentMembership.exited_at > moment))) or 0)
    return counts


def trend_days(now: datetime, days: int) -> list[datetime]:
    """The last ``days`` moments, one a day, ending now."""
    return [now - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
