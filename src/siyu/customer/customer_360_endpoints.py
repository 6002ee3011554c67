"""REST: the Customer 360 — the filtered list's export, the profile, its orders and its events.

The list itself (with search and filters) is ``GET /api/v1/customers`` in ``customer.endpoints``;
both take the filters of ``filter_params``. Registered before ``customer.endpoints`` so that
``/customers/export`` is not read as a customer id.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, request_language, require
from siyu.customer import export, listing, profile, profile_schemas, schemas
from siyu.customer.listing import CustomerFilter
from siyu.kit.pagination import Page
from siyu.models.customer import IdentityKind

router = APIRouter(tags=["customers"])
PROFILE_PAGE = 20


def filter_params(
    q: str | None = Query(None, max_length=listing.MAX_QUERY_LENGTH,
                          description="Any identity value, a phone number, or a name"),
    match: Literal["contains", "prefix"] = Query(
        "contains", description="How ``q`` matches names: ``prefix`` uses the index (the console's choice); "
                                "``contains`` (the default, as before) scans"),
    identity_kind: IdentityKind | None = Query(None, description="Only exact identities of this kind match ``q``"),
    store_id: int | None = None, staff_id: int | None = None,
    lifecycle_stage: Literal["prospect", "new", "active", "dormant", "lost"] | None = None,
    rfm_class: str | None = None, tag_id: int | None = None, has_phone: bool | None = None,
    added_from: date | None = None, added_to: date | None = None,
    min_orders: int | None = Query(None, ge=0), max_orders: int | None = Query(None, ge=0),
    min_spend: Decimal | None = Query(None, ge=0), max_spend: Decimal | None = Query(None, ge=0),
) -> CustomerFilter:
    """The list's filters, as query parameters (shared by the list and its export)."""
    return listing.check(CustomerFilter(
        q=q, match=match, identity_kind=identity_kind.value if identity_kind else None, store_id=store_id,
        staff_id=staff_id, lifecycle_stage=lifecycle_stage, rfm_class=rfm_class, tag_id=tag_id,
        has_phone=has_phone, added_from=added_from, added_to=added_to, min_orders=min_orders,
        max_orders=max_orders, min_spend=min_spend, max_spend=max_spend))


Filters = Depends(filter_params)


def export_response(request: Request, session, principal, wanted: CustomerFilter, export_format: str,
                    clock) -> StreamingResponse:
    """The streamed export of ``wanted`` (shared by the API and the console)."""
    zone = listing.corp_zone(session, principal.corp_id)
    plan = export.plan(session, principal, wanted, zone, export_format)
    language = request_language(request)
    database = request.app.state.database
    stream = export.csv_stream if plan.format == "csv" else export.xlsx_stream
    name = export.filename(plan.format, clock.now().astimezone(zone).strftime("%Y%m%d-%H%M"))
    return StreamingResponse(stream(database.session, principal, plan, zone, language),
                             media_type=export.MEDIA_TYPES[plan.format],
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Export-Rows": str(plan.total)})


@router.get("/customers/export", dependencies=[require("customers.read")], response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, export.MEDIA_TYPES["xlsx"]: {}},
                             "description": "The filtered list as CSV (UTF-8 with BOM) or XLSX"}})
def export_customers(request: Request, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                     format: Literal["csv", "xlsx"] = "csv", wanted: CustomerFilter = Filters):
    """Export the filtered list (the same filters as ``GET /customers``), streamed; the header
    ``X-Export-Rows`` says how many customers it holds."""
    return export_response(request, session, principal, wanted, format, clock)


@router.get("/customers/{customer_id}/profile", response_model=profile_schemas.CustomerProfile,
            dependencies=[require("customers.read")])
def customer_profile(customer_id: int, request: Request, session: DbSession, principal: CurrentPrincipal):
    """Everything known about the customer (a merged-away id answers with its survivor, and
    ``merged_from_customer`` says so), with the first page of orders and events."""
    zone = listing.corp_zone(session, principal.corp_id)
    loaded = profile.load(session, principal, customer_id, zone)
    _, orders, orders_next = profile.orders_page(session, principal, loaded.customer.id, limit=PROFILE_PAGE,
                                                 cursor=None)
    _, events, events_next = profile.events_page(session, principal, loaded.customer.id, limit=PROFILE_PAGE,
                                                 cursor=None)
    return profile_schemas.profile_out(loaded, orders, orders_next, events, events_next, request_language(request))


@router.get("/customers/{customer_id}/profile/orders", response_model=Page[schemas.Order],
            dependencies=[require("orders.read")])
def customer_order_page(customer_id: int, session: DbSession, principal: CurrentPrincipal,
                        limit: int = Query(PROFILE_PAGE), cursor: str | None = None):
    """The customer's orders in the caller's scope, one page at a time (latest paid first)."""
    _, rows, next_cursor = profile.orders_page(session, principal, customer_id, limit=limit, cursor=cursor)
    return Page(items=[schemas.Order.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/customers/{customer_id}/events", response_model=Page[profile_schemas.TimelineEvent],
            dependencies=[require("customers.read")])
def customer_events(customer_id: int, session: DbSession, principal: CurrentPrincipal,
                    limit: int = Query(PROFILE_PAGE), cursor: str | None = None):
    """The customer's event timeline, latest first (by the event's time), one page at a time."""
    _, rows, next_cursor = profile.events_page(session, principal, customer_id, limit=limit, cursor=cursor)
    return Page(items=[profile_schemas.TimelineEvent.model_validate(row) for row in rows], next_cursor=next_cursor)
