"""The one exception every WeCom API failure becomes, and the error codes the client acts on.

WeCom answers HTTP 200 with a non-zero ``errcode`` (reference §0, §1.2); ``errmsg`` is decorated with a
hint and a help link, so nothing here ever looks at ``errmsg`` — decisions key on ``errcode`` only.
"""

from __future__ import annotations

from siyu.kit.errors import SiyuError

#: 系统繁忙 — WeCom asks callers to retry (at most three times).
SYSTEM_BUSY = -1
#: The client's own code for a call that never got a WeCom answer (network failure, HTTP 5xx, a
#: body that is not JSON). It is not a WeCom code; WeCom's codes are never -2.
NO_ANSWER = -2
INVALID_SECRET = 40001
INVALID_USERID = 40003
INVALID_ACCESS_TOKEN = 40014
INVALID_PARAMETER = 40058
MISSING_ACCESS_TOKEN = 41001
EXPIRED_ACCESS_TOKEN = 42001
API_FREQUENCY_LIMIT = 45009
API_CONCURRENCY_LIMIT = 45033
API_FORBIDDEN = 48002
NO_PRIVILEGE = 60011
IP_NOT_ALLOWED = 60020
TOO_MANY_VISIBLE_MEMBERS = 81017
NOT_EXTERNAL_CONTACT = 84061

#: A token WeCom no longer accepts: drop the cached one, fetch a new one, try once more.
TOKEN_ERRORS = frozenset({INVALID_SECRET, INVALID_ACCESS_TOKEN, EXPIRED_ACCESS_TOKEN})
#: Transient on WeCom's side: retried with backoff by the client.
RETRYABLE_ERRORS = frozenset({SYSTEM_BUSY, API_FREQUENCY_LIMIT})


class WeComApiError(SiyuError):
    """A WeCom API call failed. ``errcode`` is WeCom's (or ``NO_ANSWER``), ``errmsg`` its text.

    ``outcome_unknown`` is set when a call that changes something may have reached WeCom before the
    connection failed: the caller must reconcile (ask WeCom) rather than resend blindly.
    """

    status_code = 502
    code = "wecom_api_error"

    def __init__(self, errcode: int, errmsg: str = "", *, path: str = "",
                 outcome_unknown: bool = False) -> None:
        super().__init__("wecom_client.error.api", errcode=errcode, errmsg=errmsg[:300], path=path)
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        self.outcome_unknown = outcome_unknown

    @property
    def retryable(self) -> bool:
        """Worth trying again later: busy, rate-limited, or no answer at all — but never a change
        whose outcome is unknown (that needs reconciling first)."""
        if self.outcome_unknown:
            return False
        return self.errcode in RETRYABLE_ERRORS or self.errcode == NO_ANSWER

    def __str__(self) -> str:
        return f"WeCom {self.path or 'API'} failed: errcode={self.errcode} errmsg={self.errmsg}"


class WeComNotConnected(SiyuError):
    """The corp has no WeCom connection (or not the secret this call needs)."""

    status_code = 409
    code = "wecom_not_connected"

    def __init__(self, corp_id: int, what: str = "connection") -> None:
        super().__init__("wecom_client.error.not_connected", corp_id=corp_id, what=what)
