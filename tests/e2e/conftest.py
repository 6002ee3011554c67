"""Whole flows over real loopback HTTP: siyu served by uvicorn on a free port (the test database, the
test's clock), and the WeCom emulator (``wecom_emulator_factory``, shared with the WeCom integration
tests) posting its callbacks to siyu."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI

from tests.integrations.wecom.conftest import wecom_emulator_factory  # noqa: F401 — fixture


@dataclass
class LiveServer:
    url: str
    app: FastAPI


@pytest.fixture
def siyu_server(settings, database, clock) -> Iterator[LiveServer]:
    """siyu's whole application on ``http://127.0.0.1:<free port>``."""
    from siyu.app import create_app

    app = create_app(settings, database, clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="siyu-e2e-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("siyu did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(f"http://127.0.0.1:{port}", app)
    server.should_exit = True
    thread.join(timeout=10)
