"""Staff tasks through HTTP: assigning (one, bulk), the lists each role sees, completion, rates."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.models import StaffTask
from tests.auth.bearer import bearer

API = "/api/v1/staff-tasks"


def _count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(StaffTask))


def _task(corp, staff_index: int, **fields):
    staff_id = corp.staff_ids[staff_index]
    return {"staff_id": staff_id, "customer_id": corp.served[staff_id][0], "kind": "follow_up", "title": "新客回访",
            **fields}


def test_assigning_a_task_once_per_key(client, database, corp):
    headers = bearer(database, corp.users["hq_operator"])
    body = _task(corp, 0, kind="send_message", content="您好，新品到店", due_at="2026-01-06T12:00:00+08:00",
                 coins=3, idempotency_key="desk-1")
    created = client.post(API, headers=headers, json=body)
    again = client.post(API, headers=headers, json=body)
    assert (created.status_code, again.status_code, again.json()["id"]) == (201, 200, created.json()["id"])
    assert created.json() | {"id": 0} == {
        "id": 0, "staff_id": corp.staff_ids[0], "staff_name": "导购1", "customer_id": body["customer_id"],
        "customer_name": "alpha客户alpha-s1-0", "kind": "send_message", "title": "新客回访",
        "content": "您好，新品到店", "due_at": "2026-01-06T04:00:00Z", "status": "open", "source_kind": "manual",
        "source_ref": f"user:{corp.users['hq_operator']}", "coins": 3, "completed_at": None,
        "created_at": "2026-01-05T09:00:00Z"}
    assert _count(database) == 1


def test_bulk_assignment_names_the_draft_that_is_refused(client, database, corp):
    headers = bearer(database, corp.users["admin"])
    tasks = [_task(corp, 0), _task(corp, 1), _task(corp, 2, staff_id=10**9)]
    refused = client.post(f"{API}/bulk", headers=headers, json={"tasks": tasks})
    assert (refused.status_code, refused.json()["error"]["field"]) == (404, "tasks[2].staff_id")
    assert _count(database) == 0
    created = client.post(f"{API}/bulk", headers=headers, json={"tasks": tasks[:2]})
    assert created.json() == {"created": 2}


def test_each_role_sees_its_own_tasks(client, database, corp):
    admin = bearer(database, corp.users["admin"])
    client.post(f"{API}/bulk", headers=admin, json={"tasks": [_task(corp, i) for i in range(3)]})
    seen = {}
    for role in ("admin", "store_manager", "staff"):
        items = client.get(API, headers=bearer(database, corp.users[role])).json()["items"]
        seen[role] = sorted(item["staff_id"] for item in items)
    assert seen == {"admin": sorted(corp.staff_ids), "store_manager": corp.staff_ids[:2],
                    "staff": [corp.staff_ids[2]]}
    by_store = client.get(API, headers=admin, params={"store_id": corp.store_ids[1]}).json()["items"]
    assert [item["staff_id"] for item in by_store] == [corp.staff_ids[2]]


def test_a_store_manager_assigns_only_in_their_store(client, database, corp):
    headers = bearer(database, corp.users["store_manager"])
    refused = client.post(API, headers=headers, json=_task(corp, 2))
    assert (refused.status_code, refused.json()["error"]["field"]) == (404, "staff_id")
    assert client.post(API, headers=headers, json=_task(corp, 1)).status_code == 201
    staff = bearer(database, corp.users["staff"])
    assert client.post(API, headers=staff, json=_task(corp, 2)).status_code == 403
    assert _count(database) == 1


def test_staff_complete_their_own_task_once(client, database, corp):
    admin = bearer(database, corp.users["admin"])
    own = client.post(API, headers=admin, json=_task(corp, 2)).json()
    others = client.post(API, headers=admin, json=_task(corp, 0)).json()
    staff = bearer(database, corp.users["staff"])
    assert client.post(f"{API}/{others['id']}/complete", headers=staff).status_code == 404
    done = client.post(f"{API}/{own['id']}/complete", headers=staff)
    assert (done.status_code, done.json()["status"], done.json()["completed_at"]) == (
        200, "done", "2026-01-05T09:00:00Z")
    twice = client.post(f"{API}/{own['id']}/complete", headers={**staff, "Accept-Language": "en"})
    assert (twice.status_code, twice.json()["error"]["message"]) == (
        409, "Only open tasks can be completed or cancelled; this one is done")
    auditor = bearer(database, corp.users["auditor"])
    assert client.post(f"{API}/{others['id']}/complete", headers=auditor).status_code == 403
    with database.session() as session:
        assert session.get(StaffTask, others["id"]).status.value == "open"


def test_completion_rates_by_store(client, database, corp):
    admin = bearer(database, corp.users["admin"])
    first = client.post(API, headers=admin, json=_task(corp, 0)).json()
    client.post(API, headers=admin, json=_task(corp, 2))
    client.post(f"{API}/{first['id']}/complete", headers=admin)
    rates = client.get(f"{API}/completion-rates", headers=admin, params={"group_by": "store"}).json()
    assert rates == [
        {"staff_id": None, "store_id": corp.store_ids[0], "name": "甲品牌门店1", "total": 1, "done": 1, "expired": 0,
         "open": 0, "coins": 0, "rate": 1.0},
        {"staff_id": None, "store_id": corp.store_ids[1], "name": "甲品牌门店2", "total": 1, "done": 0, "expired": 0,
         "open": 1, "coins": 0, "rate": 0.0}]
    bad = client.get(f"{API}/completion-rates", headers=admin, params={"group_by": "city"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "group_by")
