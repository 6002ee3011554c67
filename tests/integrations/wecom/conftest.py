"""The WeCom emulator on a real loopback HTTP server, for tests of siyu's WeCom integration.

``wecom_emulator`` starts ``create_emulator_app(clock=<the test's TestClock>)`` under uvicorn in a
thread and yields a ``WeComEmulator``: the API base URL, the emulator state and simulator, a corp
with its secrets, and a log of every request the emulator received (count calls on WeCom's side).
``wecom_emulator_factory`` builds more of them, e.g. with a ``callback_http_client``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from siyu.emulator.wecom.app import close_emulator, create_emulator_app, get_emulator, get_simulator
from siyu.emulator.wecom.seed import SeedSummary, seed_corp
from siyu.emulator.wecom.simulation import Simulator
from siyu.emulator.wecom.state import EmulatorState
from siyu.kit.security import encrypt_secret
from siyu.models import Corp, WeComConnection

EMULATOR_CORP = "wwsiyuemulator01"


class _RequestLog:
    """ASGI wrapper that records (method, path) of every HTTP request before the emulator sees it."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@dataclass
class WeComEmulator:
    """A running emulator and the corp ``corp_id`` created in it (not seeded)."""

    url: str
    base_url: str
    app: FastAPI
    state: EmulatorState
    simulator: Simulator
    corp_id: str
    credentials: dict[str, Any]
    _log: _RequestLog = field(repr=False)

    @property
    def contact_secret(self) -> str:
        return self.credentials["contact_secret"]

    @property
    def address_book_secret(self) -> str:
        return self.credentials["address_book_secret"]

    @property
    def requests(self) -> list[tuple[str, str]]:
        return list(self._log.requests)

    def count(self, api: str) -> int:
        """Requests received for ``api`` (e.g. ``"gettoken"``, ``"externalcontact/batch/get_by_user"``)."""
        return sum(1 for _, path in self._log.requests if path == f"/cgi-bin/{api}")

    def forget_requests(self) -> None:
        self._log.requests.clear()

    def seed(self, **options: Any) -> SeedSummary:
        """Populate the corp deterministically (see ``seed_corp``: departments, staff, customers …)."""
        return seed_corp(self.state, self.corp_id, **{"seed": 7, **options})

    def connect(self, session: Session, *, slug: str = "emu", secret_key: str, corp: Corp | None = None,
                address_book: bool = True) -> int:
        """A siyu corp (created unless given) connected to the emulator corp; returns its id."""
        if corp is None:
            corp = Corp(slug=slug, name=f"{slug} 品牌")
            session.add(corp)
            session.flush()
        session.add(WeComConnection(
            corp_id=corp.id, wecom_corp_id=self.corp_id, api_base=self.base_url,
            contact_secret_encrypted=encrypt_secret(self.contact_secret, secret_key),
            address_book_secret_encrypted=(encrypt_secret(self.address_book_secret, secret_key)
                                           if address_book else None)))
        session.flush()
        return corp.id


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="wecom-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the WeCom emulator did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


@pytest.fixture
def wecom_emulator_factory(clock) -> Iterator[Callable[..., WeComEmulator]]:
    """Start emulators on the test's clock: ``factory(corp_id=…, **create_emulator_app_options)``."""
    running: list[tuple[uvicorn.Server, threading.Thread, FastAPI]] = []

    def start(corp_id: str = EMULATOR_CORP, **options: Any) -> WeComEmulator:
        app = create_emulator_app(clock=clock, **options)
        log = _RequestLog(app)
        server, thread, port = _serve(log)
        running.append((server, thread, app))
        credentials = get_simulator(app).create_corp(corp_id, "模拟品牌")
        url = f"http://127.0.0.1:{port}"
        return WeComEmulator(url=url, base_url=f"{url}/cgi-bin/", app=app, state=get_emulator(app),
                             simulator=get_simulator(app), corp_id=corp_id, credentials=credentials, _log=log)

    yield start
    for server, thread, app in running:
        server.should_exit = True
        thread.join(timeout=10)
        close_emulator(app)


@pytest.fixture
def wecom_emulator(wecom_emulator_factory) -> WeComEmulator:
    """One emulator with an empty corp ``EMULATOR_CORP`` (seed it with ``wecom_emulator.seed(...)``)."""
    return wecom_emulator_factory()
