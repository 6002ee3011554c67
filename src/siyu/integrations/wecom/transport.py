"""One WeCom API call: access token, rate limit, HTTP, errcode, retries.

* Every call carries ``?access_token=`` from the shared cache (``tokens``); 40001/40014/42001 drop the
  cached token, fetch a new one and try once more.
* -1 (busy) and 45009 (rate limit) are retried with bounded exponential backoff; 45009 also pauses
  the corp in this process's rate limiter. Any other errcode fails at once.
* Network errors and HTTP 5xx are retried when repeating the call is harmless: always when the
  request never left (connection refused, pool timeout), otherwise only for calls marked idempotent.
  A non-idempotent call that may have reached WeCom raises with ``outcome_unknown`` so the caller
  reconciles instead of, say, creating a second mass message.
* Every failure becomes ``WeComApiError`` carrying ``errcode`` and ``errmsg``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import structlog

from siyu.integrations.wecom import errors
from siyu.integrations.wecom.errors import WeComApiError
from siyu.integrations.wecom.ratelimit import RateLimiter, RetryPolicy
from siyu.integrations.wecom.schemas import AccessTokenResponse, WeComRequest, WeComResponse
from siyu.integrations.wecom.tokens import AccessTokens

log = structlog.get_logger("siyu.wecom")
Response = TypeVar("Response", bound=WeComResponse)

#: The request certainly did not reach the server: repeating it is always safe.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _NoAnswer(Exception):
    def __init__(self, detail: str, *, sent: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.sent = sent


class WeComTransport:
    """Calls one corp's WeCom API with one secret. Thread-safe; share it within a process."""

    def __init__(self, *, corp_id: int, wecom_corp_id: str, secret: str, tokens: AccessTokens,
                 base_url: str, http: httpx.Client | None = None, rate_limiter: RateLimiter | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 timeout_seconds: float = 10.0) -> None:
        self.corp_id = corp_id
        self.wecom_corp_id = wecom_corp_id
        self._secret = secret
        self._tokens = tokens
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._owns_http = http is None
        timeout = httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds))
        self._http = http or httpx.Client(timeout=timeout)
        self._limiter = rate_limiter or RateLimiter()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- public ----------------------------------------------------------------------------------
    def call(self, method: str, path: str, response: type[Response], *, params: dict[str, Any] | None = None,
             body: WeComRequest | None = None, files: dict[str, Any] | None = None,
             idempotent: bool = True) -> Response:
        """Call ``path`` (relative to the base URL) and parse the answer into ``response``."""
        refreshed = False
        while True:
            token = self.access_token()
            try:
                data = self._exchange(method, path, params={**(params or {}), "access_token": token},
                                      json=body.body() if body is not None else None, files=files,
                                      idempotent=idempotent)
            except WeComApiError as error:
                if error.errcode in errors.TOKEN_ERRORS and not refreshed:
                    # WeCom may revoke a token before its expiry; one fresh token, one more try.
                    log.info("wecom.token_refused", corp=self.wecom_corp_id, path=path, errcode=error.errcode)
                    self._tokens.invalidate(self.corp_id, self._secret, token)
                    refreshed = True
                    continue
                raise
            return response.model_validate(data)

    def access_token(self) -> str:
        """A valid access token for this secret (cached in the database, fetched when needed)."""
        return self._tokens.get(self.corp_id, self._secret, self._fetch_token)

    # -- internals -------------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, int]:
        data = self._exchange("GET", "gettoken",
                              params={"corpid": self.wecom_corp_id, "corpsecret": self._secret},
                              json=None, files=None, idempotent=True)
        answer = AccessTokenResponse.model_validate(data)
        return answer.access_token, answer.expires_in

    def _exchange(self, method: str, path: str, *, params: dict[str, Any], json: dict[str, Any] | None,
                  files: dict[str, Any] | None, idempotent: bool) -> dict[str, Any]:
        """Send with retries for busy, rate limit and network failures; returns a body with errcode 0."""
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._retry.attempts
            try:
                data = self._send(method, path, params=params, json=json, files=files)
            except _NoAnswer as failure:
                safe = not failure.sent or idempotent
                if safe and not last:
                    delay = self._retry.delay(attempt)
                    log.warning("wecom.no_answer", corp=self.wecom_corp_id, path=path, detail=failure.detail,
                                retry_in=round(delay, 2))
                    self._sleep(delay)
                    continue
                raise WeComApiError(errors.NO_ANSWER, failure.detail, path=path,
                                    outcome_unknown=failure.sent and not idempotent) from None
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return data
            errmsg = str(data.get("errmsg") or "")
            if errcode in errors.RETRYABLE_ERRORS and not last:
                rate_limited = errcode == errors.API_FREQUENCY_LIMIT
                delay = self._retry.delay(attempt, rate_limited=rate_limited)
                log.warning("wecom.retry", corp=self.wecom_corp_id, path=path, errcode=errcode,
                            retry_in=round(delay, 2))
                if rate_limited:
                    # Hold the whole corp in this process, not just this call: WeCom blocks the corp.
                    self._limiter.pause(self.wecom_corp_id, delay)
                else:
                    self._sleep(delay)
                continue
            raise WeComApiError(errcode, errmsg, path=path)

    def _send(self, method: str, path: str, *, params: dict[str, Any], json: dict[str, Any] | None,
              files: dict[str, Any] | None) -> dict[str, Any]:
        self._limiter.acquire(self.wecom_corp_id)
        url = self.base_url + path.lstrip("/")
        try:
            answer = self._http.request(method, url, params=params, json=json, files=files)
        except _NOT_SENT as exc:
            raise _NoAnswer(f"{type(exc).__name__}: {exc}", sent=False) from exc
        except httpx.TransportError as exc:
            raise _NoAnswer(f"{type(exc).__name__}: {exc}", sent=True) from exc
        if answer.status_code >= 500:
            raise _NoAnswer(f"HTTP {answer.status_code}", sent=True)
        if answer.status_code != 200:
            raise WeComApiError(errors.NO_ANSWER, f"HTTP {answer.status_code}", path=path)
        try:
            data = answer.json()
        except ValueError:
            raise WeComApiError(errors.NO_ANSWER, "the answer is not JSON", path=path) from None
        if not isinstance(data, dict):
            raise WeComApiError(errors.NO_ANSWER, "the answer is not a JSON object", path=path)
        return data
