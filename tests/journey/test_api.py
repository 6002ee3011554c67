"""The journey API through real HTTP: drafts with their problems (zh-CN and en), publish, enrol,
stats, the enrolment explorer, simulation, pause/resume, permissions and tenancy."""

from __future__ import annotations

import pytest

from tests.factories import api_token

WAIT_THEN_EXIT = {"trigger": {"type": "manual"}, "nodes": [
    {"id": "wait", "type": "wait", "duration": {"hours": 1}, "next": "bye"}, {"id": "bye", "type": "exit"}]}


@pytest.fixture
def headers(client, corp):
    return api_token(client, corp, "admin")


def test_a_draft_shows_its_problems_and_cannot_be_published(client, headers, database):
    broken = {"trigger": {"type": "manual"}, "nodes": [
        {"id": "wait", "type": "wait", "duration": {"days": 0}, "next": "nowhere"},
        {"id": "split", "type": "split", "branches": [{"key": "A", "weight": 60}, {"key": "B", "weight": 30}]}]}
    created = client.post("/api/v1/journeys", json={"name": "坏的", "definition": broken}, headers=headers)
    assert created.status_code == 201
    journey = created.json()
    assert [(p["node"], p["field"], p["code"]) for p in journey["problems"]] == [
        ("wait", "next", "unknown_node"), ("wait", "duration", "duration"), ("split", "branches", "weights_sum"),
        ("split", "id", "unreachable")]
    assert journey["problems"][0]["message"] == "节点 wait 的字段 next：指向的节点“nowhere”不存在。"
    refused = client.post(f"/api/v1/journeys/{journey['id']}/publish", json={},
                          headers={**headers, "Accept-Language": "en"})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["message"] == "The journey definition has 4 problem(s)."
    assert error["problems"][2]["message"] == (
        "Node split, field branches: branch weights must add up to 100 (they add up to 90).")
    assert client.get(f"/api/v1/journeys/{journey['id']}/versions", headers=headers).json() == []


def test_publish_enrol_explore_and_count(client, headers, corp, clock, runner):
    journey = client.post("/api/v1/journeys", json={"name": "欢迎", "definition": WAIT_THEN_EXIT},
                          headers=headers).json()
    assert journey["problems"] == []
    version = client.post(f"/api/v1/journeys/{journey['id']}/publish", json={}, headers=headers)
    assert (version.status_code, version.json()["version"]) == (201, 1)
    customers = corp.customer_ids[:3]
    enrolled = client.post(f"/api/v1/journeys/{journey['id']}/enrolments", json={"customer_ids": customers},
                           headers=headers).json()
    assert enrolled == {"enrolled": customers, "skipped": []}
    again = client.post(f"/api/v1/journeys/{journey['id']}/enrolments", json={"customer_ids": customers[:1]},
                        headers=headers).json()
    assert again == {"enrolled": [], "skipped": customers[:1]}
    clock.advance(3600)
    runner.run_until_idle()
    stats = client.get(f"/api/v1/journeys/{journey['id']}/stats", headers=headers).json()
    assert stats["totals"] == {"exited": 3, "converted_total": 0}
    assert [(n["node"], n["entered"], n["waiting"], n["passed"]) for n in stats["nodes"]] == [
        ("wait", 3, 0, 3), ("bye", 3, 0, 3)]
    listed = client.get(f"/api/v1/journeys/{journey['id']}/enrolments",
                        params={"customer_id": customers[1]}, headers=headers).json()["items"]
    assert [(e["customer_id"], e["status"], e["node"]) for e in listed] == [(customers[1], "exited", "bye")]
    trail = client.get(f"/api/v1/journeys/{journey['id']}/enrolments/{listed[0]['id']}", headers=headers).json()
    assert [(s["node"], s["outcome"]) for s in trail["steps"]] == [("wait", "passed"), ("bye", "exited")]
    assert trail["version"] == 1


def test_pause_resume_and_simulate(client, headers, corp):
    journey = client.post("/api/v1/journeys", json={"name": "生日", "template": "birthday"}, headers=headers).json()
    assert journey["problems"] == []
    assert client.post(f"/api/v1/journeys/{journey['id']}/pause", headers=headers).status_code == 409
    client.post(f"/api/v1/journeys/{journey['id']}/publish", json={}, headers=headers)
    paused = client.post(f"/api/v1/journeys/{journey['id']}/pause", headers=headers).json()
    assert paused["status"] == "paused"
    refused = client.post(f"/api/v1/journeys/{journey['id']}/enrolments", json={"customer_ids": corp.customer_ids[:1]},
                          headers=headers)
    assert refused.status_code == 409
    assert client.post(f"/api/v1/journeys/{journey['id']}/resume", headers=headers).json()["status"] == "live"
    report = client.post(f"/api/v1/journeys/{journey['id']}/simulate", json={"days": 7}, headers=headers).json()
    assert (report["audience"], report["days"]) == (0, 7)


def test_roles_and_corps(client, headers, corp, brand):
    journey = client.post("/api/v1/journeys", json={"name": "甲", "definition": WAIT_THEN_EXIT},
                          headers=headers).json()
    staff = api_token(client, corp, "staff")
    assert client.get("/api/v1/journeys", headers=staff).status_code == 403
    assert client.post("/api/v1/journeys", json={"name": "x", "definition": {}}, headers=staff).status_code == 403
    auditor = api_token(client, corp, "auditor")
    assert client.get(f"/api/v1/journeys/{journey['id']}", headers=auditor).status_code == 200
    assert client.post(f"/api/v1/journeys/{journey['id']}/publish", json={}, headers=auditor).status_code == 403
    other = api_token(client, brand[1], "admin")
    assert client.get(f"/api/v1/journeys/{journey['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/journeys", headers=other).json()["items"] == []
    assert client.delete(f"/api/v1/journeys/{journey['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/journeys/{journey['id']}", headers=headers).json()["status"] == "draft"


def test_demo_journeys_are_created_once_and_published(database, clock, corp):
    from siyu.journey.demo import seed_demo_journeys
    from siyu.models import Journey
    from tests.journey.conftest import admin

    with database.session() as session:
        first = seed_demo_journeys(session, admin(corp), clock)
        again = seed_demo_journeys(session, admin(corp), clock)
    with database.session() as session:
        statuses = sorted(session.execute(
            __import__("sqlalchemy").select(Journey.template, Journey.status)).all())
    assert (len(first), again) == (6, [])
    assert statuses == [("birthday", "live"), ("points_expiry", "live"), ("post_purchase", "live"),
                        ("weather", "live"), ("welcome", "live"), ("win_back", "live")]
