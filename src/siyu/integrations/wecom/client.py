"""The WeCom client: every typed call of reference §1–§3 on one transport, and the factory that builds
clients from a corp's stored connection.

    factory = WeComClientFactory(database.session, clock)
    client = factory.for_corp(corp_id)                      # 客户联系 secret
    client.batch_get_by_user(BatchGetByUserRequest(userid_list=["zhangsan"], limit=100))
    factory.for_corp(corp_id, purpose="address_book").department_list()

The base URL is the connection's ``api_base`` (the emulator in the demo) or ``SIYU_WECOM_API_BASE``
(``https://qyapi.weixin.qq.com/cgi-bin/``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import httpx
from sqlalchemy import select

from siyu.integrations.wecom.api_address_book import AddressBookApi
from siyu.integrations.wecom.api_customers import CustomerApi
from siyu.integrations.wecom.api_engagement import EngagementApi
from siyu.integrations.wecom.api_groups import GroupApi
from siyu.integrations.wecom.errors import WeComNotConnected
from siyu.integrations.wecom.ratelimit import RateLimiter, RetryPolicy, shared_rate_limiter
from siyu.integrations.wecom.tokens import AccessTokens, SessionScope
from siyu.kit.clock import Clock
from siyu.kit.security import decrypt_secret
from siyu.kit.settings import Settings, get_settings
from siyu.models.wecom import WeComConnection

Purpose = Literal["contact", "address_book"]


class WeComClient(AddressBookApi, CustomerApi, EngagementApi, GroupApi):
    """Typed access to one corp's WeCom with one secret (see ``WeComTransport`` for the behaviour of
    every call: tokens, rate limit, retries, errors)."""


class WeComClientFactory:
    """Builds clients that share one HTTP connection pool, one token cache and one rate limiter."""

    def __init__(self, sessions: SessionScope, clock: Clock, *, settings: Settings | None = None,
                 http: httpx.Client | None = None, rate_limiter: RateLimiter | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sessions = sessions
        self._settings = settings or get_settings()
        self._owns_http = http is None
        timeout = self._settings.wecom_timeout_seconds
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)))
        self._limiter = rate_limiter or shared_rate_limiter()
        self._retry = retry
        self._sleep = sleep
        self.tokens = AccessTokens(sessions, clock)

    def for_corp(self, corp_id: int, purpose: Purpose = "contact") -> WeComClient:
        """A client for ``corp_id`` using its 客户联系 secret, or its 通讯录 secret for the address book
        (falling back to the 客户联系 secret when no address-book secret is stored)."""
        with self._sessions() as session:
            connection = session.scalars(
                select(WeComConnection).where(WeComConnection.corp_id == corp_id)).one_or_none()
            if connection is None:
                raise WeComNotConnected(corp_id)
            encrypted = connection.contact_secret_encrypted
            if purpose == "address_book" and connection.address_book_secret_encrypted:
                encrypted = connection.address_book_secret_encrypted
            if not encrypted:
                raise WeComNotConnected(corp_id, "secret")
            secret = decrypt_secret(encrypted, self._settings.secret_key)
            wecom_corp_id, api_base = connection.wecom_corp_id, connection.api_base
        return WeComClient(corp_id=corp_id, wecom_corp_id=wecom_corp_id, secret=secret, tokens=self.tokens,
                           base_url=api_base or self._settings.wecom_api_base, http=self._http,
                           rate_limiter=self._limiter, retry=self._retry, sleep=self._sleep)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WeComClientFactory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
