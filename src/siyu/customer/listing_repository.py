"""Queries of the customer list, its search and its export — always through ``scoped``.

Search stays on indexes at bench scale: identity values through the unique
``(corp_id, kind, value)`` index (one probe per kind the text could be), phones through
``(corp_id, phone)``, names through ``(corp_id, name)`` as a prefix range. The three are OR-ed over
the customer table, which PostgreSQL runs as a BitmapOr of the three index scans and SQLite as a
union of index lookups; only ``match="contains"`` (the API's older default) scans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from siyu.customer.repository import customers_query
from siyu.identity.rules import KINDS, normalise_identity
from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer, Identity, Relation, RelationStatus
from siyu.models.org import Department, DepartmentKind, Staff
from siyu.models.tag import CustomerTag, Tag
from siyu.models.trait import CustomerTrait

if TYPE_CHECKING:
    from siyu.customer.listing import CustomerFilter

#: at most this many customers are taken from identity matches (an identity names one person;
#: only a short junk value could match more, and then the name and phone parts still apply)
IDENTITY_MATCH_LIMIT = 200
#: the last code point: every text starting with a prefix sorts below prefix + this (binary order)
_TOP = "\U0010ffff"


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def name_prefix(session: Session, column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as an index range. PostgreSQL turns a LIKE prefix into a
    range on the ``varchar_pattern_ops`` index; SQLite's LIKE is case-insensitive and skips the
    index, so it gets the range itself (binary collation: the range is exactly the prefix)."""
    if _is_postgres(session):
        # the pattern is built here, not concatenated in SQL, so the planner sees a constant prefix
        escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
        return column.like(escaped + "%", escape="/")
    return and_(column >= prefix, column < prefix + _TOP)


def identity_matches(session: Session, principal: Principal, text: str,
                     kind: str | None = None) -> dict[int, list[str]]:
    """customer id → the kinds whose identity value is ``text`` (normalised per kind, so a phone
    typed as "+86 138-0013-8000" is found). Live customers only hold identities (merges move
    them to the survivor); the caller's scope applies when the customers are read."""
    pairs = {(k, normal) for k in ((kind,) if kind else KINDS)
             if (normal := normalise_identity(k, text)) is not None}
    if not pairs:
        return {}
    # most kinds keep the text as it is (only phones change), so this is one or two values: an
    # index probe per (kind, value) combination on (corp_id, kind, value); the pairs are checked below
    identity = Identity.__table__.c
    statement = (select(identity.customer_id, identity.kind, identity.value)
                 .where(identity.corp_id == principal.corp_id,
                        identity.kind.in_(sorted({k for k, _ in pairs})),
                        identity.value.in_(sorted({v for _, v in pairs})))
                 .order_by(identity.customer_id.desc()).limit(IDENTITY_MATCH_LIMIT))
    found: dict[int, list[str]] = defaultdict(list)
    for customer_id, matched_kind, value in session.execute(statement):
        if (matched_kind, value) in pairs:
            found[customer_id].append(matched_kind)
    return dict(found)


def _search(session: Session, principal: Principal, wanted: CustomerFilter) -> tuple[ColumnElement[bool],
                                                                                     dict[int, list[str]]]:
    text = wanted.search or ""
    matched = identity_matches(session, principal, text, wanted.identity_kind)
    if wanted.identity_kind:
        # "find by this kind of identity": exact identity matches only
        return (Customer.id.in_(sorted(matched)) if matched else false()), matched
    parts: list[ColumnElement[bool]] = []
    if matched:
        parts.append(Customer.id.in_(sorted(matched)))
    phone = normalise_identity("phone", text)
    if wanted.match == "contains":
        parts += [Customer.name.contains(text, autoescape=True), Customer.phone.contains(text, autoescape=True)]
    else:
        parts.append(name_prefix(session, Customer.name, text))
        if phone:
            parts.append(Customer.phone == phone)
    return or_(*parts), matched


def _store_subtree(store_id: int, corp_id: int) -> Select:
    store_path = select(Department.path).where(Department.id == store_id, Department.corp_id == corp_id)
    return select(Department.id).where(Department.corp_id == corp_id,
                                       Department.path.startswith(store_path.scalar_subquery()))


def filtered_customers(session: Session, principal: Principal, wanted: CustomerFilter,
                       added: tuple[datetime | None, datetime | None]) -> tuple[Select, dict[int, list[str]]]:
    """The live customers in the principal's scope that match every filter, and the identity kinds
    the search matched per customer."""
    statement = customers_query(principal)
    matched: dict[int, list[str]] = {}
    if wanted.search:
        condition, matched = _search(session, principal, wanted)
        statement = statement.where(condition)
    if wanted.store_id is not None:
        subtree = _store_subtree(wanted.store_id, principal.corp_id)
        served = exists().where(Relation.customer_id == Customer.id, Relation.status == RelationStatus.active,
                                Relation.staff_id.in_(select(Staff.id).where(Staff.department_id.in_(subtree))))
        statement = statement.where(or_(Customer.home_store_id.in_(subtree), served))
    if wanted.staff_id is not None:
        statement = statement.where(exists().where(
            Relation.customer_id == Customer.id, Relation.staff_id == wanted.staff_id,
            Relation.corp_id == principal.corp_id, Relation.status == RelationStatus.active))
    if wanted.tag_id is not None:
        statement = statement.where(exists().where(
            CustomerTag.customer_id == Customer.id, CustomerTag.tag_id == wanted.tag_id,
            CustomerTag.corp_id == principal.corp_id))
    if wanted.has_phone is not None:
        has = or_(and_(Customer.phone.is_not(None), Customer.phone != ""),
                  exists().where(Identity.customer_id == Customer.id, Identity.kind == "phone"))
        statement = statement.where(has if wanted.has_phone else ~has)
    start, end = added
    if start is not None:
        statement = statement.where(Customer.created_at >= start)
    if end is not None:
        statement = statement.where(Customer.created_at < end)
    trait_conditions = _trait_conditions(wanted)
    if trait_conditions:
        statement = statement.outerjoin(CustomerTrait, CustomerTrait.customer_id == Customer.id) \
            .where(*trait_conditions)
    return statement, matched


