"""The WeCom callback endpoint: ``/wecom/callback/{corp_id}`` (reference §4.2, §4.3).

``{corp_id}`` is siyu's corp id; the connection of that corp holds the Token, the EncodingAESKey
and the WeCom CorpID (the expected receive id).

* GET — URL verification: check the signature and the timestamp, decrypt ``echostr``, answer the
  plaintext exactly.
* POST — check the signature (constant time), refuse a timestamp outside ``TIMESTAMP_WINDOW`` of the
  injected clock (a replay), decrypt, check the receive id, parse, then store the event in the
  inbox (unique ``event_key``) and enqueue ``wecom.handle_callback`` in the same transaction (the
  ``InboxWriter`` batches the concurrent requests into one), and answer ``success`` once committed.
  No handler work happens in the request: WeCom gives up after 5 seconds.
* A second delivery of a stored event answers ``success`` too and is logged as ``duplicate``; a
  refused delivery is answered 403 (400 when malformed, 404 for an unknown corp) and leaves a
  ``rejected`` log row and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import TypeVar

import structlog
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session

from siyu.auth.dependencies import request_language
from siyu.integrations.wecom.crypto import CallbackCryptoError, WeComCrypto
from siyu.integrations.wecom.events import event_key, parse_event
from siyu.integrations.wecom.inbox_writer import InboxWriter
from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.kit.i18n import translate
from siyu.kit.security import decrypt_secret
from siyu.models.wecom import CallbackStatus, WeComConnection
from siyu.wecom import repository, service
from siyu.wecom.service import InboxEntry

log = structlog.get_logger("siyu.wecom.callbacks")

TIMESTAMP_WINDOW = timedelta(minutes=5)
ACK_BODY = "success"

router = APIRouter(tags=["wecom-callbacks"], include_in_schema=False)


@lru_cache(maxsize=256)
def _crypto(token_encrypted: str, aes_key_encrypted: str, receive_id: str, secret_key: str) -> WeComCrypto:
    # Keyed by the ciphertexts: a changed secret is a different key, so the cache never goes stale.
    token = decrypt_secret(token_encrypted, secret_key)
    return WeComCrypto(token, decrypt_secret(aes_key_encrypted, secret_key), receive_id)


def crypto_for_connection(connection: WeComConnection, secret_key: str) -> WeComCrypto | None:
    """The callback crypto of a connection; None until its Token and EncodingAESKey are set."""
    if not connection.callback_token_encrypted or not connection.encoding_aes_key_encrypted:
        return None
    return _crypto(connection.callback_token_encrypted, connection.encoding_aes_key_encrypted,
                   connection.wecom_corp_id, secret_key)


class Refused(Exception):
    """A delivery we do not accept: ``reason`` is logged, ``status_code`` answered."""

    def __init__(self, reason: str, status_code: int = 403, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class Delivery:
    """One HTTP request carrying a callback."""

    corp_id: int
    msg_signature: str
    timestamp: str
    nonce: str
    remote_address: str | None
    #: POST body, or the GET ``echostr``
    payload: bytes | str


def _check_timestamp(timestamp: str, clock: Clock) -> None:
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise Refused("malformed", 400, "timestamp is not an integer") from exc
    if abs(clock.now().timestamp() - sent) > TIMESTAMP_WINDOW.total_seconds():
        raise Refused("stale_timestamp", 403, f"timestamp {sent} is outside the accepted window")


def _check_parameters(delivery: Delivery) -> None:
    if not (delivery.msg_signature and delivery.timestamp and delivery.nonce and delivery.payload):
        raise Refused("malformed", 400, "msg_signature, timestamp, nonce and a payload are required")


T = TypeVar("T")


class CallbackReceiver:
    """The endpoint's work for one application: verify, decrypt, store, log refusals.

    Each corp's crypto is remembered for ``CRYPTO_TTL_SECONDS`` so the hot path does not read the
    connection on every delivery. The database stays the truth: a remembered crypto that fails a
    check is reloaded once before the delivery is refused, so changed settings apply at once.
    """

    CRYPTO_TTL_SECONDS = 5.0

    def __init__(self, database: Database, clock: Clock, secret_key: str) -> None:
        self.database, self.clock, self.secret_key = database, clock, secret_key
        self._remembered: dict[int, tuple[float, WeComCrypto]] = {}
        self.writer = InboxWriter(database, clock)

    def _load(self, session: Session, corp_id: int) -> WeComCrypto:
        connection = repository.connection_of_corp(session, corp_id)
        crypto = crypto_for_connection(connection, self.secret_key) if connection is not None else None
        if crypto is None:
            self._remembered.pop(corp_id, None)
            raise Refused("unknown_corp", 404, "no WeCom callback configured for this corp")
        self._remembered[corp_id] = (time.monotonic() + self.CRYPTO_TTL_SECONDS, crypto)
        return crypto

    def _with_crypto(self, session: Session, attempt: _Attempt, corp_id: int,
                     use: Callable[[WeComCrypto], T]) -> T:
        """``use(crypto)`` with the corp's crypto: the remembered one, reloaded once if it fails."""
        remembered = self._remembered.get(corp_id)
        fresh = remembered is None or remembered[0] < time.monotonic()
        crypto = self._load(session, corp_id) if fresh else remembered[1]
        attempt.known_corp = True
        try:
            return use(crypto)
        except CallbackCryptoError:
            if fresh:
                raise
            attempt.known_corp = False
            reloaded = self._load(session, corp_id)
            attempt.known_corp = True
            if reloaded is crypto:
                raise
            return use(reloaded)

    def verify_url(self, delivery: Delivery) -> str:
        """GET: the decrypted echostr, or ``Refused``."""

        def check(crypto: WeComCrypto) -> str:
            _check_parameters(delivery)
            echostr = str(delivery.payload)
            crypto.verify_signature(delivery.msg_signature, delivery.timestamp, delivery.nonce, echostr)
            return crypto.decrypt(echostr)

        with self._refusals_logged(delivery) as attempt, self.database.session() as session:
            plaintext = self._with_crypto(session, attempt, delivery.corp_id, check)
            _check_timestamp(delivery.timestamp, self.clock)
            return plaintext

    def _entry(self, delivery: Delivery, crypto: WeComCrypto) -> InboxEntry:
        _check_parameters(delivery)
        xml = crypto.decrypt_message(delivery.payload, delivery.msg_signature, delivery.timestamp, delivery.nonce)
        # After the signature: a forged request is reported as forged, an authentic old one as stale.
        _check_timestamp(delivery.timestamp, self.clock)
        event = parse_event(xml)
        now = self.clock.now()
        row = dict(corp_id=delivery.corp_id, status=CallbackStatus.received,
                   event=event.event[:64] or None, change_type=event.change_type[:64] or None,
                   payload_xml=xml, remote_address=delivery.remote_address, received_at=now,
                   replay_count=0, created_at=now, updated_at=now)
        return InboxEntry(delivery.corp_id, event_key(delivery.corp_id, event), row)

    def open_remembered(self, delivery: Delivery) -> InboxEntry | None:
        """The inbox entry of a delivery that passes every check with the remembered crypto, without
        touching the database; None when anything needs the database (then call ``open``)."""
        remembered = self._remembered.get(delivery.corp_id)
        if remembered is None or remembered[0] < time.monotonic():
            return None
        try:
            return self._entry(delivery, remembered[1])
        except (CallbackCryptoError, Refused):
            return None

    def open(self, delivery: Delivery) -> InboxEntry:
        """POST: verify and decrypt a delivery into its inbox entry, or log it and raise ``Refused``."""
        with self._refusals_logged(delivery) as attempt, self.database.session() as session:
            return self._with_crypto(session, attempt, delivery.corp_id,
                                     lambda crypto: self._entry(delivery, crypto))

    @contextmanager
    def _refusals_logged(self, delivery: Delivery) -> Iterator[_Attempt]:
        """Turn every failed check into a ``Refused`` with one ``rejected`` log row (and nothing else:
        the work of the attempt rolled back)."""
        attempt = _Attempt()
        try:
            yield attempt
        except CallbackCryptoError as error:
            refusal = Refused(error.reason, 400 if error.reason == "malformed" else 403, str(error))
            self._log_refusal(delivery, attempt.known_corp, refusal)
            raise refusal from error
        except Refused as refusal:
            self._log_refusal(delivery, attempt.known_corp, refusal)
            raise

    def _log_refusal(self, delivery: Delivery, known_corp: bool, refusal: Refused) -> None:
        reason = f"{refusal.reason}: {refusal.detail}" if refusal.detail else refusal.reason
        with self.database.session() as session:
            service.log_rejection(session, delivery.corp_id if known_corp else None, reason[:2000],
                                  delivery.remote_address, self.clock.now())
        log.warning("wecom.callback.rejected", corp_id=delivery.corp_id, reason=refusal.reason,
                    detail=refusal.detail, remote=delivery.remote_address)


