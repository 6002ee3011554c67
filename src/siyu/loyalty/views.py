"""Console: loyalty — levels and their members, coupon templates with what became of their coupons,
members, and one member's points ledger and coupons (adjust points, issue and void coupons).

Forms go through the same service calls as ``/api/v1/loyalty``.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record, validate
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.errors import SiyuError
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.loyalty import members, repository, schemas, service
from siyu.models.loyalty import Member, PointsEntry

router = APIRouter()
PAGE_SIZE = 20


def _overview(request: Request, session: Session, principal: Principal, clock, forms: dict[str, FormState] | None = None,
              status_code: int = 200, notice: str | None = None):
    levels = service.levels_out(session, principal, repository.levels(session, principal))
    counts = repository.members_per_level(session, principal)
    rows, next_cursor = paginate(session, repository.members_query(principal, member_no=request.query_params.get("q")
                                                                   or None), Member.customer_id,
                                 limit=PAGE_SIZE, cursor=None)
    context: dict[str, Any] = {
        "totals": repository.programme_totals(session, principal, clock.now()),
        "settings": members.settings(session, principal.corp_id),
        "levels": levels, "unlevelled": counts.get(None, 0),
        "templates": service.templates_out(session, principal, repository.templates(session, principal)),
        "members": service.members_out(session, rows), "more_members": next_cursor is not None,
        "q": request.query_params.get("q", ""),
        "can_write": principal.can("loyalty.write"),
        "forms": forms or {"level": FormState("level"), "template": FormState("template", {"kind": "amount_off"})},
        "kinds": ("amount_off", "discount", "gift"), "notice": notice,
        "chart": {"levels": [level.name for level in levels], "members": [level.members for level in levels]},
    }
    return render(request, "loyalty/index.html", context, status_code=status_code)


@router.get("/loyalty")
def loyalty_page(request: Request, session: DbSession, clock: AppClock,
                 principal: Principal = console_page("loyalty")):
    return _overview(request, session, principal, clock, notice=request.query_params.get("notice"))


def _values(**fields: str) -> dict[str, str]:
    return {name: value.strip() for name, value in fields.items()}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Blank optional fields left out, so the schema's defaults apply."""
    return {name: value for name, value in values.items() if value not in ("", None)}


@router.post("/loyalty/levels")
def create_level(request: Request, session: DbSession, clock: AppClock, name: str = Form(""), rank: str = Form(""),
                 min_spend: str = Form(""), min_points: str = Form(""),
                 principal: Principal = console_page("loyalty", "loyalty.write")):
    language = request_language(request)
    form = FormState("level", _values(name=name, rank=rank, min_spend=min_spend, min_points=min_points))
    body = validate(schemas.MemberLevelCreate, FormState("level", _present(form.values), form.errors), language)
    status = 422
    if body is not None:
        try:
            members.create_level(session, principal.corp_id, members.LevelDraft(**body.model_dump()), now=clock.now())
            return RedirectResponse("/loyalty?notice=level", status_code=303)
        except SiyuError as error:
            record(error, form, language)
            status = error.status_code
    return _overview(request, session, principal, clock, {"level": form, "template": FormState("template")}, status)


@router.post("/loyalty/coupon-templates")
def create_template(request: Request, session: DbSession, clock: AppClock, name: str = Form(""),
                    kind: str = Form(""), value: str = Form(""), threshold: str = Form(""),
                    valid_days: str = Form(""), valid_until: str = Form(""), stock: str = Form(""),
                    per_customer_limit: str = Form(""),
                    principal: Principal = console_page("loyalty", "loyalty.write")):
    language = request_language(request)
    form = FormState("template", _values(name=name, kind=kind, value=value, threshold=threshold,
                                         valid_days=valid_days, valid_until=valid_until, stock=stock,
                                         per_customer_limit=per_customer_limit))
    values = _present(form.values)
    if "valid_until" in values:
        # a date picked in the console means the end of that day, in China
        values["valid_until"] = f"{values['valid_until']}T23:59:59+08:00"
    body = validate(schemas.CouponTemplateCreate, FormState("template", values, form.errors), language)
    status = 422
    if body is not None:
        try:
            service.create_template(session, principal, body, clock.now())
            return RedirectResponse("/loyalty?notice=template", status_code=303)
        except SiyuError as error:
            record(error, form, language)
            status = error.status_code
    return _overview(request, session, principal, clock, {"level": FormState("level"), "template": form}, status)


