"""The console's data sources page: create a source (its key shown once), disable and enable it,
rotate its key, and a source's last event, recent requests and events."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import login
from tests.ingest.conftest import make_source

from siyu.models import IngestSource


@pytest.fixture
def console(app, brand) -> Iterator[Callable[..., TestClient]]:
    """``console("admin")``: a TestClient logged into corp alpha's console as that role."""
    clients: list[TestClient] = []

    def open_as(role: str) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        assert login(client, brand[0], role).status_code == 303
        return client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def _key_shown(html: str) -> str | None:
    match = re.search(r"<code data-write-key>([^<]+)</code>", html)
    return match.group(1) if match else None


def test_the_page_is_in_the_data_group_and_starts_empty(console):
    page = console("admin").get("/ingest")

    assert page.status_code == 200
    assert 'data-area="ingest" aria-current="page"' in page.text
    assert "数据接入" in page.text and "data-no-sources" in page.text


def test_creating_a_source_shows_its_key_once(console, database, brand):
    admin = console("admin")
    csrf = _csrf(admin.get("/ingest").text)

    created = admin.post("/ingest/sources", data={"csrf_token": csrf, "name": "会员小程序", "kind": "miniprogram"})

    key = _key_shown(created.text)
    assert created.status_code == 200 and key and key.startswith("sk_")
    with database.session() as session:
        source = session.scalars(select(IngestSource)).one()
    assert (source.corp_id, source.name, source.kind, source.write_key_prefix) == (
        brand[0].corp_id, "会员小程序", "miniprogram", key[:10])
    again = admin.get("/ingest").text
    assert _key_shown(again) is None and key not in again
    assert f'data-source="{source.id}" data-enabled="yes"' in again
    assert admin.post("/v1/track", json={"userId": "u", "event": "E"}, auth=(key, "")).status_code == 200


def test_a_source_without_a_name_is_refused_next_to_the_field(console, database):
    admin = console("admin")
    csrf = _csrf(admin.get("/ingest").text)

    refused = admin.post("/ingest/sources", data={"csrf_token": csrf, "name": " ", "kind": "web"})

    assert refused.status_code == 422
    assert 'data-field="source.name"' in refused.text and "field-error" in refused.text
    with database.session() as session:
        assert session.scalars(select(IngestSource)).all() == []


def test_disable_then_enable_from_the_list(console, database, brand):
    source = make_source(database, brand[0].corp_id)
    admin = console("admin")
    csrf = _csrf(admin.get("/ingest").text)

    disabled = admin.post(f"/ingest/sources/{source.source_id}/enabled", data={"csrf_token": csrf, "enabled": "false"},
                          follow_redirects=False)
    page = admin.get(disabled.headers["location"]).text
    refused = admin.post("/v1/track", json={"userId": "u", "event": "E"}, auth=(source.write_key, ""))
    enabled = admin.post(f"/ingest/sources/{source.source_id}/enabled", data={"csrf_token": csrf, "enabled": "true"},
                         follow_redirects=False)

    assert (disabled.status_code, disabled.headers["location"]) == (303, "/ingest?notice=disabled")
    assert 'data-notice="disabled"' in page and f'data-source="{source.source_id}" data-enabled="no"' in page
    assert refused.status_code == 403
    assert enabled.headers["location"] == "/ingest?notice=enabled"
    assert f'data-source="{source.source_id}" data-enabled="yes"' in admin.get("/ingest").text


def test_the_source_page_shows_last_event_requests_and_events(console, database, brand, expand):
    source = make_source(database, brand[0].corp_id)
    admin = console("admin")
    for n in range(3):
        sent = admin.post("/v1/batch", json={"batch": [{"type": "track", "event": f"事件{n}", "userId": "u-1",
                                                          "messageId": f"m-{n}"}]}, auth=(source.write_key, ""))
        assert sent.status_code == 200
    expand()

    page = admin.get(f"/ingest/sources/{source.source_id}")

    assert page.status_code == 200
    assert re.findall(r'data-event="\d+" data-event-type="(\w+)"', page.text) == ["track"] * 3
    assert page.text.index("事件2") < page.text.index("事件0")
    assert re.findall(r'data-batch-status="(\w+)"', page.text) == ["processed"] * 3
    assert "从未" not in page.text  # the last event time is shown
    assert "最近事件" in page.text and "最近请求" in page.text


def test_rotating_the_key_shows_the_new_one_once(console, database, brand):
    source = make_source(database, brand[0].corp_id)
    admin = console("admin")
    csrf = _csrf(admin.get(f"/ingest/sources/{source.source_id}").text)

    rotated = admin.post(f"/ingest/sources/{source.source_id}/rotate-key", data={"csrf_token": csrf})

    new_key = _key_shown(rotated.text)
    assert rotated.status_code == 200 and new_key and new_key != source.write_key
    assert _key_shown(admin.get(f"/ingest/sources/{source.source_id}").text) is None
    assert admin.post("/v1/track", json={"userId": "u", "event": "E"}, auth=(source.write_key, "")).status_code == 401


def test_operators_without_settings_rights_cannot_open_it(console, database, brand):
    source = make_source(database, brand[0].corp_id)
    operator = console("hq_operator")

    assert operator.get("/ingest").status_code == 403
    assert 'data-area="ingest"' not in operator.get("/").text
    csrf = _csrf(operator.get("/").text)
    refused = operator.post(f"/ingest/sources/{source.source_id}/enabled", data={"csrf_token": csrf, "enabled": "false"})
    assert refused.status_code == 403
    with database.session() as session:
        assert session.get(IngestSource, source.source_id).enabled is True