def _trait_conditions(wanted: CustomerFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    orders = func.coalesce(CustomerTrait.order_count, 0)
    spend = func.coalesce(CustomerTrait.total_spend, 0)
    if wanted.lifecycle_stage is not None:
        conditions.append(CustomerTrait.lifecycle_stage == wanted.lifecycle_stage)
    if wanted.rfm_class is not None:
        conditions.append(CustomerTrait.rfm_class == wanted.rfm_class)
    if wanted.min_orders is not None:
        conditions.append(orders >= wanted.min_orders)
    if wanted.max_orders is not None:
        conditions.append(orders <= wanted.max_orders)
    if wanted.min_spend is not None:
        conditions.append(spend >= wanted.min_spend)
    if wanted.max_spend is not None:
        conditions.append(spend <= wanted.max_spend)
    return conditions


def count_capped(session: Session, statement: Select, cap: int) -> tuple[int, bool]:
    """How many rows ``statement`` has, counting at most ``cap`` + 1; (count, more than cap)."""
    limited = statement.with_only_columns(Customer.id).order_by(None).limit(cap + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(limited)) or 0
    return min(counted, cap), counted > cap


@dataclass(frozen=True)
class ListRow:
    """A customer as the list and the export show it."""

    id: int
    name: str | None
    phone: str | None
    gender: str | None
    city: str | None
    home_store: str | None
    created_at: datetime
    lifecycle_stage: str | None
    rfm_class: str | None
    order_count: int
    total_spend: Decimal
    last_order_at: datetime | None
    tags: tuple[str, ...]


def _tags_of(session: Session, corp_id: int, ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    for customer_id, name in session.execute(
            select(CustomerTag.customer_id, Tag.name).join(Tag, Tag.id == CustomerTag.tag_id)
            .where(CustomerTag.corp_id == corp_id, CustomerTag.customer_id.in_(ids), Tag.deleted_at.is_(None))
            .order_by(CustomerTag.customer_id, Tag.name)):
        tags[customer_id].append(name)
    return tags


#: aliases, made once (so statements stay cached): the filter may have joined customer_trait
#: already, and the scope's subqueries read department, which a join of the table would correlate with
_ROW_TRAIT = CustomerTrait.__table__.alias("row_trait")
_ROW_STORE = Department.__table__.alias("row_store")


def rows_after(session: Session, principal: Principal, statement: Select, before_id: int | None,
               size: int) -> list[ListRow]:
    """The next ``size`` customers of ``statement`` below ``before_id`` (newest first) as the list
    and the export show them: plain columns with traits and home store joined in, and their tags
    (two statements, no ORM objects). The console's pages and the export's chunks both walk the
    list this way."""
    trait, store = _ROW_TRAIT.c, _ROW_STORE.c
    statement = (statement.with_only_columns(
        Customer.id, Customer.name, Customer.phone, Customer.gender, Customer.city, store.name,
        Customer.created_at, trait.lifecycle_stage, trait.rfm_class, trait.order_count, trait.total_spend,
        trait.last_order_at)
        .outerjoin(_ROW_TRAIT, trait.customer_id == Customer.id)
        .outerjoin(_ROW_STORE, store.id == Customer.home_store_id))
    if before_id is not None:
        statement = statement.where(Customer.id < before_id)
    found = session.execute(statement.order_by(Customer.id.desc()).limit(size)).all()
    tags = _tags_of(session, principal.corp_id, [row[0] for row in found]) if found else {}
    return [ListRow(*row[:9], row[9] or 0, row[10] if row[10] is not None else Decimal("0"), row[11],
                    tuple(tags.get(row[0], ()))) for row in found]


def visible_tags(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """The corp's live tags (id, name) for the filter form."""
    return [(row.id, row.name) for row in session.execute(
        select(Tag.id, Tag.name).where(Tag.corp_id == principal.corp_id, Tag.deleted_at.is_(None))
        .order_by(Tag.name))]


def filter_choices(session: Session, principal: Principal) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The stores and staff the principal may filter by (their own scope's)."""
    stores = session.execute(scoped(select(Department.id, Department.name), Department, principal)
                             .where(Department.kind == DepartmentKind.store).order_by(Department.name)).all()
    staff = session.execute(scoped(select(Staff.id, Staff.name), Staff, principal).order_by(Staff.name)).all()
    return [(row.id, row.name) for row in stores], [(row.id, row.name) for row in staff]


def corp_timezone(session: Session, corp_id: int) -> str | None:
    from siyu.models.corp import Corp

    return session.scalar(select(Corp.timezone).where(Corp.id == corp_id))
