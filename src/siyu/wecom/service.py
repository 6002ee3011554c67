"""WeCom connection settings, the callback inbox and replays — the rules behind the console page
and the ``/api/v1/wecom`` endpoints, and the inbox writes of the callback endpoint.

Secrets (客户联系 and 通讯录 secrets, the callback Token and EncodingAESKey) are encrypted at rest
with ``kit.security`` and never leave this module in clear: views and responses only learn whether
each one is set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, NotFound
from siyu.kit.jobs import enqueue, enqueue_many
from siyu.kit.security import encrypt_secret
from siyu.kit.tenancy import Principal
from siyu.models.wecom import CallbackStatus, WeComCallback, WeComConnection
from siyu.wecom import repository, schemas

#: The job that handles one inbox row (registered in ``integrations.wecom.handlers``).
HANDLE_CALLBACK_JOB = "wecom.handle_callback"
CALLBACK_PATH = "/wecom/callback/{corp_id}"
#: Inbox rows that carry an event worth handling again.
REPLAYABLE = frozenset({CallbackStatus.received, CallbackStatus.handled, CallbackStatus.failed})


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of calling WeCom with the stored credentials."""

    ok: bool
    detail: str
    follow_users: int | None = None


#: Calls WeCom for a corp inside the given session's transaction (``integrations.wecom.connection_check``).
ConnectionChecker = Callable[[Session, int], ConnectionCheck]


def callback_url(public_base_url: str, corp_id: int) -> str:
    return public_base_url.rstrip("/") + CALLBACK_PATH.format(corp_id=corp_id)


def get_connection(session: Session, principal: Principal) -> WeComConnection:
    connection = repository.get_connection(session, principal)
    if connection is None:
        raise NotFound("wecom.error.connection_not_found")
    return connection


def connection_view(connection: WeComConnection, public_base_url: str) -> schemas.Connection:
    """The connection as shown to operators: no secret, only whether it is set."""
    return schemas.Connection(
        corp_id=connection.corp_id, wecom_corp_id=connection.wecom_corp_id, agent_id=connection.agent_id,
        api_base=connection.api_base, broadcast_quota_rule=connection.broadcast_quota_rule,
        contact_secret_set=bool(connection.contact_secret_encrypted),
        address_book_secret_set=bool(connection.address_book_secret_encrypted),
        callback_token_set=bool(connection.callback_token_encrypted),
        encoding_aes_key_set=bool(connection.encoding_aes_key_encrypted),
        callback_url=callback_url(public_base_url, connection.corp_id),
        last_test_at=connection.last_test_at, last_test_ok=connection.last_test_ok,
        last_test_message=connection.last_test_message, updated_at=connection.updated_at)


_SECRETS = {
    "contact_secret": "contact_secret_encrypted",
    "address_book_secret": "address_book_secret_encrypted",
    "callback_token": "callback_token_encrypted",
    "encoding_aes_key": "encoding_aes_key_encrypted",
}


def save_connection(session: Session, principal: Principal, data: schemas.ConnectionUpdate, clock: Clock,
                    secret_key: str) -> WeComConnection:
    """Create or update the corp's connection. Secrets given are encrypted; secrets left out stay."""
    if repository.wecom_corp_id_taken(session, data.wecom_corp_id, principal.corp_id):
        raise Conflict("wecom.error.wecom_corp_id_taken", field="wecom_corp_id")
    connection = repository.get_connection(session, principal)
    now = clock.now()
    if connection is None:
        connection = WeComConnection(
            corp_id=principal.corp_id, wecom_corp_id=data.wecom_corp_id,
            broadcast_quota_rule=data.broadcast_quota_rule or "daily", created_at=now)
        session.add(connection)
    elif connection.wecom_corp_id != data.wecom_corp_id:
        # Another WeCom corp: the old test result says nothing about it.
        connection.last_test_at = connection.last_test_ok = connection.last_test_message = None
    connection.wecom_corp_id = data.wecom_corp_id
    connection.agent_id = data.agent_id
    connection.api_base = data.api_base
    if data.broadcast_quota_rule:
        connection.broadcast_quota_rule = data.broadcast_quota_rule
    for field, column in _SECRETS.items():
        value = getattr(data, field)
        if value is not None:
            setattr(connection, column, encrypt_secret(value, secret_key))
    connection.updated_at = now
    session.flush()
    return connection


