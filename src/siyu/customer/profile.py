"""The Customer 360 profile: everything known about one person, in sections.

``resolve`` turns any id the operator holds into the customer it is now: a merged-away id resolves
to its survivor (through chains of merges), so old links, exports and WeCom sidebars keep working.
The profile is shown only if the principal may see that survivor; otherwise it does not exist for
them (404), exactly like a customer of another corp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.customer import profile_repository as repository
from siyu.identity.service import survivor_of
from siyu.kit.errors import NotFound
from siyu.kit.pagination import paginate_by_time
from siyu.kit.tenancy import Principal
from siyu.models.customer import Customer
from siyu.models.event import Event
from siyu.models.order import Order
from siyu.models.trait import CustomerTrait

#: where an identity kind comes from when no merge brought it (the identity row keeps no source)
KIND_ORIGINS = {
    "wecom_external_userid": "wecom", "unionid": "wecom", "taobao_buyer": "order", "jd_pin": "order",
    "youzan_buyer": "order", "douyin_buyer": "order", "anonymous_id": "event", "user_id": "event",
}
SPEND_MONTHS = 24


@dataclass(frozen=True)
class Resolved:
    customer: Customer
    #: the id asked for, when it was merged into ``customer``
    merged_from: int | None


def resolve(session: Session, principal: Principal, customer_id: int) -> Resolved:
    """The live customer ``customer_id`` is now, if the principal may see it; ``NotFound`` otherwise."""
    try:
        live_id = survivor_of(session, principal.corp_id, customer_id)
    except NotFound:
        raise NotFound("error.customer_not_found", field="customer_id") from None
    customer = repository.visible_customer(session, principal, live_id)
    if customer is None:
        raise NotFound("error.customer_not_found", field="customer_id")
    return Resolved(customer, customer_id if live_id != customer_id else None)


@dataclass(frozen=True)
class IdentityEntry:
    id: int
    kind: str
    value: str
    since: datetime
    #: "merge" (brought by merge ``merge_id`` from customer ``merged_from``), or the kind's origin
    #: ("wecom", "order", "event"), or None when the kind has no single origin (phone, openid …)
    source: str | None
    merge_id: int | None = None
    merged_from: int | None = None


@dataclass(frozen=True)
class MergeEntry:
    id: int
    #: "absorbed" (another customer was merged into this one) or "merged_away"
    role: str
    other_id: int
    reason: str
    identity_kind: str | None
    identity_value: str | None
    merged_at: datetime
    undone_at: datetime | None
    undone_by: str | None
    note: str | None
    moved: dict[str, int]


@dataclass
class Profile:
    customer: Customer
    merged_from: int | None
    home_store: str | None
    identities: list[IdentityEntry]
    relations: list[repository.RelationRow]
    tags: list[repository.TagRow]
    tag_history: list[repository.TagHistoryRow]
    trait: CustomerTrait | None
    favourite_store: str | None
    touches_available: bool
    touches: list[Any]
    touch_count: int
    groups: list[Any]
    merges: list[MergeEntry]
    #: ("YYYY-MM", spend) per month in the corp's zone, the last ``SPEND_MONTHS`` months up to the
    #: latest purchase, months without purchases as zero
    spend_by_month: list[tuple[str, Decimal]] = field(default_factory=list)


def load(session: Session, principal: Principal, customer_id: int, zone: ZoneInfo) -> Profile:
    """The whole profile of the customer ``customer_id`` is now (orders and events come in pages:
    ``orders_page``, ``events_page``)."""
    resolved = resolve(session, principal, customer_id)
    customer, corp_id = resolved.customer, principal.corp_id
    merges = _merges(session, corp_id, customer.id)
    trait, favourite_store = repository.trait(session, corp_id, customer.id)
    return Profile(
        customer=customer, merged_from=resolved.merged_from,
        home_store=repository.department_name(session, corp_id, customer.home_store_id),
        identities=_identities(session, corp_id, customer.id, merges),
        relations=repository.relations(session, corp_id, customer.id),
        tags=repository.tags(session, corp_id, customer.id),
        tag_history=repository.tag_history(session, corp_id, customer.id),
        trait=trait, favourite_store=favourite_store,
        touches_available=repository.touches_available(),
        touches=repository.touches(session, corp_id, customer.id),
        touch_count=repository.touch_count(session, corp_id, customer.id),
        groups=repository.groups(session, corp_id, customer.id),
        merges=[entry for entry, _ in merges],
        spend_by_month=spend_by_month(repository.monthly_spend(session, principal, customer.id), zone),
    )


def _merges(session: Session, corp_id: int, customer_id: int) -> list[tuple[MergeEntry, list[int]]]:
    """Merge entries, each with the identity ids it brought to this customer (if it is the survivor
    and the merge stands)."""
    entries = []
    for merge, undone_by in repository.merges(session, corp_id, customer_id):
        absorbed = merge.survivor_id == customer_id
        moved = {table: len(ids) for table, ids in (merge.moved or {}).items()}
        entries.append((MergeEntry(
            merge.id, "absorbed" if absorbed else "merged_away", merge.merged_id if absorbed else merge.survivor_id,
            merge.reason, merge.identity_kind, merge.identity_value, merge.merged_at, merge.undone_at, undone_by,
            merge.note, moved),
            [int(i) for i in (merge.moved or {}).get("identity", [])] if absorbed and merge.undone_at is None else []))
    return entries


def _identities(session: Session, corp_id: int, customer_id: int,
                merges: list[tuple[MergeEntry, list[int]]]) -> list[IdentityEntry]:
    brought = {identity_id: entry for entry, ids in merges for identity_id in ids}
    out = []
    for identity in repository.identities(session, corp_id, customer_id):
        merge = brought.get(identity.id)
        if merge is not None:
            out.append(IdentityEntry(identity.id, identity.kind, identity.value, identity.created_at, "merge",
                                     merge.id, merge.other_id))
        else:
            out.append(IdentityEntry(identity.id, identity.kind, identity.value, identity.created_at,
                                     KIND_ORIGINS.get(identity.kind)))
    return out


def spend_by_month(purchases: list[tuple[datetime, Decimal]], zone: ZoneInfo) -> list[tuple[str, Decimal]]:
    """Purchases bucketed by month in ``zone``: the ``SPEND_MONTHS`` months up to the last purchase."""
    if not purchases:
        return []
    totals: dict[int, Decimal] = {}
    for paid_at, amount in purchases:
        local = paid_at.astimezone(zone)
        index = local.year * 12 + local.month - 1
        totals[index] = totals.get(index, Decimal("0")) + amount
    last = max(totals)
    first = max(min(totals), last - SPEND_MONTHS + 1)
    return [(f"{index // 12:04d}-{index % 12 + 1:02d}", totals.get(index, Decimal("0.00")))
            for index in range(first, last + 1)]


def orders_page(session: Session, principal: Principal, customer_id: int, *, limit: int,
                cursor: str | None) -> tuple[Customer, list[Order], str | None]:
    """One page of the customer's orders in the principal's scope, latest paid first."""
    customer = resolve(session, principal, customer_id).customer
    rows, next_cursor = paginate_by_time(session, repository.orders_query(principal, customer.id), Order.paid_at,
                                         Order.id, limit=limit, cursor=cursor)
    return customer, rows, next_cursor


def events_page(session: Session, principal: Principal, customer_id: int, *, limit: int,
                cursor: str | None) -> tuple[Customer, list[Event], str | None]:
    """One page of the customer's event timeline, newest (by the event's own time) first."""
    customer = resolve(session, principal, customer_id).customer
    rows, next_cursor = paginate_by_time(session, repository.events_query(principal.corp_id, customer.id),
                                         Event.timestamp, Event.id, limit=limit, cursor=cursor)
    return customer, rows, next_cursor
