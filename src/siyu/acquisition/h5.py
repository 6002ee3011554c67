"""The public H5 order-binding page (``/h5/bind/<token>``): a customer opens the signed link their
staff member sent, enters the order number and the last four digits of the phone, and the order binds
(see ``binding``). No login: the signed token names the corp and the customer."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request

from siyu.acquisition import binding, h5_links
from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.rendering import render
from siyu.kit.errors import SiyuError

router = APIRouter(include_in_schema=False)


def _claims(request: Request, token: str, clock) -> h5_links.LinkClaims:
    return h5_links.read_token(token, clock.now(), request.app.state.settings.secret_key)


@router.get("/h5/bind/{token}")
def bind_form(token: str, request: Request, clock: AppClock):
    try:
        _claims(request, token, clock)
    except SiyuError as error:
        return render(request, "acquisition/h5_bind.html", {"refused": error.message(request_language(request))},
                      status_code=error.status_code)
    return render(request, "acquisition/h5_bind.html", {"token": token, "values": {}})


@router.post("/h5/bind/{token}")
def bind_submit(token: str, request: Request, session: DbSession, clock: AppClock, order_no: str = Form(""),
                phone_tail: str = Form(""), platform: str = Form("")):
    language = request_language(request)
    values = {"order_no": order_no, "phone_tail": phone_tail, "platform": platform}
    try:
        claims = _claims(request, token, clock)
        with session.begin_nested():
            result = binding.bind_order(session, claims.corp_id, customer_id=claims.customer_id, order_no=order_no,
                                        phone_tail=phone_tail, platform=platform or None, via="h5", clock=clock)
    except SiyuError as error:
        return render(request, "acquisition/h5_bind.html",
                      {"token": token, "values": values, "error": error.message(language), "field": error.field},
                      status_code=error.status_code)
    return render(request, "acquisition/h5_bind.html", {"bound": result})
