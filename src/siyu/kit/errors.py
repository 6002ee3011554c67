"""One error base class with an HTTP status, a stable code and a translatable message.

Business outcomes are 403/404/409; 422 is reserved for malformed input. The message key is looked up
in the catalogue in the caller's language when the error is rendered.
"""

from __future__ import annotations

from typing import Any


class SiyuError(Exception):
    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message_key: str | None = None, *, field: str | None = None, **params: Any) -> None:
        self.message_key = message_key or f"error.{self.code}"
        self.field = field
        self.params = params
        super().__init__(self.message_key)

    def message(self, language: str | None = None) -> str:
        from siyu.kit.i18n import translate

        return translate(self.message_key, language, field=self.field, **self.params)

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message(language)}
        if self.field:
            body["field"] = self.field
        if self.params:
            body["params"] = {k: v for k, v in self.params.items() if isinstance(v, str | int | float)}
        return body


class NotFound(SiyuError):
    status_code = 404
    code = "not_found"


class Conflict(SiyuError):
    status_code = 409
    code = "conflict"


class Forbidden(SiyuError):
    status_code = 403
    code = "forbidden"


class Unauthorized(SiyuError):
    status_code = 401
    code = "unauthorized"


class InvalidInput(SiyuError):
    status_code = 422
    code = "invalid_input"


class TooManyRequests(SiyuError):
    status_code = 429
    code = "too_many_requests"