class _Attempt:
    """How far a delivery got: whether it named a configured corp (then the log row is the corp's)."""

    known_corp = False


def receiver_of(request: Request) -> CallbackReceiver:
    """The application's receiver, built on first use from its database, clock and settings."""
    state = request.app.state
    receiver = getattr(state, "wecom_callback_receiver", None)
    if receiver is None:
        receiver = state.wecom_callback_receiver = CallbackReceiver(state.database, state.clock,
                                                                    state.settings.secret_key)
    return receiver


def _refusal_response(request: Request, refusal: Refused) -> Response:
    language = request_language(request)
    key = f"wecom.callback.refused.{refusal.reason}"
    body = {"error": {"code": f"callback_{refusal.reason}", "message": translate(key, language)}}
    return JSONResponse(body, status_code=refusal.status_code)


def _delivery(request: Request, corp_id: int, payload: bytes | str) -> Delivery:
    query = request.query_params
    return Delivery(corp_id, query.get("msg_signature", ""), query.get("timestamp", ""),
                    query.get("nonce", ""), request.client.host if request.client else None, payload)


@router.get("/wecom/callback/{corp_id}")
async def verify_callback_url(corp_id: int, request: Request) -> Response:
    """WeCom's URL check when the admin saves the callback settings."""
    delivery = _delivery(request, corp_id, request.query_params.get("echostr", ""))
    try:
        plaintext = await run_in_threadpool(receiver_of(request).verify_url, delivery)
    except Refused as refusal:
        return _refusal_response(request, refusal)
    return PlainTextResponse(plaintext)


@router.post("/wecom/callback/{corp_id}")
async def receive_callback(corp_id: int, request: Request) -> Response:
    """An event: verified, stored, acknowledged; handled later by the ``wecom.handle_callback`` job."""
    body = await request.body()
    delivery = _delivery(request, corp_id, body)
    receiver = receiver_of(request)
    try:
        # The common case needs no database read and no thread: crypto is remembered, checks are
        # microseconds. Anything else (first delivery, changed settings, a refusal to log) goes
        # through ``open`` on a worker thread.
        entry = receiver.open_remembered(delivery) or await run_in_threadpool(receiver.open, delivery)
        await receiver.writer.store(entry)
    except Refused as refusal:
        return _refusal_response(request, refusal)
    return PlainTextResponse(ACK_BODY)


@router.get("/healthz")
def healthz() -> PlainTextResponse:
    """Liveness for load balancers (and the reference request of the callback benchmark)."""
    return PlainTextResponse("ok")
