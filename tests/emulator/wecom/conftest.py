"""Harness for the WeCom emulator tests: an app on a TestClock, a callback receiver, helpers.

The receiver stands in for siyu's callback endpoint: it is reached through an ``httpx.MockTransport``
(real request bytes, no socket), checks the signature and decrypts every POST with wechatpy's
``WeChatCrypto`` — so every callback test is also an interoperability test.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
import xmltodict
from fastapi.testclient import TestClient
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from siyu.emulator.wecom import close_emulator, create_emulator_app, get_emulator
from siyu.emulator.wecom.seed import seed_corp
from siyu.kit.clock import TestClock

CALLBACK_URL = "http://siyu.test/wecom/callback/{corp_id}"
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


class CallbackReceiver:
    """Decrypts and records callbacks; can be told to fail the next N requests."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []  # queued statuses to answer with before answering 200
        self.corps: dict[str, WeChatCrypto] = {}
        self._lock = threading.Lock()

    def register(self, corp_id: str, token: str = TOKEN, aes_key: str = AES_KEY) -> None:
        self.corps[corp_id] = WeChatCrypto(token, aes_key, corp_id)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            if self.statuses:
                return httpx.Response(self.statuses.pop(0), text="error")
        corp_id = request.url.path.rsplit("/", 1)[-1]
        crypto = self.corps[corp_id]
        params = request.url.params
        try:
            if request.method == "GET":  # URL verification: echo the decrypted echostr
                echo = crypto.check_signature(params["msg_signature"], params["timestamp"], params["nonce"],
                                              params["echostr"])
                return httpx.Response(200, content=echo if isinstance(echo, bytes) else echo.encode())
            plain = crypto.decrypt_message(request.content.decode(), params["msg_signature"],
                                           params["timestamp"], params["nonce"])
        except InvalidSignatureException:
            return httpx.Response(403, text="bad signature")
        event = xmltodict.parse(plain)["xml"]
        with self._lock:
            self.events.append(event)
        return httpx.Response(200, text="success")

    def changes(self) -> list[tuple[str, str]]:
        return [(e["Event"], e.get("ChangeType", "")) for e in self.events]


class Harness:
    """Talks to one emulator app like siyu would (API) and like people would (simulation)."""

    def __init__(self, app, client: TestClient, receiver: CallbackReceiver, clock: TestClock) -> None:
        self.app, self.client, self.receiver, self.clock = app, client, receiver, clock
        self.state = get_emulator(app)
        self.credentials: dict[str, dict[str, Any]] = {}
        self._tokens: dict[tuple[str, str], str] = {}

    def create_corp(self, corp_id: str = "wwcorp0001", *, staff: int = 6, customers: int = 30,
                    callback: bool = True, **seed_options: Any) -> dict[str, Any]:
        response = self.client.post("/simulate/corps", json={
            "corp_id": corp_id, "callback_url": CALLBACK_URL.format(corp_id=corp_id) if callback else "",
            "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
        assert response.status_code == 200, response.text
        self.receiver.register(corp_id)
        seed_corp(self.state, corp_id, staff=staff, customers=customers, departments=4, seed=7, **seed_options)
        self.credentials[corp_id] = response.json()
        return response.json()

    def token(self, corp_id: str = "wwcorp0001", secret: str | None = None) -> str:
        secret = secret or self.credentials[corp_id]["contact_secret"]
        key = (corp_id, secret)
        if key not in self._tokens:
            body = self.client.get("/cgi-bin/gettoken", params={"corpid": corp_id, "corpsecret": secret}).json()
            assert body["errcode"] == 0, body
            self._tokens[key] = body["access_token"]
        return self._tokens[key]

    def _call(self, method: str, path: str, corp_id: str, **kwargs: Any) -> dict[str, Any]:
        """Like a real client: re-fetch the token once on 40014/42001 (tests move the clock)."""
        for attempt in (1, 2):
            params = {"access_token": self.token(corp_id), **kwargs.pop("params", {})}
            response = self.client.request(method, f"/cgi-bin/{path}", params=params, **kwargs)
            assert response.status_code == 200
            body = response.json()
            if body.get("errcode") in (40014, 42001) and attempt == 1:
                self._tokens.pop((corp_id, self.credentials[corp_id]["contact_secret"]), None)
                kwargs["params"] = {k: v for k, v in params.items() if k != "access_token"}
                continue
            return body
        raise AssertionError("unreachable")

    def get(self, path: str, corp_id: str = "wwcorp0001", **params: Any) -> dict[str, Any]:
        return self._call("GET", path, corp_id, params=params)

    def post(self, path: str, body: dict[str, Any], corp_id: str = "wwcorp0001") -> dict[str, Any]:
        return self._call("POST", path, corp_id, json=body)

    def simulate(self, action: str, corp_id: str = "wwcorp0001", expect: int = 200, **body: Any) -> Any:
        response = self.client.post(f"/simulate/{corp_id}/{action}", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    def staff(self, corp_id: str = "wwcorp0001") -> list[str]:
        return self.get("externalcontact/get_follow_user_list", corp_id)["follow_user"]

    def settle(self) -> None:
        """Wait until every queued callback was delivered (or given up)."""
        assert self.app.state.callbacks.wait_idle(10)


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def receiver() -> CallbackReceiver:
    return CallbackReceiver()


@pytest.fixture
def harness(clock, receiver):
    http = httpx.Client(transport=httpx.MockTransport(receiver.handle))
    app = create_emulator_app(clock=clock, callback_http_client=http, callback_retry_delays=(0.01, 0.02))
    with TestClient(app) as client:
        yield Harness(app, client, receiver, clock)
    close_emulator(app)
    http.close()
