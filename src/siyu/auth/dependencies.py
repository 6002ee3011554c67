"""Request dependencies: the unit of work, the principal, permissions and CSRF.

The edge owns the transaction: ``db_session`` commits after the endpoint returns and before the
response is sent (``scope="function"``), or rolls back if it raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.kit.errors import Forbidden, Unauthorized
from siyu.kit.i18n import normalise_language, pick_language
from siyu.kit.security import csrf_matches
from siyu.kit.tenancy import Principal

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_clock_dependency(request: Request) -> Clock:
    return request.app.state.clock


def _session(request: Request) -> Iterator[Session]:
    # Writes take SQLite's write lock at BEGIN: a read-then-write transaction started with a plain
    # BEGIN fails at once ("database is locked") if a worker commits in between. No-op on PostgreSQL.
    immediate = request.method in UNSAFE_METHODS
    with get_database(request).session(immediate=immediate) as session:
        yield session


DbSession = Annotated[Session, Depends(_session, scope="function")]
AppClock = Annotated[Clock, Depends(get_clock_dependency)]


def request_language(request: Request) -> str:
    """The session's chosen language, else ``?lang=``, else Accept-Language, else zh-CN."""
    chosen = request.session.get("language") if "session" in request.scope else None
    if chosen:
        return normalise_language(chosen)
    if request.query_params.get("lang"):
        return normalise_language(request.query_params["lang"])
    return pick_language(request.headers.get("accept-language"))


def current_principal(request: Request, session: DbSession) -> Principal:
    """The caller, by API token (``Authorization: Bearer``) or console session cookie."""
    from siyu.auth import service

    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        principal = service.principal_for_token(session, authorization[7:].strip(), request.app.state.clock)
        if principal is None:
            raise Unauthorized("error.invalid_token")
    else:
        user_id = request.session.get("user_id")
        principal = service.principal_for_session(session, user_id, request.session.get("session_version"))
        if principal is None:
            raise Unauthorized("error.login_required")
        if request.method in UNSAFE_METHODS and not _csrf_ok(request):
            raise Forbidden("error.csrf")
    request.state.principal = principal
    return principal


def _csrf_ok(request: Request) -> bool:
    expected = request.session.get("csrf_token")
    given = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form_token", None)
    return csrf_matches(expected, given)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str):
    """A dependency that refuses the request unless the principal's role grants ``permission``."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise Forbidden("error.permission", permission=permission)
        return principal

    return Depends(check)


async def _csrf_form_field(request: Request) -> None:
    """For console form posts: read the ``csrf_token`` field before the principal check."""
    content_type = request.headers.get("content-type", "")
    if request.method in UNSAFE_METHODS and ("form" in content_type):
        form = await request.form()
        token = form.get("csrf_token")
        request.state.csrf_form_token = token if isinstance(token, str) else None


def _console_principal(_: Annotated[None, Depends(_csrf_form_field)], principal: CurrentPrincipal) -> Principal:
    return principal


#: The principal of a console page or form post (accepts the CSRF token as a form field too).
ConsolePrincipal = Annotated[Principal, Depends(_console_principal)]


def console_require(permission: str):
    def check(principal: ConsolePrincipal) -> Principal:
        if not principal.can(permission):
            raise Forbidden("error.permission", permission=permission)
        return principal

    return Depends(check)
