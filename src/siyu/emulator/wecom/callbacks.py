"""Delivery of callback events to the corp's configured URL, the way WeCom does it (reference §4.3).

Each event is encrypted with the corp's Token / EncodingAESKey and the CorpID as receive id, wrapped in
``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` and POSTed with ``msg_signature``, ``timestamp`` and
``nonce`` query parameters. A 5 s timeout, up to 3 attempts in total with backoff; a connection failure,
a timeout or any status other than 200 counts as a failure (WeCom: "HTTP 200 = received"; an empty body
or ``success`` are both fine). Delivery runs on a background thread so a simulated action returns at
once; tests call ``wait_idle`` to observe the outcome.
"""

from __future__ import annotations

import itertools
import queue
import secrets
import threading
from collections import deque
from dataclasses import asdict, dataclass, field

import httpx

from siyu.emulator.wecom.crypto import CallbackCrypto
from siyu.emulator.wecom.state import Corp, EmulatorState

MAX_ATTEMPTS = 3
TIMEOUT_SECONDS = 5.0
RECORDS_PER_CORP = 5000


@dataclass
class DeliveryAttempt:
    number: int
    at: float
    status_code: int | None
    response_body: str
    error: str


@dataclass
class CallbackDelivery:
    """One event and every attempt to deliver it."""

    id: int
    corp_id: str
    url: str
    event_xml: str
    created_at: float
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    state: str = "pending"  # pending → delivered | failed | no_url


class CallbackDispatcher:
    """Queues events raised by simulated actions and delivers them from one background thread."""

    def __init__(self, state: EmulatorState, http_client: httpx.Client | None = None,
                 retry_delays: tuple[float, ...] = (1.0, 2.0)) -> None:
        self.state = state
        self.retry_delays = retry_delays
        self._client = http_client
        self._owns_client = http_client is None
        self._queue: queue.Queue[tuple[CallbackDelivery, CallbackConfigSnapshot] | None] = queue.Queue()
        self._records: dict[str, deque[CallbackDelivery]] = {}
        self._ids = itertools.count(1)
        self._pending = 0
        self._idle = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        state.event_sink = self.enqueue

    # -- producer side ---------------------------------------------------------------------------
    def enqueue(self, corp: Corp, event_xml: str) -> CallbackDelivery:
        """Record the event and queue it for delivery; returns immediately."""
        config = corp.callback
        snapshot = CallbackConfigSnapshot(corp.corp_id, config.url, config.token,
                                          config.encoding_aes_key, config.agent_id)
        delivery = CallbackDelivery(id=next(self._ids), corp_id=corp.corp_id, url=config.url,
                                    event_xml=event_xml, created_at=self.state.now())
        with self._idle:
            self._records.setdefault(corp.corp_id, deque(maxlen=RECORDS_PER_CORP)).append(delivery)
            if not config.url:
                delivery.state = "no_url"
                return delivery
            self._pending += 1
        self._ensure_thread()
        self._queue.put((delivery, snapshot))
        return delivery

    def deliveries(self, corp_id: str) -> list[CallbackDelivery]:
        with self._idle:
            return list(self._records.get(corp_id, ()))

    def deliveries_as_dicts(self, corp_id: str) -> list[dict]:
        return [asdict(delivery) for delivery in self.deliveries(corp_id)]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event was delivered or given up; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def flush(self) -> None:
        """Synchronous flush for tests: wait (up to 60 s) until the queue is drained."""
        if not self.wait_idle(60.0):
            raise TimeoutError("callback deliveries still pending after 60 s")

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._owns_client and self._client is not None:
            self._client.close()

    # -- delivery thread -------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="wecom-emulator-callbacks",
                                                daemon=True)
                self._thread.start()

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=TIMEOUT_SECONDS)
        return self._client

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                break
            delivery, snapshot = item
            try:
                self._deliver(delivery, snapshot)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, delivery: CallbackDelivery, config: CallbackConfigSnapshot) -> None:
        crypto = CallbackCrypto(config.token, config.encoding_aes_key, config.corp_id)
        timestamp = str(int(self.state.now()))
        nonce = str(secrets.randbelow(10**10))
        # The same ciphertext is re-sent on retries so receivers can dedupe on FromUserName+CreateTime.
        body, msg_signature = crypto.envelope(delivery.event_xml, timestamp, nonce, config.agent_id)
        params = {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce}
        for number in range(1, MAX_ATTEMPTS + 1):
            status_code, response_body, error = None, "", ""
            try:
                response = self._http().post(config.url, params=params, content=body.encode("utf-8"),
                                             headers={"Content-Type": "text/xml; charset=utf-8"},
                                             timeout=TIMEOUT_SECONDS)
                status_code, response_body = response.status_code, response.text[:500]
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"
            delivery.attempts.append(DeliveryAttempt(number, self.state.now(), status_code,
                                                     response_body, error))
            if status_code == 200:
                delivery.state = "delivered"
                return
            if number < MAX_ATTEMPTS:
                delay = self.retry_delays[min(number - 1, len(self.retry_delays) - 1)] if self.retry_delays else 0
                if self._stop.wait(delay):
                    break
        delivery.state = "failed"


@dataclass(frozen=True)
class CallbackConfigSnapshot:
    """The callback settings at the moment the event happened."""

    corp_id: str
    url: str
    token: str
    encoding_aes_key: str
    agent_id: str


def verify_callback_url(config_url: str, token: str, encoding_aes_key: str, corp_id: str,
                        timestamp: int, client: httpx.Client | None = None) -> tuple[bool, str]:
    """WeCom's URL check when the admin saves a callback URL: GET with an encrypted echostr.

    Returns ``(ok, detail)``; ok when the receiver answers 200 with exactly the echo plaintext.
    """
    crypto = CallbackCrypto(token, encoding_aes_key, corp_id)
    echo = str(secrets.randbelow(10**19))
    echostr = crypto.encrypt(echo)
    nonce = str(secrets.randbelow(10**10))
    params = {"msg_signature": crypto.sign(str(timestamp), nonce, echostr), "timestamp": str(timestamp),
              "nonce": nonce, "echostr": echostr}
    owned = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    try:
        response = http.get(config_url, params=params, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as failure:
        return False, f"{type(failure).__name__}: {failure}"
    finally:
        if owned:
            http.close()
    if response.status_code != 200:
        return False, f"HTTP {response.status_code}"
    if response.text != echo:
        return False, "response body is not the decrypted echostr"
    return True, "ok"
