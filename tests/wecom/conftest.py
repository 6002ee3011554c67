"""WeCom settings tests: console clients per role, the emulator for connection tests, and a few
callbacks in the log of corp alpha."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.models import WeComCallback
from tests.factories import login
from tests.integrations.wecom.conftest import wecom_emulator, wecom_emulator_factory  # noqa: F401 — fixtures
from tests.integrations.wecom.delivery import connect, encrypted, event


@pytest.fixture
def console(app, brand) -> Iterator[Callable[..., TestClient]]:
    """``console("admin", corp=0)``: a TestClient logged into a corp's console as that role."""
    clients: list[TestClient] = []

    def open_as(role: str, corp: int = 0) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        assert login(client, brand[corp], role).status_code == 303
        return client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def callback_log(client, database, clock, brand, settings) -> dict[str, int]:
    """Corp alpha connected, with one stored event, one duplicate and one forged delivery."""
    corp_id = brand[0].corp_id
    with database.session() as session:
        connect(session, corp_id, settings.secret_key)
    now = int(clock.now().timestamp())
    xml = event("change_external_contact", "add_external_contact", now, UserID="alpha-s1",
                ExternalUserID="wmLog0001", State="log")
    delivery = encrypted(xml, now)
    assert delivery.post(client, corp_id).text == "success"
    assert delivery.post(client, corp_id).text == "success"
    forged = client.post(f"/wecom/callback/{corp_id}", params={**delivery.params, "msg_signature": "a" * 40},
                         content=delivery.body.encode())
    assert forged.status_code == 403
    with database.session() as session:
        ids = list(session.scalars(select(WeComCallback.id).order_by(WeComCallback.id)))
    return {"stored": ids[0], "duplicate": ids[1], "rejected": ids[2], "corp_id": corp_id}
