"""Data scopes and permissions on the organisation: a store manager sees their subtree, a staff user
only themselves, an auditor reads without writing, an hq operator does not manage users."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from siyu.models import User
from tests.auth.bearer import bearer
from tests.test_tenancy import snapshot

API = "/api/v1"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.text
    payload = response.json()
    items = payload["items"] if isinstance(payload, dict) else payload
    return {item["id"] for item in items}


def test_store_manager_sees_exactly_their_subtree(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["store_manager"])
    store_1, store_2 = corp.store_ids

    # when the manager of store 1 lists the organisation
    departments = _ids(client.get(f"{API}/departments", headers=headers))
    staff = _ids(client.get(f"{API}/staff", headers=headers))
    users = _ids(client.get(f"{API}/users", headers=headers))

    # then they see store 1, its two staff and the users placed in it — nothing of store 2 or above
    assert departments == {store_1}
    assert staff == set(corp.staff_ids[:2])
    assert users == {corp.users["store_manager"]}
    assert _ids(client.get(f"{API}/staff", params={"department_id": store_2}, headers=headers)) == set()
    for path in (f"departments/{store_2}", f"departments/{corp.branch_id}", f"departments/{corp.hq_id}",
                 f"staff/{corp.staff_ids[2]}", f"users/{corp.users['admin']}"):
        assert client.get(f"{API}/{path}", headers=headers).status_code == 404, path
    assert client.get(f"{API}/staff/{corp.staff_ids[0]}", headers=headers).json()["userid"] == "alpha-s1"


def test_staff_user_sees_only_their_own_staff_record(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["staff"])

    # when the staff user (staff member s3) reads the organisation
    staff = _ids(client.get(f"{API}/staff", headers=headers))
    departments = client.get(f"{API}/departments", headers=headers)
    users = client.get(f"{API}/users", headers=headers)

    # then they see themselves, and the organisation's departments and users are not theirs to read
    assert staff == {corp.staff_ids[2]}
    assert client.get(f"{API}/staff/{corp.staff_ids[0]}", headers=headers).status_code == 404
    assert (departments.status_code, departments.json()["error"]["code"]) == (403, "forbidden")
    assert (users.status_code, users.json()["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize("role", ["admin", "hq_operator", "auditor"])
def test_corp_wide_roles_see_the_whole_organisation(client, database, brand, role):
    corp, _ = brand
    headers = bearer(database, corp.users[role])

    departments = _ids(client.get(f"{API}/departments", headers=headers))
    assert departments == {corp.hq_id, corp.branch_id, *corp.store_ids}
    assert _ids(client.get(f"{API}/staff", headers=headers)) == set(corp.staff_ids)
    assert _ids(client.get(f"{API}/users", headers=headers)) == set(corp.users.values())


def test_staff_user_with_a_department_still_sees_only_themselves(client, database, brand):
    # given a staff user whom an admin also placed in store 1 (a department is informational for them)
    corp, _ = brand
    admin = bearer(database, corp.users["admin"])
    user = client.patch(f"{API}/users/{corp.users['staff']}", json={"department_id": corp.store_ids[0]},
                        headers=admin)
    assert user.status_code == 200 and user.json()["department_id"] == corp.store_ids[0]
    headers = bearer(database, corp.users["staff"])

    # when they list staff and customers
    staff = _ids(client.get(f"{API}/staff", headers=headers))
    customers = _ids(client.get(f"{API}/customers", headers=headers))

    # then the department widened nothing: their own record and their own customers only
    assert staff == {corp.staff_ids[2]}
    assert customers == set(corp.served[corp.staff_ids[2]])


def _write_attempts(corp) -> list[tuple[str, str, dict]]:
    return [
        ("POST", "departments", {"parent_id": corp.branch_id, "kind": "store", "name": "新门店"}),
        ("PATCH", f"departments/{corp.store_ids[0]}", {"name": "改名"}),
        ("POST", "staff", {"userid": "new-staff", "name": "新导购", "department_id": corp.store_ids[0]}),
        ("PATCH", f"staff/{corp.staff_ids[0]}", {"status": "resigned"}),
        ("POST", "users", {"username": "newbie", "display_name": "新人", "password": "long-enough-1",
                           "role": "admin"}),
        ("PATCH", f"users/{corp.users['store_manager']}", {"role": "admin"}),
    ]


@pytest.mark.parametrize("role", ["auditor", "store_manager", "staff"])
def test_read_only_roles_cannot_change_the_organisation(client, database, brand, role):
    corp, _ = brand
    headers = bearer(database, corp.users[role])
    for method, path, body in _write_attempts(corp):
        before = snapshot(database)

        # when the role tries to change the organisation
        response = client.request(method, f"{API}/{path}", json=body, headers=headers)

        # then the permission is missing and nothing changed
        assert response.status_code == 403, f"{role} {method} {path}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"
        assert snapshot(database) == before, f"{role} {method} {path} changed data"


def test_auditor_reads_everything_they_may_not_change(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["auditor"])

    assert client.get(f"{API}/departments/{corp.store_ids[1]}", headers=headers).status_code == 200
    assert client.get(f"{API}/users/{corp.users['admin']}", headers=headers).status_code == 200
    assert len(_ids(client.get(f"{API}/customers", headers=headers))) == len(corp.customer_ids)


def test_hq_operator_cannot_manage_users(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["hq_operator"])
    with database.session() as session:
        users_before = session.scalar(select(func.count()).select_from(User))

    # when the hq operator creates a user and promotes themselves
    new_user = {"username": "helper", "display_name": "助手", "password": "long-enough-1", "role": "admin"}
    created = client.post(f"{API}/users", json=new_user, headers=headers)
    promoted = client.patch(f"{API}/users/{corp.users['hq_operator']}", json={"role": "admin"},
                            headers=headers)

    # then both are refused for lack of users.write, and nobody was created or promoted
    for response in (created, promoted):
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "forbidden", "message": "当前角色没有此权限（users.write）",
            "params": {"permission": "users.write"},
        }
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == users_before
        assert session.get(User, corp.users["hq_operator"]).role == "hq_operator"
    # while reading users is part of their job
    assert client.get(f"{API}/users", headers=headers).status_code == 200

