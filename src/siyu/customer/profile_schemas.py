"""Output of the Customer 360 API: the profile and the event timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from siyu.customer import schemas
from siyu.customer.trait_schemas import CustomerTraits


class ProfileIdentity(BaseModel):
    id: int
    kind: str
    value: str
    since: datetime
    #: "merge", "wecom", "order", "event" or null (see ``customer.profile.IdentityEntry``)
    source: str | None
    merge_id: int | None
    merged_from_customer: int | None


class ProfileRelation(BaseModel):
    id: int
    staff_id: int
    staff_name: str
    staff_userid: str
    store: str | None
    external_userid: str | None
    remark: str | None
    add_way: int | None
    add_way_label: str | None
    #: the contact way's ``state``: the channel the customer came through
    state: str | None
    #: active, deleted_by_customer, deleted_by_staff, transferred
    status: str
    status_label: str
    added_at: datetime
    ended_at: datetime | None
    tags: list[str]


class ProfileTag(BaseModel):
    tag_id: int
    name: str
    group: str
    kind: str
    source: str
    tagged_at: datetime


class ProfileTagChange(BaseModel):
    tag: str
    action: str
    source: str
    staff: str | None
    user: str | None
    at: datetime


class ProfileTouch(BaseModel):
    id: int
    channel: str
    priority: str
    status: str
    rule: str | None
    staff: str | None
    source_kind: str
    occurred_at: datetime


class ProfileGroup(BaseModel):
    group_chat_id: int
    name: str | None
    owner: str | None
    status: str
    joined_at: datetime | None
    left_at: datetime | None


class ProfileMerge(BaseModel):
    id: int
    #: "absorbed": ``other_customer`` was merged into this customer; "merged_away": the reverse
    role: str
    other_customer: int
    reason: str
    identity_kind: str | None
    identity_value: str | None
    merged_at: datetime
    undone_at: datetime | None
    undone_by: str | None
    note: str | None
    #: rows moved per table
    moved: dict[str, int]
    #: ``POST`` here (corp admin, HQ operator) to split the merge again, while it stands
    undo_url: str | None


class MonthSpend(BaseModel):
    month: str
    spend: Decimal


class CustomerProfile(BaseModel):
    customer: schemas.Customer
    #: the id asked for, when it had been merged into this customer
    merged_from_customer: int | None
    home_store: str | None
    identities: list[ProfileIdentity]
    relations: list[ProfileRelation]
    tags: list[ProfileTag]
    tag_history: list[ProfileTagChange]
    traits: CustomerTraits | None
    favourite_store: str | None
    #: false while the contact-policy domain (the touch ledger) is not installed
    touches_available: bool
    touch_count: int
    touches: list[ProfileTouch]
    groups: list[ProfileGroup]
    merges: list[ProfileMerge]
    spend_by_month: list[MonthSpend]
    #: the first page of orders and events; the rest through their own paginated endpoints
    orders: list[schemas.Order]
    orders_next_cursor: str | None
    events: list[TimelineEvent]
    events_next_cursor: str | None


class TimelineEvent(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    name: str | None
    properties: dict[str, Any]
    timestamp: datetime
    received_at: datetime


CustomerProfile.model_rebuild()


def label(key: str, language: str) -> str | None:
    """The catalogue string for ``key``, or None when the catalogue has none (an unknown code)."""
    from siyu.kit.i18n import translate

    text = translate(key, language)
    return None if text == key else text


def profile_out(profile, orders: list, orders_next: str | None, events: list, events_next: str | None,
                language: str) -> CustomerProfile:
    """The API form of a ``customer.profile.Profile`` with its first pages of orders and events."""
    customer_id = profile.customer.id
    traits = None
    if profile.trait is not None:
        traits = CustomerTraits.model_validate(profile.trait).model_copy(update={
            "rfm_class_label": label(f"trait.rfm_class.{profile.trait.rfm_class}", language),
            "lifecycle_stage_label": label(f"trait.lifecycle_stage.{profile.trait.lifecycle_stage}", language),
        })
    return CustomerProfile(
        customer=schemas.Customer.model_validate(profile.customer),
        merged_from_customer=profile.merged_from, home_store=profile.home_store,
        identities=[ProfileIdentity(id=i.id, kind=i.kind, value=i.value, since=i.since, source=i.source,
                                    merge_id=i.merge_id, merged_from_customer=i.merged_from)
                    for i in profile.identities],
        relations=[ProfileRelation(
            id=r.id, staff_id=r.staff_id, staff_name=r.staff_name, staff_userid=r.staff_userid, store=r.store,
            external_userid=r.external_userid, remark=r.remark, add_way=r.add_way,
            add_way_label=label(f"customer.add_way.{r.add_way}", language) if r.add_way is not None else None,
            state=r.state, status=r.status, status_label=label(f"customer.relation_status.{r.status}", language)
            or r.status, added_at=r.added_at, ended_at=r.ended_at, tags=list(r.tags)) for r in profile.relations],
        tags=[ProfileTag(tag_id=t.tag_id, name=t.name, group=t.group, kind=t.kind, source=t.source,
                         tagged_at=t.tagged_at) for t in profile.tags],
        tag_history=[ProfileTagChange(tag=h.tag, action=h.action, source=h.source, staff=h.staff, user=h.user,
                                      at=h.at) for h in profile.tag_history],
        traits=traits, favourite_store=profile.favourite_store,
        touches_available=profile.touches_available, touch_count=profile.touch_count,
        touches=[ProfileTouch(id=touch.id, channel=str(touch.channel), priority=str(touch.priority),
                              status=str(touch.status), rule=str(touch.rule) if touch.rule else None, staff=staff,
                              source_kind=touch.source_kind, occurred_at=touch.occurred_at)
                 for touch, staff in profile.touches],
        groups=[ProfileGroup(group_chat_id=chat.id, name=chat.name, owner=owner, status=chat.status,
                             joined_at=member.joined_at, left_at=member.left_at)
                for member, chat, owner in profile.groups],
        merges=[ProfileMerge(
            id=m.id, role=m.role, other_customer=m.other_id, reason=m.reason, identity_kind=m.identity_kind,
            identity_value=m.identity_value, merged_at=m.merged_at, undone_at=m.undone_at, undone_by=m.undone_by,
            note=m.note, moved=m.moved,
            undo_url=(f"/api/v1/customers/{customer_id}/merges/{m.id}/undo"
                      if m.undone_at is None and m.role == "absorbed" else None)) for m in profile.merges],
        spend_by_month=[MonthSpend(month=month, spend=spend) for month, spend in profile.spend_by_month],
        orders=[schemas.Order.model_validate(o) for o in orders], orders_next_cursor=orders_next,
        events=[TimelineEvent.model_validate(e) for e in events], events_next_cursor=events_next,
    )
