"""Order tests keep uploads and rejects files under the test's own folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings(settings, tmp_path):
    return settings.model_copy(update={"var_dir": tmp_path / "var"})


@pytest.fixture
def console(app, brand):
    """``console("admin")``: a TestClient logged into corp alpha's console as that role."""
    from fastapi.testclient import TestClient

    from tests.factories import login

    clients = []

    def open_as(role: str) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        assert login(client, brand[0], role).status_code == 303
        return client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


# the browser fixtures of the console tests (Debian's chromium, the app served by uvicorn)
from tests.console.conftest import chromium, live_server, page, seeded  # noqa: E402, F401
