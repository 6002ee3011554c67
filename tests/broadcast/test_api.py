"""The REST API of the contact policy and broadcasts: same services as the console."""

from __future__ import annotations

from sqlalchemy import select

from siyu.models.broadcast import Broadcast
from siyu.models.policy import Touch
from tests.factories import api_token


def test_the_policy_is_read_saved_and_refused_in_the_callers_language(client, brand):
    admin = api_token(client, brand[0], "admin")
    assert client.get("/api/v1/policy", headers=admin).json()["wecom_quota_rule"] == "days_in_month"
    refused = client.put("/api/v1/policy", headers={**admin, "Accept-Language": "en"},
                         json={"moments_per_day": 4})
    assert (refused.status_code, refused.json()["error"]["field"], refused.json()["error"]["message"]) == (
        422, "moments_per_day", "Must be between 0 and 3 (field moments_per_day)")
    saved = client.put("/api/v1/policy", headers=admin, json={"marketing_cap": 1, "quiet_start": "21:00"})
    assert (saved.json()["marketing_cap"], saved.json()["quiet_start"]) == (1, "21:00")
    operator = api_token(client, brand[0], "hq_operator")
    assert client.put("/api/v1/policy", headers=operator, json={}).status_code == 403


def test_decisions_preview_records_nothing(client, brand, database):
    corp = brand[0]
    headers = api_token(client, corp, "hq_operator")
    answer = client.post("/api/v1/policy/decisions", headers=headers, json={"requests": [
        {"customer_id": corp.customer_ids[0], "channel": "journey", "priority": "marketing"},
        {"customer_id": corp.customer_ids[6], "channel": "journey", "priority": "marketing"}]})
    assert [(d["status"], d["rule"]) for d in answer.json()] == [("allowed", None), ("blocked", "no_relation")]
    with database.session() as session:
        assert session.scalars(select(Touch)).all() == []


def test_a_broadcast_is_created_previewed_and_scheduled_over_the_api(client, brand, database):
    corp = brand[0]
    headers = api_token(client, corp, "hq_operator")
    created = client.post("/api/v1/broadcasts", headers=headers, json={
        "name": "周末", "audience": {"store_ids": [corp.store_ids[1]]}, "variants": [{"text": "{store} 周末见"}]})
    assert created.status_code == 201, created.text
    broadcast_id = created.json()["id"]
    preview = client.get(f"/api/v1/broadcasts/{broadcast_id}/preview", headers=headers).json()
    assert (preview["audience"], preview["eligible"], preview["by_rule"]) == (
        3, 2, [{"status": "blocked", "rule": "no_relation", "count": 1}])
    scheduled = client.post(f"/api/v1/broadcasts/{broadcast_id}/schedule", headers=headers, json={})
    assert scheduled.json()["status"] == "scheduled"
    again = client.post(f"/api/v1/broadcasts/{broadcast_id}/schedule", headers=headers, json={})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    other = api_token(client, brand[1], "hq_operator")
    assert client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=other).status_code == 404
    auditor = api_token(client, corp, "auditor")
    assert client.post("/api/v1/broadcasts", headers=auditor, json={"name": "x", "variants": [{"text": "y"}]}
                       ).status_code == 403
    with database.session() as session:
        assert len(session.scalars(select(Broadcast)).all()) == 1
