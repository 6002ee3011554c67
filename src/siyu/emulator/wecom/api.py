"""The emulated WeCom server API under ``/cgi-bin/`` — shared machinery and the assembled router.

Every endpoint answers HTTP 200 with ``errcode``/``errmsg`` (reference §0, §8). The ``api_context``
dependency resolves ``access_token`` (41001 missing, 40014 unknown, 42001 expired), counts the call
against the corp's rate limits (45009) and lets WeCom-side timers run (due transfers). Handlers take the
state lock themselves because FastAPI runs sync handlers on a thread pool.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.entities import App, Member
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import Corp, EmulatorState


@dataclass
class ApiContext:
    """The caller of one API request: which corp, through which secret."""

    state: EmulatorState
    corp: Corp
    app: App

    def require_customer_contact(self) -> None:
        """Customer-contact APIs need the 客户联系 secret or an app added to 「可调用接口的应用」."""
        if self.app.kind == "contact" or (self.app.kind == "agent" and self.app.customer_contact):
            return
        raise WeComError(errors.API_FORBIDDEN, "api forbidden for this secret (customer contact)")

    def visible_departments(self) -> set[int] | None:
        """Department ids in the app's visibility; None = whole corp."""
        if self.app.visible_departments is None:
            return None
        visible: set[int] = set()
        for root in self.app.visible_departments:
            visible.update(self.corp.department_tree(root))
        return visible

    def member_visible(self, member: Member) -> bool:
        visible = self.visible_departments()
        return visible is None or any(d in visible for d in member.department)

    def visible_member(self, userid: str | None) -> Member:
        """An active member the caller may see: 60111 if unknown or gone, 60011 outside visibility."""
        member = self.corp.members.get(userid or "")
        if member is None or member.status == 5:
            raise WeComError(errors.USERID_NOT_FOUND, f"userid {userid!r} not found")
        if not self.member_visible(member):
            raise WeComError(errors.NO_PRIVILEGE)
        return member


def api_context(request: Request, access_token: str | None = None) -> ApiContext:
    """FastAPI dependency for every endpoint except gettoken."""
    state: EmulatorState = request.app.state.emulator
    corp, app = state.authenticate(access_token)
    path = request.url.path
    state.check_rate(corp, path[path.find("/cgi-bin/") + 9:] if "/cgi-bin/" in path else path)
    state.tick()
    return ApiContext(state=state, corp=corp, app=app)


async def json_body(request: Request) -> dict[str, Any]:
    """The POST body as a JSON object; 47001 when it is not one."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise WeComError(errors.INVALID_JSON) from error
    if not isinstance(body, dict):
        raise WeComError(errors.INVALID_JSON)
    return body


def ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}


def encode_cursor(*positions: int) -> str:
    """An opaque cursor (WeCom's are opaque strings; clients must not parse them)."""
    text = ":".join(str(p) for p in positions)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, width: int = 1) -> tuple[int, ...]:
    if not cursor:
        return (0,) * width
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = tuple(int(part) for part in base64.urlsafe_b64decode(padded).decode().split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise WeComError(errors.INVALID_PARAMETER, "invalid cursor") from error
    if len(values) != width or any(v < 0 for v in values):
        raise WeComError(errors.INVALID_PARAMETER, "invalid cursor")
    return values


def page(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ("" when done)."""
    (offset,) = decode_cursor(cursor)
    chunk = items[offset:offset + limit]
    return chunk, encode_cursor(offset + limit) if offset + limit < len(items) else ""


def bounded_limit(value: Any, default: int, maximum: int, *, clamp: bool = True) -> int:
    """A ``limit`` parameter: default when absent, clamped (or refused) above ``maximum``."""
    if value in (None, "", 0):
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError) as error:
        raise WeComError(errors.INVALID_PARAMETER, "limit must be an integer") from error
    if limit < 0:
        raise WeComError(errors.INVALID_PARAMETER, "limit must be positive")
    if limit > maximum:
        if not clamp:
            raise WeComError(errors.INVALID_PARAMETER, f"limit exceeds {maximum}")
        return maximum
    return limit


def require(body: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "", [])]
    if missing:
        raise WeComError(errors.INVALID_PARAMETER, f"missing {', '.join(missing)}")


def wecom_error_response(request: Request, error: WeComError) -> JSONResponse:
    """Exception handler: HTTP 200 with the decorated errmsg, as real WeCom answers."""
    state: EmulatorState = request.app.state.emulator
    message = errors.decorated_message(error.errcode, error.detail, int(state.now()))
    return JSONResponse({"errcode": error.errcode, "errmsg": message}, status_code=200)


def build_cgi_router() -> APIRouter:
    """All ``/cgi-bin/`` endpoints."""
    from siyu.emulator.wecom import (
        api_acquisition,
        api_address_book,
        api_broadcasts,
        api_customers,
        api_group_welcome,
        api_groups,
        api_moments,
        api_statistics,
    )

    router = APIRouter(prefix="/cgi-bin")
    for module in (api_address_book, api_customers, api_acquisition, api_broadcasts, api_moments,
                   api_groups, api_group_welcome, api_statistics):
        router.include_router(module.router)
    return router
