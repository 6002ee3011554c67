"""Access tokens shared by every process through the database.

WeCom issues one token per app secret, valid ``expires_in`` (7200 s), and intercepts clients that
call ``gettoken`` too often (reference §1.1). The token lives in ``wecom_access_token`` (unique per
corp and secret fingerprint), so web, worker and CLI processes reuse one token. A process that finds
no valid token fetches one while holding a lock per (corp, secret), then writes it with one atomic
upsert. Two processes may fetch at the same moment; both tokens are valid and the last write wins.

Token rows are read and written through the given ``SessionScope``: normally short transactions of
their own (``Database.session``), so a token is shared at once and survives a caller's rollback. A
caller may pass a scope over its own session instead (``lambda: nullcontext(session)``); the token is
then shared when that transaction commits.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from siyu.kit.clock import Clock
from siyu.kit.db import dialect_insert
from siyu.kit.jobs import SessionScope
from siyu.models.wecom import WeComAccessToken

#: A factory of units of work: each ``with`` block commits on success (``Database.session`` is one).
#: Fetches a fresh token from WeCom: returns (access_token, expires_in seconds).
TokenFetcher = Callable[[], tuple[str, int]]


def secret_fingerprint(secret: str) -> str:
    """SHA-256 of the secret: identifies the token row without storing the secret again."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessTokens:
    """The database-backed token cache with an in-process copy.

    A token is treated as expired ``refresh_margin_seconds`` before WeCom's expiry, so a call never
    starts with a token that dies in flight.
    """

    def __init__(self, sessions: SessionScope, clock: Clock, *,
                 refresh_margin_seconds: float = 300.0) -> None:
        self._sessions = sessions
        self._clock = clock
        self._margin = timedelta(seconds=refresh_margin_seconds)
        self._memo: dict[tuple[int, str], tuple[str, datetime]] = {}
        self._locks: dict[tuple[int, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, key: tuple[int, str]) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _usable(self, expires_at: datetime) -> bool:
        return self._clock.now() < expires_at - self._margin

    def _read(self, key: tuple[int, str]) -> str | None:
        remembered = self._memo.get(key)
        if remembered is not None and self._usable(remembered[1]):
            return remembered[0]
        with self._sessions() as session:
            row = session.execute(
                select(WeComAccessToken.access_token, WeComAccessToken.expires_at)
                .where(WeComAccessToken.corp_id == key[0], WeComAccessToken.secret_fingerprint == key[1])
            ).one_or_none()
        if row is None or not self._usable(row.expires_at):
            return None
        self._memo[key] = (row.access_token, row.expires_at)
        return row.access_token

    def get(self, corp_id: int, secret: str, fetch: TokenFetcher) -> str:
        """A valid token for ``secret``: the cached one, or a new one from ``fetch``."""
        key = (corp_id, secret_fingerprint(secret))
        token = self._read(key)
        if token is not None:
            return token
        with self._lock(key):
            token = self._read(key)  # another thread of this process may have fetched meanwhile
            if token is not None:
                return token
            token, expires_in = fetch()
            self._store(key, token, expires_in)
            return token

    def _store(self, key: tuple[int, str], token: str, expires_in: int) -> None:
        now = self._clock.now()
        expires_at = now + timedelta(seconds=expires_in)
        with self._sessions() as session:
            statement = dialect_insert(session, WeComAccessToken.__table__).values(
                corp_id=key[0], secret_fingerprint=key[1], access_token=token, expires_at=expires_at,
                fetched_at=now)
            session.execute(statement.on_conflict_do_update(
                index_elements=["corp_id", "secret_fingerprint"],
                set_={"access_token": statement.excluded.access_token,
                      "expires_at": statement.excluded.expires_at,
                      "fetched_at": statement.excluded.fetched_at}))
        self._memo[key] = (token, expires_at)

    def invalidate(self, corp_id: int, secret: str, token: str) -> None:
        """Forget ``token`` because WeCom refused it (40014/42001/40001).

        Only that exact token is deleted: if another process already stored a newer one, it stays.
        """
        key = (corp_id, secret_fingerprint(secret))
        remembered = self._memo.get(key)
        if remembered is not None and remembered[0] == token:
            del self._memo[key]
        with self._sessions() as session:
            session.execute(delete(WeComAccessToken).where(
                WeComAccessToken.corp_id == corp_id, WeComAccessToken.secret_fingerprint == key[1],
                WeComAccessToken.access_token == token))
