"""The tracking endpoints at the HTTP level: write keys, gzip, size limits, the shape of each message
type — every refusal a 400/401/403 that names the limit or the field (and index), with nothing
stored."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from tests.ingest.conftest import count, events, make_source, stored_nothing

from siyu.ingest.payload import BATCH_LIMIT, EVENT_LIMIT
from siyu.models import IngestBatch, IngestSource


def _track(n: int = 0, **fields) -> dict:
    return {"type": "track", "event": "Viewed", "userId": f"u-{n}", "messageId": f"m-{n}", **fields}


def _post(client, path: str, body, *, key: str | None = None, headers: dict | None = None):
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    auth = (key, "") if key else None
    return client.post(path, content=content, auth=auth,
                       headers={"Content-Type": "application/json", **(headers or {})})


def _error(response) -> tuple:
    body = response.json()
    error = body["error"]
    assert (body["success"], body["code"], body["message"]) == (False, error["code"], error["message"])
    return response.status_code, error["code"], error.get("field"), error.get("params", {})


def test_the_write_key_may_come_in_the_body(client, database, source, expand):
    response = _post(client, "/v1/batch", {"batch": [_track(1)], "writeKey": source.write_key})

    assert (response.status_code, response.json()) == (200, {"success": True})
    expand()
    assert [(e.message_id, e.user_id) for e in events(database)] == [("m-1", "u-1")]


def test_the_stored_body_keeps_everything_but_the_write_key(client, database, source):
    body = {"batch": [_track(1)], "writeKey": source.write_key, "context": {"ip": "10.0.0.1"}}

    assert _post(client, "/v1/batch", body).status_code == 200

    with database.session() as session:
        stored = session.scalars(select(IngestBatch)).one()
    assert json.loads(stored.body) == {"batch": [_track(1)], "context": {"ip": "10.0.0.1"}}


@pytest.mark.parametrize(("key", "headers", "code"), [
    (None, {}, "invalid_write_key"),
    ("sk_unknown", {}, "invalid_write_key"),
    (None, {"Authorization": "Basic !!!not-base64"}, "invalid_write_key"),
], ids=["missing", "unknown", "garbled"])
def test_a_missing_or_unknown_key_is_401_and_nothing_stored(client, database, source, key, headers, code):
    response = _post(client, "/v1/batch", {"batch": [_track()]}, key=key, headers=headers)

    assert _error(response)[:2] == (401, code)
    assert stored_nothing(database)


def test_a_source_disabled_through_the_api_is_refused_at_once(client, database, brand, source):
    from tests.auth.bearer import bearer

    assert _post(client, "/v1/track", _track(), key=source.write_key).status_code == 200
    admin = bearer(database, brand[0].users["admin"])

    disabled = client.patch(f"/api/v1/ingest/sources/{source.source_id}", json={"enabled": False}, headers=admin)
    refused = _post(client, "/v1/track", _track(2), key=source.write_key, headers={"Accept-Language": "en"})

    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert _error(refused)[:2] == (403, "source_disabled")
    assert refused.json()["message"] == "The source of this write key is disabled"
    assert count(database, IngestBatch) == 1


def test_a_source_disabled_by_another_process_is_refused_within_five_seconds(client, database, clock, source):
    # given this process looked the key up a moment ago
    assert _post(client, "/v1/track", _track(1), key=source.write_key).status_code == 200

    # when another process disables the source (straight in the database)
    with database.session() as session:
        session.execute(update(IngestSource).where(IngestSource.id == source.source_id).values(enabled=False))

    # then the remembered key is trusted for at most five seconds, and refused after
    clock.advance(timedelta(seconds=4.9))
    within = _post(client, "/v1/track", _track(2), key=source.write_key)
    clock.advance(timedelta(seconds=0.2))
    after = _post(client, "/v1/track", _track(3), key=source.write_key)
    assert within.status_code == 200
    assert _error(after)[:2] == (403, "source_disabled")
    assert count(database, IngestBatch) == 2


def test_a_gzip_body_is_accepted(client, database, source, expand):
    body = gzip.compress(json.dumps({"batch": [_track(1), _track(2)]}).encode())

    response = _post(client, "/v1/batch", body, key=source.write_key, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 200
    expand()
    assert [e.message_id for e in events(database)] == ["m-1", "m-2"]


@pytest.mark.parametrize(("body", "encoding", "code", "field"), [
    (b"not gzip at all", "gzip", "malformed_payload", "body"),
    (gzip.compress(b'{"batch": []}')[:-6], "gzip", "malformed_payload", "body"),
    (b'{"batch": []}', "br", "malformed_payload", "Content-Encoding"),
], ids=["not-gzip", "truncated-gzip", "brotli"])
def test_an_undecodable_body_is_400(client, database, source, body, encoding, code, field):
    response = _post(client, "/v1/batch", body, key=source.write_key, headers={"Content-Encoding": encoding})

    assert _error(response)[:3] == (400, code, field)
    assert stored_nothing(database)


def test_a_message_over_32_kb_is_400_naming_the_limit_and_its_index(client, database, source):
    big = _track(2, properties={"note": "长" * 11_000})  # 33 000 bytes of UTF-8
    body = {"batch": [_track(0), _track(1), big, _track(3)]}

    response = _post(client, "/v1/batch", body, key=source.write_key, headers={"Accept-Language": "en"})

    status, code, field, params = _error(response)
    assert (status, code, field) == (400, "payload_too_large", "batch[2]")
    assert params == {"limit": EVENT_LIMIT, "index": 2,
                      "size": len(json.dumps(big, ensure_ascii=False, separators=(",", ":")).encode())}
    assert response.json()["message"] == f"batch[2] is {params['size']} bytes, over the event limit of 32768 bytes"
    assert stored_nothing(database)


def test_a_single_call_over_32_kb_is_400(client, database, source):
    response = _post(client, "/v1/track", _track(properties={"blob": "x" * EVENT_LIMIT}), key=source.write_key)

    status, code, field, params = _error(response)
    assert (status, code, field, params["limit"]) == (400, "payload_too_large", "body", EVENT_LIMIT)
    assert stored_nothing(database)


def test_a_batch_over_500_kb_is_400_naming_the_limit(client, database, source):
    messages = [_track(n, properties={"pad": "x" * 30_000}) for n in range(18)]  # 18 × 30 KB: under 32 KB each

    response = _post(client, "/v1/batch", {"batch": messages}, key=source.write_key)

    status, code, field, params = _error(response)
    assert (status, code, field, params["limit"]) == (400, "payload_too_large", "body", BATCH_LIMIT)
    assert params["size"] > BATCH_LIMIT
    assert stored_nothing(database)


def test_a_gzip_body_inflating_past_500_kb_is_400(client, database, source):
    bomb = gzip.compress(json.dumps({"batch": [_track(properties={"z": "0" * 2_000_000})]}).encode())
    assert len(bomb) < 10_000

    response = _post(client, "/v1/batch", bomb, key=source.write_key, headers={"Content-Encoding": "gzip"})

    assert _error(response)[:3] == (400, "payload_too_large", "body")
    assert stored_nothing(database)


def test_malformed_json_is_400_with_the_position(client, database, source):
    response = _post(client, "/v1/batch", b'{"batch": [{"type": "track",}]}', key=source.write_key)

    status, code, field, params = _error(response)
    assert (status, code, field, params) == (400, "malformed_payload", "body", {"reason": "Expecting property name enclosed in double quotes", "position": 28})
    assert stored_nothing(database)


@pytest.mark.parametrize(("message", "field", "code"), [
    ({"type": "track", "userId": "u"}, "batch[1].event", "invalid_message"),
    ({"type": "track", "event": "  ", "userId": "u"}, "batch[1].event", "invalid_message"),
    ({"type": "identify", "traits": {"name": "x"}}, "batch[1].userId", "invalid_message"),
    ({"type": "identify", "userId": "", "anonymousId": None}, "batch[1].userId", "invalid_message"),
    ({"type": "group", "userId": "u"}, "batch[1].groupId", "invalid_message"),
    ({"type": "alias", "userId": "u"}, "batch[1].previousId", "invalid_message"),
    ({"type": "alias", "previousId": "p"}, "batch[1].userId", "invalid_message"),
    ({"userId": "u", "event": "x"}, "batch[1].type", "invalid_message"),
    ({"type": "purchase", "userId": "u"}, "batch[1].type", "invalid_message"),
    ({"type": "track", "event": "x", "userId": "u", "timestamp": "yesterday"}, "batch[1].timestamp",
     "invalid_message"),
    ({"type": "track", "event": "x", "userId": "u", "properties": [1, 2]}, "batch[1].properties", "invalid_message"),
    ({"type": "track", "event": "x", "userId": {"id": 1}}, "batch[1].userId", "invalid_message"),
    ({"type": "track", "event": "x", "userId": "u", "messageId": "m" * 101}, "batch[1].messageId",
     "invalid_message"),
    ("not an object", "batch[1]", "invalid_message"),
], ids=["track-no-event", "track-blank-event", "no-ids", "blank-ids", "group-no-groupId", "alias-no-previousId",
        "alias-no-userId", "no-type", "unknown-type", "bad-timestamp", "properties-not-object", "userId-object",
        "messageId-too-long", "not-an-object"])
def test_a_malformed_message_is_400_naming_field_and_index(client, database, source, message, field, code):
    response = _post(client, "/v1/batch", {"batch": [_track(0), message]}, key=source.write_key)

    status, error_code, error_field, params = _error(response)
    assert (status, error_code, error_field, params.get("index")) == (400, code, field, 1)
    assert stored_nothing(database)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/track", {"userId": "u"}, "event"),
    ("/v1/identify", {"traits": {}}, "userId"),
    ("/v1/group", {"anonymousId": "a"}, "groupId"),
    ("/v1/alias", {"userId": "u"}, "previousId"),
    ("/v1/batch", {"batch": []}, "batch"),
    ("/v1/batch", {"batch": {"type": "track"}}, "batch"),
    ("/v1/batch", {"events": []}, "batch"),
    ("/v1/batch", [1, 2], "body"),
])
def test_a_malformed_single_call_is_400_naming_the_field(client, database, source, path, body, field):
    response = _post(client, path, body, key=source.write_key)

    status, _, error_field, params = _error(response)
    assert (status, error_field, "index" in params) == (400, field, False)
    assert stored_nothing(database)


def test_the_error_speaks_the_callers_language(client, database, source):
    body = {"batch": [{"type": "track", "userId": "u"}]}

    chinese = _post(client, "/v1/batch", body, key=source.write_key)
    english = _post(client, "/v1/batch", body, key=source.write_key, headers={"Accept-Language": "en"})

    assert chinese.json()["message"] == "缺少必填字段 batch[0].event"
    assert english.json()["message"] == "Required field batch[0].event is missing"


@pytest.mark.parametrize("endpoint", ["identify", "track", "page", "screen", "group", "alias"])
def test_each_single_call_endpoint_stores_its_type(client, database, source, expand, endpoint):
    body = {"userId": "u-1", "anonymousId": "a-1", "event": "Clicked", "groupId": "g-1", "previousId": "p-1",
            "name": "首页", "messageId": f"single-{endpoint}", "type": "ignored"}

    assert _post(client, f"/v1/{endpoint}", body, key=source.write_key).status_code == 200
    expand()

    (event,) = events(database)
    assert (event.type, event.message_id) == (endpoint, f"single-{endpoint}")
    with database.session() as session:
        assert session.scalars(select(IngestBatch.endpoint)).all() == [endpoint]


def test_a_skewed_client_clock_is_corrected_as_segment_does(client, database, clock, source, expand):
    # given a device whose clock runs two hours behind: it says it sent at 08:00 what happened at 07:55
    received = clock.now()
    sent = received - timedelta(hours=2)
    body = {"batch": [_track(1, timestamp=(sent - timedelta(minutes=5)).isoformat())], "sentAt": sent.isoformat()}

    assert _post(client, "/v1/batch", body, key=source.write_key).status_code == 200
    expand()

    # then timestamp = receivedAt − (sentAt − originalTimestamp)
    (event,) = events(database)
    assert (event.timestamp, event.received_at) == (received - timedelta(minutes=5), received)


def test_a_small_skew_keeps_the_clients_exact_time(client, database, clock, source, expand):
    happened = datetime(2026, 1, 5, 8, 59, 0, 123000, tzinfo=UTC)
    body = {"batch": [_track(1, timestamp="2026-01-05T08:59:00.123Z")],
            "sentAt": (clock.now() - timedelta(seconds=3)).isoformat()}

    assert _post(client, "/v1/batch", body, key=source.write_key).status_code == 200
    expand()

    assert events(database)[0].timestamp == happened


def test_a_key_of_one_corp_writes_only_to_that_corp(client, database, brand, expand):
    beta = make_source(database, brand[1].corp_id, "乙的 App")

    assert _post(client, "/v1/track", _track(1), key=beta.write_key).status_code == 200
    expand()

    assert [(e.corp_id, e.source_id) for e in events(database)] == [(brand[1].corp_id, beta.source_id)]
