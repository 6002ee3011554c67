"""The customer list of the Customer 360: search, filters, pages and the count shown above them.

One ``CustomerFilter`` serves the console list, ``GET /api/v1/customers`` and the exports, so a
filtered list and its export are always the same customers. Everything is narrowed to the
principal's data scope by ``listing_repository`` (through ``scoped``): a filter can only narrow it.

Search (``q``) finds a customer by any identity value (unionid, openid, external userid, member
number, platform buyer …; a phone as ``identity/`` normalises it), by phone, and by name — a name
prefix (index range scan) by default, or ``match="contains"`` for the older "name or phone contains"
search of the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.customer import listing_repository as repository
from siyu.customer.trait_scores import LIFECYCLE_STAGES, RFM_CLASS_CODES
from siyu.identity.rules import KINDS
from siyu.kit.errors import InvalidInput
from siyu.kit.pagination import check_limit, decode_cursor, encode_cursor, paginate
from siyu.kit.tenancy import Principal
from siyu.models.customer import Customer

MATCHES = ("prefix", "contains")
#: counting stops here: the list says "100,000+" rather than counting a million rows per page view
COUNT_CAP = 100_000
MAX_QUERY_LENGTH = 128


@dataclass(frozen=True)
class CustomerFilter:
    """What the operator asked for; ``None`` means "any"."""

    q: str | None = None
    match: str = "prefix"
    #: restrict the identity search to one kind (``openid``, ``member_no`` …)
    identity_kind: str | None = None
    #: customers of a store: home store in its subtree, or served (active relation) by its staff
    store_id: int | None = None
    #: customers with an active relation to this staff member
    staff_id: int | None = None
    lifecycle_stage: str | None = None
    rfm_class: str | None = None
    tag_id: int | None = None
    has_phone: bool | None = None
    #: created (added to siyu) on or after / on or before these days, in the corp's time zone
    added_from: date | None = None
    added_to: date | None = None
    min_orders: int | None = None
    max_orders: int | None = None
    min_spend: Decimal | None = None
    max_spend: Decimal | None = None

    @property
    def search(self) -> str | None:
        return self.q.strip() if self.q and self.q.strip() else None


def check(wanted: CustomerFilter) -> CustomerFilter:
    """``wanted`` if it makes sense; ``InvalidInput`` naming the field otherwise."""
    if wanted.match not in MATCHES:
        raise InvalidInput("customer.error.choice", field="match", choices=", ".join(MATCHES))
    if wanted.q is not None and len(wanted.q) > MAX_QUERY_LENGTH:
        raise InvalidInput("customer.error.query_too_long", field="q", limit=MAX_QUERY_LENGTH)
    for name, choices in (("identity_kind", KINDS), ("lifecycle_stage", LIFECYCLE_STAGES),
                          ("rfm_class", RFM_CLASS_CODES)):
        value = getattr(wanted, name)
        if value is not None and value not in choices:
            raise InvalidInput("customer.error.choice", field=name, choices=", ".join(choices))
    for low, high in (("added_from", "added_to"), ("min_orders", "max_orders"), ("min_spend", "max_spend")):
        if getattr(wanted, low) is not None and getattr(wanted, high) is not None \
                and getattr(wanted, low) > getattr(wanted, high):
            raise InvalidInput("customer.error.range", field=high, low=low)
    for name in ("min_orders", "max_orders", "min_spend", "max_spend"):
        value = getattr(wanted, name)
        if value is not None and value < 0:
            raise InvalidInput("customer.error.negative", field=name)
    return wanted


_INTEGERS = ("store_id", "staff_id", "tag_id", "min_orders", "max_orders")
_DECIMALS = ("min_spend", "max_spend")
_DATES = ("added_from", "added_to")
_TEXTS = ("q", "match", "identity_kind", "lifecycle_stage", "rfm_class")


def parse(params: Mapping[str, str]) -> CustomerFilter:
    """A filter from form or query-string values (the console's filter form). Blank means "any";
    a value that is not what its field takes is refused naming the field."""
    values: dict[str, object] = {}
    for name in _TEXTS:
        raw = (params.get(name) or "").strip()
        if raw:
            values[name] = raw
    for name in _INTEGERS:
        raw = (params.get(name) or "").strip()
        if raw:
            if not raw.isdigit() or len(raw) > 18:
                raise InvalidInput("customer.error.not_a_number", field=name)
            values[name] = int(raw)
    for name in _DECIMALS:
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                amount = Decimal(raw)
            except InvalidOperation as error:
                raise InvalidInput("customer.error.not_an_amount", field=name) from error
            if not amount.is_finite():
                raise InvalidInput("customer.error.not_an_amount", field=name)
            values[name] = amount
    for name in _DATES:
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                values[name] = date.fromisoformat(raw)
            except ValueError as error:
                raise InvalidInput("customer.error.not_a_date", field=name) from error
    has_phone = (params.get("has_phone") or "").strip()
    if has_phone:
        if has_phone not in ("yes", "no", "true", "false", "1", "0"):
            raise InvalidInput("customer.error.choice", field="has_phone", choices="yes, no")
        values["has_phone"] = has_phone in ("yes", "true", "1")
    return check(CustomerFilter(**values))


def day_bounds(wanted: CustomerFilter, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` of the "added between" days in the corp's zone."""
    start = datetime.combine(wanted.added_from, time(), zone) if wanted.added_from else None
    end = datetime.combine(wanted.added_to + timedelta(days=1), time(), zone) if wanted.added_to else None
    return start, end


@dataclass(frozen=True)
class ListPage:
    """One page of the list: the customers with what the list shows of each."""

    rows: list[repository.ListRow]
    next_cursor: str | None
    #: matching customers, counted up to ``COUNT_CAP`` (``capped``: there are more)
    total: int
    capped: bool
    #: customer id → the identity kinds the search matched ("found by openid")
    matched_by: dict[int, list[str]]


def customers_page(session: Session, principal: Principal, wanted: CustomerFilter, zone: ZoneInfo, *,
                   limit: int, cursor: str | None, count: bool = True) -> ListPage:
    """One page of the filtered list, newest customers first."""
    check_limit(limit)
    statement, matched_by = repository.filtered_customers(session, principal, wanted, day_bounds(wanted, zone))
    rows = repository.rows_after(session, principal, statement, decode_cursor(cursor) if cursor else None,
                                 limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    total, capped = (repository.count_capped(session, statement, COUNT_CAP) if count else (len(rows), False))
    return ListPage(rows, next_cursor, total, capped,
                    {row.id: matched_by[row.id] for row in rows if row.id in matched_by})


def customers_of_page(session: Session, principal: Principal, wanted: CustomerFilter, zone: ZoneInfo, *,
                      limit: int, cursor: str | None) -> tuple[list[Customer], str | None]:
    """The plain customers of one page (the REST list)."""
    statement, _ = repository.filtered_customers(session, principal, wanted, day_bounds(wanted, zone))
    return paginate(session, statement, Customer.id, limit=limit, cursor=cursor)


def count_capped_for(session: Session, principal: Principal, wanted: CustomerFilter, zone: ZoneInfo,
                     cap: int) -> tuple[int, bool]:
    """How many customers match (at most ``cap``), and whether there are more."""
    statement, _ = repository.filtered_customers(session, principal, wanted, day_bounds(wanted, zone))
    return repository.count_capped(session, statement, cap)


def corp_zone(session: Session, corp_id: int) -> ZoneInfo:
    """The corp's time zone: "added between" days and the profile's months are counted in it."""
    try:
        return ZoneInfo(repository.corp_timezone(session, corp_id) or "Asia/Shanghai")
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Shanghai")
