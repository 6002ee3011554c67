"""The organisation API: the department tree (hq → branch → store), staff and console users."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu.kit.i18n import translate
from siyu.models import Staff, User
from tests.auth.bearer import bearer
from tests.test_tenancy import snapshot

API = "/api/v1"


@pytest.fixture
def admin(database, brand):
    corp, _ = brand
    return corp, bearer(database, corp.users["admin"])


def test_departments_form_a_tree_with_materialised_paths(client, admin):
    corp, headers = admin

    branch = client.post(f"{API}/departments", headers=headers,
                         json={"parent_id": corp.hq_id, "kind": "branch", "name": "华南分公司"})
    store = client.post(f"{API}/departments", json={"parent_id": branch.json()["id"], "kind": "store",
                                                     "name": "深圳一店", "city": "深圳"}, headers=headers)

    assert branch.status_code == 201 and store.status_code == 201
    assert branch.json()["path"] == f"/{corp.hq_id}/{branch.json()['id']}/"
    assert store.json()["path"] == f"/{corp.hq_id}/{branch.json()['id']}/{store.json()['id']}/"
    assert store.json()["city"] == "深圳"


@pytest.mark.parametrize(("body", "key"), [
    ({"parent_id": "store", "kind": "store", "name": "店中店"}, "error.store_cannot_have_children"),
    ({"parent_id": "branch", "kind": "hq", "name": "第二总部"}, "error.hq_cannot_have_parent"),
    ({"kind": "branch", "name": "无上级分公司"}, "error.department_needs_parent"),
])
def test_the_tree_refuses_impossible_shapes(client, database, admin, body, key):
    corp, headers = admin
    parents = {"store": corp.store_ids[0], "branch": corp.branch_id}
    if "parent_id" in body:
        body = {**body, "parent_id": parents[body["parent_id"]]}
    before = snapshot(database)

    response = client.post(f"{API}/departments", json=body, headers=headers, params={"lang": "en"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "parent_id"
    assert response.json()["error"]["message"] == translate(key, "en", field="parent_id")
    assert snapshot(database) == before


def test_resigning_a_staff_member_stamps_the_time_and_reactivating_clears_it(client, clock, admin):
    corp, headers = admin
    staff_id = corp.staff_ids[0]

    resigned = client.patch(f"{API}/staff/{staff_id}", json={"status": "resigned"}, headers=headers)
    clock.advance(timedelta(days=1))
    back = client.patch(f"{API}/staff/{staff_id}", json={"status": "active"}, headers=headers)

    assert resigned.json()["status"] == "resigned"
    resigned_at = clock.now() - timedelta(days=1)
    assert resigned.json()["resigned_at"] == resigned_at.isoformat().replace("+00:00", "Z")
    assert (back.json()["status"], back.json()["resigned_at"]) == ("active", None)


@pytest.mark.parametrize(("path", "field"), [
    ("departments/{store}", "name"),
    ("staff/{staff}", "name"),
    ("staff/{staff}", "status"),
    ("users/{user}", "display_name"),
    ("users/{user}", "password"),
    ("users/{user}", "role"),
    ("users/{user}", "is_active"),
    ("users/{user}", "language"),
])
def test_null_for_a_required_field_is_malformed_not_a_blank(client, database, admin, path, field):
    corp, headers = admin
    url = path.format(store=corp.store_ids[0], staff=corp.staff_ids[0], user=corp.users["hq_operator"])
    before = snapshot(database)

    response = client.patch(f"{API}/{url}", json={field: None}, headers=headers)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"]["field"] == field
    assert snapshot(database) == before


def test_a_nullable_field_can_be_cleared(client, database, admin):
    corp, headers = admin
    response = client.patch(f"{API}/staff/{corp.staff_ids[0]}", json={"department_id": None, "mobile": None},
                            headers=headers)
    assert response.status_code == 200
    with database.session() as session:
        staff = session.get(Staff, corp.staff_ids[0])
        assert (staff.department_id, staff.mobile) == (None, None)


def test_a_user_language_is_one_of_the_console_languages(client, database, admin):
    corp, headers = admin
    body = {"username": "polyglot", "display_name": "多语", "password": "long-enough-1",
            "role": "hq_operator", "language": "fr-FR-long"}

    refused = client.post(f"{API}/users", json=body, headers=headers)
    created = client.post(f"{API}/users", json={**body, "language": "en"}, headers=headers)

    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "language")
    assert (created.status_code, created.json()["language"]) == (201, "en")
    with database.session() as session:
        assert session.scalars(select(User.language).where(User.username == "polyglot")).all() == ["en"]


@pytest.mark.parametrize(("body", "field", "key"), [
    ({"role": "store_manager"}, "department_id", "error.store_manager_needs_department"),
    ({"role": "staff"}, "staff_id", "error.staff_user_needs_staff"),
])
def test_scoped_roles_need_their_scope(client, database, admin, body, field, key):
    corp, headers = admin
    before = snapshot(database)

    response = client.post(f"{API}/users", json={"username": "scoped", "display_name": "范围", "password":
                                                  "long-enough-1", **body}, headers=headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert snapshot(database) == before


def test_an_admin_cannot_demote_or_deactivate_themselves(client, database, admin):
    corp, headers = admin
    before = snapshot(database)
    for change in ({"role": "auditor"}, {"is_active": False}):
        response = client.patch(f"{API}/users/{corp.users['admin']}", json=change, headers=headers)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "conflict"
    assert snapshot(database) == before


def test_username_is_unique_per_corp_only(client, database, brand):
    corp_a, corp_b = brand
    body = {"username": "twin", "display_name": "双生", "password": "long-enough-1", "role": "auditor"}

    first = client.post(f"{API}/users", json=body, headers=bearer(database, corp_a.users["admin"]))
    again = client.post(f"{API}/users", json=body, headers=bearer(database, corp_a.users["admin"]))
    other_corp = client.post(f"{API}/users", json=body, headers=bearer(database, corp_b.users["admin"]))

    assert (first.status_code, again.status_code, other_corp.status_code) == (201, 409, 201)
    assert again.json()["error"]["field"] == "username"
    with database.session() as session:
        assert sorted(session.scalars(select(User.corp_id).where(User.username == "twin"))) == \
            sorted([corp_a.corp_id, corp_b.corp_id])


def test_staff_search_treats_wildcards_as_text(client, admin):
    corp, headers = admin
    by_userid = client.get(f"{API}/staff", params={"q": "s1"}, headers=headers).json()["items"]
    wildcard = client.get(f"{API}/staff", params={"q": "_"}, headers=headers).json()["items"]
    assert [s["userid"] for s in by_userid] == ["alpha-s1"]
    assert wildcard == []


def test_staff_list_filters_by_status(client, admin):
    corp, headers = admin
    client.patch(f"{API}/staff/{corp.staff_ids[1]}", json={"status": "resigned"}, headers=headers)

    resigned = client.get(f"{API}/staff", params={"status": "resigned"}, headers=headers)
    unknown = client.get(f"{API}/staff", params={"status": "fired"}, headers=headers)

    assert [s["id"] for s in resigned.json()["items"]] == [corp.staff_ids[1]]
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "status")

