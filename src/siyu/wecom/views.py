"""Console: WeCom settings — the connection form (secrets write-only), the connection test, sync
status and history, and the callback log with filters and a replay button. Everything goes through
``wecom.service``, like the REST API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record, validate
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.integrations.wecom.connection_check import check_connection
from siyu.kit.errors import SiyuError
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.wecom import CallbackStatus, WeComCallback, WeComSyncRun
from siyu.wecom import repository, schemas, service

router = APIRouter()
PAGE = "/settings/wecom"
PAGE_SIZE = 30
SYNC_HISTORY = 10
SECRET_FIELDS = ("contact_secret", "address_book_secret", "callback_token", "encoding_aes_key")
EVENTS = ("change_external_contact", "change_external_chat", "change_external_tag", "change_contact")
QUOTA_RULES = ("daily", "weekly7", "days_in_month")


def _filters(status: str | None, event: str | None) -> dict[str, str]:
    """Known values only: filters come from links and are never trusted."""
    filters = {}
    if status in {s.value for s in CallbackStatus}:
        filters["status"] = status
    if event in EVENTS:
        filters["event"] = event
    return filters


def _callback_rows(session: Session, principal: Principal, filters: dict[str, str], cursor: str | None):
    statement = repository.callbacks_query(principal, status=filters.get("status"),
                                           event=filters.get("event"))
    rows, next_cursor = paginate(session, statement, WeComCallback.id, limit=PAGE_SIZE, cursor=cursor)
    return {"callbacks": rows, "next_cursor": next_cursor, "filters": filters,
            "filter_query": urlencode(filters), "replayable": {s.value for s in service.REPLAYABLE}}


def _connection_form(connection) -> FormState:
    form = FormState("connection")
    if connection is not None:
        form.values = {"wecom_corp_id": connection.wecom_corp_id, "agent_id": connection.agent_id or "",
                       "api_base": connection.api_base or "",
                       "broadcast_quota_rule": connection.broadcast_quota_rule}
    return form


def _page(request: Request, session: Session, principal: Principal, *, form: FormState | None = None,
          status: str | None = None, event: str | None = None, notice: str | None = None,
          status_code: int = 200):
    connection = repository.get_connection(session, principal)
    settings = request.app.state.settings
    runs, _ = paginate(session, repository.sync_runs_query(principal), WeComSyncRun.id,
                       limit=SYNC_HISTORY, cursor=None)
    context: dict[str, Any] = {
        "connection": service.connection_view(connection, settings.public_base_url) if connection else None,
        "callback_url": service.callback_url(settings.public_base_url, principal.corp_id),
        "form": form or _connection_form(connection), "quota_rules": QUOTA_RULES, "events": EVENTS,
        "statuses": [s.value for s in CallbackStatus], "sync_runs": runs,
        "latest_run": runs[0] if runs else None, "notice": notice if notice in ("saved",) else None,
    }
    context |= _callback_rows(session, principal, _filters(status, event), None)
    return render(request, "wecom/index.html", context, status_code=status_code)


@router.get(PAGE)
def wecom_page(request: Request, session: DbSession, status: str | None = None, event: str | None = None,
               notice: str | None = None, principal: Principal = console_page("wecom")):
    return _page(request, session, principal, status=status, event=event, notice=notice)


@router.post(PAGE + "/connection")
def save_connection(request: Request, session: DbSession, clock: AppClock, wecom_corp_id: str = Form(""),
                    agent_id: str = Form(""), contact_secret: str = Form(""),
                    address_book_secret: str = Form(""), callback_token: str = Form(""),
                    encoding_aes_key: str = Form(""), api_base: str = Form(""),
                    broadcast_quota_rule: str = Form("daily"), principal: Principal = console_page("wecom")):
    language = request_language(request)
    values = {"wecom_corp_id": wecom_corp_id.strip(), "agent_id": agent_id.strip() or None,
              "contact_secret": contact_secret.strip(), "address_book_secret": address_book_secret.strip(),
              "callback_token": callback_token.strip(), "encoding_aes_key": encoding_aes_key.strip(),
              "api_base": api_base.strip(), "broadcast_quota_rule": broadcast_quota_rule}
    form = FormState("connection", values)
    data = validate(schemas.ConnectionUpdate, form, language)
    # Secrets are never sent back to the browser, not even the ones just typed.
    for name in SECRET_FIELDS:
        form.values[name] = ""
    if data is None:
        return _page(request, session, principal, form=form, status_code=422)
    try:
        service.save_connection(session, principal, data, clock, request.app.state.settings.secret_key)
    except SiyuError as exc:
        record(exc, form, language)
        return _page(request, session, principal, form=form, status_code=exc.status_code)
    return RedirectResponse(f"{PAGE}?notice=saved", status_code=303)


@router.post(PAGE + "/test")
def test_connection(request: Request, session: DbSession, clock: AppClock,
                    principal: Principal = console_page("wecom")):
    """htmx: the test result panel; a plain form post comes back to the page."""
    settings = request.app.state.settings
    try:
        result = service.run_connection_test(
            session, principal, clock, lambda s, corp_id: check_connection(s, corp_id, clock, settings))
    except SiyuError as exc:
        return render(request, "wecom/_test_result.html", {"error": exc.message(request_language(request))},
                      status_code=exc.status_code)
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(PAGE, status_code=303)
    return render(request, "wecom/_test_result.html", {"result": result})


@router.get(PAGE + "/callbacks/rows")
def callback_rows(request: Request, session: DbSession, status: str | None = None, event: str | None = None,
                  cursor: str | None = None, principal: Principal = console_page("wecom")):
    """htmx: the callback table for a filter, or (with ``cursor``) the next rows to append."""
    context = _callback_rows(session, principal, _filters(status, event), cursor)
    return render(request, "wecom/_callback_rows.html" if cursor else "wecom/_callback_log.html", context)


@router.post(PAGE + "/callbacks/{callback_id}/replay")
def replay(request: Request, callback_id: int, session: DbSession, clock: AppClock,
           principal: Principal = console_page("wecom")):
    """Handle a stored event again. htmx gets the row back; a plain form post returns to the log."""
    htmx = request.headers.get("HX-Request") == "true"
    context = {"replayable": {s.value for s in service.REPLAYABLE}}
    try:
        callback = service.replay_callback(session, principal, callback_id, clock)
    except SiyuError as exc:
        callback = repository.get_callback(session, principal, callback_id)
        if not htmx or callback is None:
            raise
        return render(request, "wecom/_callback_row.html",
                      {**context, "callback": callback, "row_error": exc.message(request_language(request))},
                      status_code=exc.status_code)
    if not htmx:
        return RedirectResponse(f"{PAGE}#callbacks", status_code=303)
    return render(request, "wecom/_callback_row.html", {**context, "callback": callback, "replayed": True})