def run_connection_test(session: Session, principal: Principal, clock: Clock,
                    checker: ConnectionChecker) -> schemas.ConnectionTestResult:
    """Call WeCom with the stored credentials and remember the outcome on the connection."""
    connection = get_connection(session, principal)
    check = checker(session, connection.corp_id)
    connection.last_test_at, connection.last_test_ok = clock.now(), check.ok
    connection.last_test_message = check.detail
    session.flush()
    return schemas.ConnectionTestResult(ok=check.ok, message=check.detail, tested_at=connection.last_test_at)


# -- the inbox --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxEntry:
    """A verified, decrypted delivery ready for the inbox: its event key and its inbox row."""

    corp_id: int
    event_key: str
    row: dict[str, Any]


def store_events(session: Session, entries: list[InboxEntry], clock: Clock) -> list[CallbackStatus]:
    """Put verified events in the inbox and enqueue the handling of the new ones, in the caller's
    transaction; one status per entry, in order.

    An event already in the inbox, or met earlier in ``entries``, is a duplicate delivery: it is
    logged as ``duplicate`` (naming the stored row) and enqueues nothing.
    """
    stored = repository.insert_inbox_events(session, [{**e.row, "event_key": e.event_key} for e in entries])
    earlier = repository.inbox_ids_of_keys(session, [e.event_key for e in entries if e.event_key not in stored])
    statuses, duplicates, new_by_corp = [], [], defaultdict(list)
    claimed: set[str] = set()
    for entry in entries:
        if entry.event_key in stored and entry.event_key not in claimed:
            claimed.add(entry.event_key)
            new_by_corp[entry.corp_id].append({"callback_id": stored[entry.event_key]})
            statuses.append(CallbackStatus.received)
            continue
        original = stored.get(entry.event_key) or earlier.get(entry.event_key)
        duplicates.append({**entry.row, "event_key": None, "status": CallbackStatus.duplicate,
                           "reason": f"duplicate of #{original}"})
        statuses.append(CallbackStatus.duplicate)
    for corp_id, jobs in new_by_corp.items():
        enqueue_many(session, HANDLE_CALLBACK_JOB, jobs, corp_id=corp_id, clock=clock)
    repository.add_log_rows(session, duplicates)
    return statuses


def log_rejection(session: Session, corp_id: int | None, reason: str, remote_address: str | None,
                  at: datetime) -> None:
    """A refused delivery: one ``rejected`` log row, nothing else."""
    repository.add_log_rows(session, [dict(corp_id=corp_id, event_key=None, status=CallbackStatus.rejected,
                                           reason=reason, remote_address=remote_address, received_at=at,
                                           replay_count=0, created_at=at, updated_at=at)])


def replay_callback(session: Session, principal: Principal, callback_id: int, clock: Clock) -> WeComCallback:
    """Handle a stored event again (handlers are idempotent). Rejected and duplicate log rows carry
    no event of their own and cannot be replayed."""
    callback = repository.get_callback(session, principal, callback_id)
    if callback is None:
        raise NotFound("wecom.error.callback_not_found")
    if callback.status not in REPLAYABLE or callback.payload_xml is None:
        raise Conflict("wecom.error.callback_not_replayable", status=callback.status.value)
    repository.bump_replay_count(session, callback.id, clock.now())
    enqueue(session, HANDLE_CALLBACK_JOB, {"callback_id": callback.id}, corp_id=callback.corp_id, clock=clock)
    session.refresh(callback)
    return callback
