"""WeCom error codes as the emulator reports them (reference §1.2).

Real WeCom answers HTTP 200 with a non-zero ``errcode``; ``errmsg`` is decorated with a hint and a
help link, so clients must key on ``errcode`` — the emulator decorates the same way to keep them honest.
"""

from __future__ import annotations

import hashlib
import itertools

OK = 0
INVALID_SECRET = 40001
INVALID_USERID = 40003
INVALID_MEDIA_ID = 40007
INVALID_CORPID = 40013
INVALID_ACCESS_TOKEN = 40014
INVALID_PARAMETER = 40058
INVALID_EXTERNAL_USERID = 40096
INVALID_TAG_ID = 40068
MISSING_ACCESS_TOKEN = 41001
WELCOME_CODE_USED = 41051
WELCOME_BEING_DISTRIBUTED = 41096
EXPIRED_ACCESS_TOKEN = 42001
INVALID_JSON = 47001
API_FREQUENCY_LIMIT = 45009
API_FORBIDDEN = 48002
NO_PRIVILEGE = 60011
INVALID_DEPARTMENT = 60123
USERID_NOT_FOUND = 60111
TOO_MANY_VISIBLE_MEMBERS = 81017
NOT_EXTERNAL_CONTACT = 84061
NO_CUSTOMER_CONTACT_PERMISSION = 84074
OWNER_NOT_RESIGNED = 90500
NOT_EXTERNAL_GROUP_CHAT = 90501

MESSAGES: dict[int, str] = {
    OK: "ok",
    INVALID_SECRET: "invalid credential",
    INVALID_USERID: "invalid userid",
    INVALID_MEDIA_ID: "invalid media_id",
    INVALID_CORPID: "invalid corpid",
    INVALID_ACCESS_TOKEN: "invalid access_token",
    INVALID_PARAMETER: "invalid parameter",
    INVALID_EXTERNAL_USERID: "invalid external userid",
    INVALID_TAG_ID: "invalid tagid",
    MISSING_ACCESS_TOKEN: "access_token missing",
    WELCOME_CODE_USED: "externaluser has started chatting",
    WELCOME_BEING_DISTRIBUTED: "welcome msg is being distributed",
    EXPIRED_ACCESS_TOKEN: "access_token expired",
    INVALID_JSON: "data format error",
    API_FREQUENCY_LIMIT: "api freq out of limit",
    API_FORBIDDEN: "api forbidden",
    NO_PRIVILEGE: "no privilege to access/modify contact/party/agent",
    USERID_NOT_FOUND: "userid not found",
    INVALID_DEPARTMENT: "invalid party id",
    TOO_MANY_VISIBLE_MEMBERS: "owner_filter required: visible range exceeds 1000 members",
    NOT_EXTERNAL_CONTACT: "not external contact",
    NO_CUSTOMER_CONTACT_PERMISSION: "no external contact permission",
    OWNER_NOT_RESIGNED: "the owner of this chat is not resigned",
    NOT_EXTERNAL_GROUP_CHAT: "chat is not external group chat",
}

_hint_counter = itertools.count(1)


def decorated_message(errcode: int, detail: str | None = None, timestamp: int = 0) -> str:
    """``errmsg`` in WeCom's decorated form: text, hint, origin ip and a help link."""
    text = detail or MESSAGES.get(errcode, "error")
    serial = next(_hint_counter)
    digest = hashlib.md5(f"{timestamp}-{serial}-{errcode}".encode()).hexdigest()
    return (
        f"{text}, hint: [{timestamp}_{serial}_{digest}], from ip: 127.0.0.1, "
        f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    )


class WeComError(Exception):
    """A refusal the API reports as ``{"errcode": …, "errmsg": …}`` with HTTP 200."""

    def __init__(self, errcode: int, detail: str | None = None) -> None:
        super().__init__(f"{errcode}: {detail or MESSAGES.get(errcode, '')}")
        self.errcode = errcode
        self.detail = detail


class SimulationError(Exception):
    """A simulated user/admin action that WeCom itself would not allow (HTTP 404/409 on /simulate)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
