"""/api/v1/ingest/sources: sources and their write keys — shown once, stored only as a hash —
disabling, key rotation, recent events and requests; admins only, one corp at a time."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from tests.auth.bearer import bearer

from siyu.models import IngestSource

API = "/api/v1/ingest/sources"


def _admin(database, brand, corp: int = 0):
    return bearer(database, brand[corp].users["admin"])


def _track(client, key: str, message_id: str):
    return client.post("/v1/track", json={"userId": "u", "event": "E", "messageId": message_id}, auth=(key, ""))


def test_creating_a_source_shows_its_key_once_and_stores_only_its_hash(client, database, brand):
    headers = _admin(database, brand)

    created = client.post(API, json={"name": "微信小程序", "kind": "miniprogram"}, headers=headers)

    assert created.status_code == 201
    body = created.json()
    key = body["write_key"]
    assert key.startswith("sk_") and body["write_key_prefix"] == key[:10]
    assert (body["name"], body["kind"], body["enabled"], body["last_event_at"]) == ("微信小程序", "miniprogram", True, None)
    with database.session() as session:
        stored = session.get(IngestSource, body["id"])
    assert (stored.corp_id, stored.write_key_hash) == (brand[0].corp_id, hashlib.sha256(key.encode()).hexdigest())
    listed = client.get(API, headers=headers).json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    assert "write_key" not in listed["items"][0]
    assert "write_key" not in client.get(f"{API}/{body['id']}", headers=headers).json()
    assert _track(client, key, "m-1").status_code == 200


def test_a_malformed_source_is_422_and_nothing_created(client, database, brand):
    response = client.post(API, json={"name": "", "kind": "fax"}, headers=_admin(database, brand))

    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"name", "kind"}
    with database.session() as session:
        assert session.scalars(select(IngestSource)).all() == []


def test_disable_and_enable_a_source(client, database, brand):
    headers = _admin(database, brand)
    source = client.post(API, json={"name": "官网"}, headers=headers).json()

    disabled = client.patch(f"{API}/{source['id']}", json={"enabled": False}, headers=headers)
    refused = _track(client, source["write_key"], "m-1")
    enabled = client.patch(f"{API}/{source['id']}", json={"enabled": True, "name": "官网 PC"}, headers=headers)
    accepted = _track(client, source["write_key"], "m-2")

    assert (disabled.json()["enabled"], refused.status_code) == (False, 403)
    assert (enabled.json()["enabled"], enabled.json()["name"], accepted.status_code) == (True, "官网 PC", 200)


def test_rotating_the_key_retires_the_old_one(client, database, brand):
    headers = _admin(database, brand)
    source = client.post(API, json={"name": "App"}, headers=headers).json()
    assert _track(client, source["write_key"], "m-1").status_code == 200

    rotated = client.post(f"{API}/{source['id']}/rotate-key", headers=headers)

    new_key = rotated.json()["write_key"]
    assert rotated.status_code == 200 and new_key != source["write_key"]
    assert rotated.json()["write_key_prefix"] == new_key[:10]
    assert _track(client, source["write_key"], "m-2").status_code == 401
    assert _track(client, new_key, "m-3").status_code == 200


def test_recent_events_and_requests_of_a_source(client, database, brand, expand):
    headers = _admin(database, brand)
    source = client.post(API, json={"name": "App"}, headers=headers).json()
    for n in range(3):
        assert _track(client, source["write_key"], f"m-{n}").status_code == 200
    expand()

    first = client.get(f"{API}/{source['id']}/events", params={"limit": 2}, headers=headers).json()
    rest = client.get(f"{API}/{source['id']}/events", params={"limit": 2, "cursor": first["next_cursor"]},
                      headers=headers).json()
    batches = client.get(f"{API}/{source['id']}/batches", headers=headers).json()

    assert [e["message_id"] for e in first["items"] + rest["items"]] == ["m-2", "m-1", "m-0"]
    assert rest["next_cursor"] is None
    assert [(b["endpoint"], b["event_count"], b["status"]) for b in batches["items"]] == [("track", 1, "processed")] * 3
    assert client.get(f"{API}/{source['id']}", headers=headers).json()["last_event_at"] is not None


def test_another_corps_source_is_not_found(client, database, brand):
    source = client.post(API, json={"name": "甲的源"}, headers=_admin(database, brand)).json()
    beta = _admin(database, brand, corp=1)

    assert client.get(f"{API}/{source['id']}", headers=beta).status_code == 404
    assert client.patch(f"{API}/{source['id']}", json={"enabled": False}, headers=beta).status_code == 404
    assert client.post(f"{API}/{source['id']}/rotate-key", headers=beta).status_code == 404
    assert client.get(f"{API}/{source['id']}/events", headers=beta).status_code == 404
    assert client.get(API, headers=beta).json()["items"] == []
    assert _track(client, source["write_key"], "still-works").status_code == 200


def test_only_admins_manage_sources(client, database, brand):
    for role in ("hq_operator", "store_manager", "staff", "auditor"):
        headers = bearer(database, brand[0].users[role])
        assert client.get(API, headers=headers).status_code == 403
        assert client.post(API, json={"name": "x"}, headers=headers).status_code == 403
    with database.session() as session:
        assert session.scalars(select(IngestSource)).all() == []
