"""Console: the Customer 360 — search and the filtered customer list with its export, and the
profile page of one customer (identities, relations, tags, traits, orders, events, touches, groups,
merges).

Every page calls the same services as the REST API (``customer.listing``, ``customer.export``,
``customer.profile``); the filter form is a plain GET form, so a filtered list is a link that can be
shared, and htmx swaps only the results when it changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.console.shell import console_page, shell_of
from siyu.customer import listing, profile
from siyu.customer import listing_repository as list_queries
from siyu.customer.customer_360_endpoints import export_response
from siyu.customer.listing import CustomerFilter
from siyu.customer.trait_scores import LIFECYCLE_STAGES, RFM_CLASS_CODES
from siyu.identity import manual
from siyu.identity.rules import KINDS
from siyu.kit.errors import InvalidInput, SiyuError
from siyu.kit.tenancy import Principal

router = APIRouter()
PAGE_SIZE = 25
SECTION_PAGE = 10
FILTER_FIELDS = ("q", "identity_kind", "store_id", "staff_id", "lifecycle_stage", "rfm_class", "tag_id",
                 "has_phone", "added_from", "added_to", "min_orders", "max_orders", "min_spend", "max_spend")


def _form_values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}


def _filter(request: Request, form: FormState) -> CustomerFilter | None:
    """The filter of the form, or None with the refusal shown next to its field."""
    try:
        return listing.parse(form.values)
    except InvalidInput as error:
        record(error, form, request_language(request))
        return None


def _query_string(values: dict[str, str], **extra: str) -> str:
    return urlencode({**{k: v for k, v in values.items() if v}, **extra})


@router.get("/customers")
def customers_page(request: Request, session: DbSession, principal: Principal = console_page("customers")):
    """The list with its filters; an htmx request (the filter form, "next page") gets the results only."""
    form = FormState("filters", _form_values(request))
    wanted = _filter(request, form)
    zone = shell_of(request).zone
    result = None
    if wanted is not None:
        try:
            result = listing.customers_page(session, principal, wanted, zone, limit=PAGE_SIZE,
                                            cursor=request.query_params.get("cursor") or None)
        except InvalidInput as error:  # a cursor that is not ours
            record(error, form, request_language(request))
    stores, staff = list_queries.filter_choices(session, principal)
    context: dict[str, Any] = {
        "form": form, "result": result, "searching": bool(wanted and wanted.search),
        "query": _query_string(form.values), "stores": stores, "staff": staff,
        "tags": list_queries.visible_tags(session, principal), "kinds": KINDS,
        "stages": LIFECYCLE_STAGES, "rfm_classes": RFM_CLASS_CODES,
        "more": bool(request.query_params.get("cursor")),
    }
    status = 422 if form.failed else 200
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "results":
        return render(request, "customer/_results.html", context, status_code=status)
    return render(request, "customer/index.html", context, status_code=status)


@router.get("/customers/export")
def export_download(request: Request, session: DbSession, clock: AppClock,
                    principal: Principal = console_page("customers")):
    """The filtered list as a CSV or XLSX download (the same stream as ``GET /api/v1/customers/export``)."""
    values = _form_values(request)
    wanted = listing.parse(values)
    return export_response(request, session, principal, wanted, request.query_params.get("format", "csv"), clock)


@router.get("/customers/{customer_id}")
def profile_page(request: Request, customer_id: int, session: DbSession,
                 principal: Principal = console_page("customers")):
    """The profile; a merged-away id redirects to its survivor's page, which says so."""
    zone = shell_of(request).zone
    resolved = profile.resolve(session, principal, customer_id)
    if resolved.merged_from is not None:
        return RedirectResponse(f"/customers/{resolved.customer.id}?merged_from={customer_id}", status_code=303)
    loaded = profile.load(session, principal, customer_id, zone)
    merged_from = request.query_params.get("merged_from", "")
    context = {
        "profile": loaded, "customer": loaded.customer,
        "merged_from": int(merged_from) if merged_from.isdigit() else None,
        "orders": _orders(session, principal, loaded.customer.id, None),
        "events": _events(session, principal, loaded.customer.id, None),
        "can_undo": principal.corp_wide and principal.can("customers.write"),
        "chart": {"months": [month for month, _ in loaded.spend_by_month],
                  "spend": [float(spend) for _, spend in loaded.spend_by_month]},
    }
    return render(request, "customer/profile.html", context)


def _orders(session, principal: Principal, customer_id: int, cursor: str | None) -> dict[str, Any]:
    if not principal.can("orders.read"):
        return {"rows": [], "next": None, "allowed": False}
    _, rows, next_cursor = profile.orders_page(session, principal, customer_id, limit=SECTION_PAGE, cursor=cursor)
    return {"rows": rows, "next": next_cursor, "allowed": True}


def _events(session, principal: Principal, customer_id: int, cursor: str | None) -> dict[str, Any]:
    _, rows, next_cursor = profile.events_page(session, principal, customer_id, limit=SECTION_PAGE, cursor=cursor)
    return {"rows": rows, "next": next_cursor}


def _more(request: Request, session, principal: Principal, customer_id: int, section: str):
    """htmx: the next rows of a paged section of the profile (``orders`` or ``events``)."""
    customer = profile.resolve(session, principal, customer_id).customer
    load = _orders if section == "orders" else _events
    rows = load(session, principal, customer.id, request.query_params.get("cursor") or None)
    template = "customer/_order_rows.html" if section == "orders" else "customer/_event_rows.html"
    return render(request, template, {section: rows, "customer": customer})


@router.get("/customers/{customer_id}/orders")
def orders_more(request: Request, customer_id: int, session: DbSession,
                principal: Principal = console_page("customers")):
    return _more(request, session, principal, customer_id, "orders")


@router.get("/customers/{customer_id}/events")
def events_more(request: Request, customer_id: int, session: DbSession,
                principal: Principal = console_page("customers")):
    return _more(request, session, principal, customer_id, "events")


@router.post("/customers/{customer_id}/merges/{merge_id}/undo")
def undo_merge(request: Request, customer_id: int, merge_id: int, session: DbSession, clock: AppClock,
               principal: Principal = console_page("customers", "customers.write")):
    """Split a merge (the identity domain's undo), then show the survivor's profile again."""
    try:
        manual.undo_merge(session, principal, customer_id, merge_id, clock=clock)
    except SiyuError as error:
        if error.status_code == 404:
            raise
        session.rollback()
        query = urlencode({"undo_error": error.message(request_language(request))})
        return RedirectResponse(f"/customers/{customer_id}?{query}#merges", status_code=303)
    return RedirectResponse(f"/customers/{customer_id}?undone={merge_id}#merges", status_code=303)
