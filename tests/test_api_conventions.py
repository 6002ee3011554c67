"""Conventions every /api/v1 route keeps: OpenAPI, one error model in zh-CN (default) and en, and
cursor pagination."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from siyu.kit.pagination import encode_cursor
from siyu.models import Staff
from tests.auth.bearer import bearer
from tests.test_tenancy import api_routes

API = "/api/v1"


@pytest.fixture
def admin(database, brand):
    corp, _ = brand
    return corp, bearer(database, corp.users["admin"])


def test_openapi_describes_every_api_route(app, client):
    # given the routes the application serves under /api/v1
    served = {(route.path, route.method.lower()) for route in api_routes(app)}

    # when the OpenAPI document is fetched
    document = client.get("/openapi.json")

    # then it describes exactly those, and no console page
    assert document.status_code == 200
    paths = document.json()["paths"]
    described = {(path, method) for path, operations in paths.items() for method in operations}
    assert {(p, m) for p, m in described if p.startswith(API)} == served
    assert not any(path in ("/login", "/logout") for path, _ in described)


@pytest.mark.parametrize(("accept_language", "message"), [
    (None, "客户不存在或不在您的可见范围内"),
    ("zh-CN,zh;q=0.9", "客户不存在或不在您的可见范围内"),
    ("en", "Customer not found or outside your scope"),
    ("en-US,en;q=0.9,zh;q=0.5", "Customer not found or outside your scope"),
    ("fr-FR", "客户不存在或不在您的可见范围内"),
])
def test_not_found_speaks_the_callers_language(client, admin, accept_language, message):
    _, headers = admin
    if accept_language:
        headers = {**headers, "Accept-Language": accept_language}

    response = client.get(f"{API}/customers/999999", headers=headers)

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": message}}


@pytest.mark.parametrize(("language", "message"), [
    ("zh-CN", "员工账号 alpha-s1 已存在（字段 userid）"),
    ("en", "Staff userid alpha-s1 already exists (field userid)"),
])
def test_conflict_names_the_field(client, admin, language, message):
    _, headers = admin

    response = client.post(f"{API}/staff", json={"userid": "alpha-s1", "name": "重名"},
                           headers={**headers, "Accept-Language": language})

    assert response.status_code == 409
    assert response.json() == {"error": {"code": "conflict", "message": message, "field": "userid",
                                         "params": {"userid": "alpha-s1"}}}


@pytest.mark.parametrize(("language", "message"), [
    ("zh-CN", "输入有误：name"),
    ("en", "Invalid input: name"),
])
def test_malformed_input_names_the_field(client, database, admin, language, message):
    _, headers = admin

    response = client.post(f"{API}/staff", json={"userid": "new-one"},
                           headers={**headers, "Accept-Language": language})

    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["message"], error["field"]) == ("invalid_input", message, "name")
    assert [(d["field"], d["type"]) for d in error["details"]] == [("name", "missing")]


def test_a_body_that_is_not_json_is_malformed_input(client, admin):
    _, headers = admin
    response = client.post(f"{API}/staff", content=b"{not json",
                           headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_unauthenticated_calls_get_the_error_model(client):
    response = client.get(f"{API}/customers", headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized", "message": "Please log in"}}


def test_cursor_pagination_walks_a_collection_without_duplicates_or_gaps(client, database, admin):
    # given 120 staff (the brand's 3 and 117 more)
    corp, headers = admin
    with database.session() as session:
        session.add_all([Staff(corp_id=corp.corp_id, userid=f"bulk-{n:03d}", name=f"导购{n}",
                               department_id=corp.store_ids[n % 2]) for n in range(117)])
    with database.session() as session:
        expected = sorted(session.scalars(select(Staff.id).where(Staff.corp_id == corp.corp_id)),
                          reverse=True)
    assert len(expected) == 120

    # when the collection is walked 50 at a time, a staff member being added after the first page
    pages, cursor = [], None
    while True:
        params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/staff", params=params, headers=headers)
        assert page.status_code == 200, page.text
        pages.append([item["id"] for item in page.json()["items"]])
        cursor = page.json()["next_cursor"]
        if len(pages) == 1:
            late = client.post(f"{API}/staff", json={"userid": "late", "name": "迟到"}, headers=headers)
            assert late.status_code == 201
        if cursor is None:
            break

    # then the pages are 50, 50 and 20 rows, newest first, each row exactly once
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [staff_id for page in pages for staff_id in page] == expected


def test_an_exact_last_page_has_no_next_cursor(client, admin):
    corp, headers = admin
    page = client.get(f"{API}/staff", params={"limit": 3}, headers=headers).json()
    assert [item["id"] for item in page["items"]] == sorted(corp.staff_ids, reverse=True)
    assert page["next_cursor"] is None


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not a cursor!",
    "é",
    _cursor({"id": 10**30}),
    _cursor({"id": 0}),
    _cursor({"id": -5}),
    _cursor({"id": "12"}),
    _cursor({"id": 1.5}),
    _cursor({"id": True}),
    _cursor({"id": None}),
    _cursor({"position": 3}),
    _cursor([3]),
    _cursor(3),
])
def test_a_bad_cursor_is_malformed_input_naming_the_cursor(client, admin, cursor):
    _, headers = admin

    response = client.get(f"{API}/staff", params={"cursor": cursor}, headers=headers)

    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid_input", "message": "分页游标无效（字段 cursor）",
                                        "field": "cursor"}


def test_a_cursor_we_issued_is_accepted(client, admin):
    corp, headers = admin
    after_s3 = encode_cursor(corp.staff_ids[2])
    response = client.get(f"{API}/staff", params={"cursor": after_s3}, headers=headers)
    assert [item["id"] for item in response.json()["items"]] == [corp.staff_ids[1], corp.staff_ids[0]]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "many", "2.5"])
def test_a_bad_limit_is_malformed_input_naming_the_limit(client, admin, limit):
    _, headers = admin

    response = client.get(f"{API}/staff", params={"limit": limit}, headers=headers)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"
    assert response.json()["error"]["code"] == "invalid_input"