# -- one member -----------------------------------------------------------------------------------------

def _member_page(request: Request, session: Session, principal: Principal, customer_id: int,
                 forms: dict[str, FormState] | None = None, status_code: int = 200):
    member = service.member(session, principal, customer_id)
    entries, _ = paginate(session, repository.entries_query(principal, customer_id), PointsEntry.id, limit=100,
                          cursor=None)
    context = {
        "member": service.members_out(session, [member])[0], "entries": entries,
        "coupons": repository.coupons_of_customer(session, principal, customer_id),
        "template_names": repository.template_names(session, principal.corp_id),
        "templates": repository.templates(session, principal, active=True),
        "can_write": principal.can("customers.write"),
        "forms": forms or {"points": FormState("points"), "coupon": FormState("coupon")},
        "notice": request.query_params.get("notice"),
        # one key per drawn form: a double submit applies once, the next form is a new request
        "form_key": secrets.token_hex(8),
    }
    return render(request, "loyalty/member.html", context, status_code=status_code)


@router.get("/loyalty/members/{customer_id}")
def member_page(request: Request, customer_id: int, session: DbSession,
                principal: Principal = console_page("loyalty")):
    return _member_page(request, session, principal, customer_id)


@router.post("/loyalty/members/{customer_id}/points")
def adjust_points(request: Request, customer_id: int, session: DbSession, clock: AppClock, points: str = Form(""),
                  note: str = Form(""), idempotency_key: str = Form(""),
                  principal: Principal = console_page("loyalty", "customers.write")):
    language = request_language(request)
    form = FormState("points", _values(points=points, note=note, idempotency_key=idempotency_key))
    body = validate(schemas.PointsAdjustment, FormState("points", _present(form.values), form.errors), language)
    status = 422
    if body is not None:
        try:
            service.adjust_points(session, principal, customer_id, body, clock.now())
            return RedirectResponse(f"/loyalty/members/{customer_id}?notice=points", status_code=303)
        except SiyuError as error:
            record(error, form, language)
            status = error.status_code
    return _member_page(request, session, principal, customer_id, {"points": form, "coupon": FormState("coupon")}, status)


@router.post("/loyalty/members/{customer_id}/coupons")
def issue_coupon(request: Request, customer_id: int, session: DbSession, clock: AppClock,
                 template_id: str = Form(""), idempotency_key: str = Form(""),
                 principal: Principal = console_page("loyalty", "customers.write")):
    language = request_language(request)
    form = FormState("coupon", _values(template_id=template_id, idempotency_key=idempotency_key))
    body = validate(schemas.CouponIssue, FormState("coupon", {**_present(form.values), "customer_id": customer_id},
                                                   form.errors), language)
    status = 422
    if body is not None:
        try:
            service.issue(session, principal, body, clock.now())
            return RedirectResponse(f"/loyalty/members/{customer_id}?notice=coupon", status_code=303)
        except SiyuError as error:
            record(error, form, language)
            status = error.status_code
    return _member_page(request, session, principal, customer_id, {"points": FormState("points"), "coupon": form}, status)


@router.post("/loyalty/coupons/{coupon_id}/void")
def void_coupon(coupon_id: int, session: DbSession, clock: AppClock,
                principal: Principal = console_page("loyalty", "customers.write")):
    coupon = service.void(session, principal, coupon_id, clock.now())
    return RedirectResponse(f"/loyalty/members/{coupon.customer_id}?notice=void", status_code=303)
