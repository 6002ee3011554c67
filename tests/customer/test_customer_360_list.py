"""The customer list's filters, each with the exact set it must give, its pages, its refusals of bad
input, and the data scope: a store manager or staff user filtering towards someone else's customers
gets nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.auth.bearer import bearer
from tests.console.conftest import field_error, rows
from tests.customer.customer_360_people import seed_people
from tests.factories import login

API = "/api/v1/customers"


@pytest.fixture
def people(database, brand):
    return seed_people(database, brand)


def _ids(client, headers, **params) -> set[int]:
    response = client.get(API, params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_each_filter_gives_exactly_its_customers(client, database, people):
    c = people.c
    store_1, store_2 = people.corp.store_ids
    s1, s2, s3 = people.corp.staff_ids
    headers = bearer(database, people.corp.users["admin"])
    expected = {
        (("store_id", store_1),): {c[0], c[1], c[2], c[3], c[6]},
        (("store_id", store_2),): {c[4], c[5], c[7]},
        (("store_id", people.corp.branch_id),): set(c),  # a branch: every store below it
        (("staff_id", s2),): {c[2], c[3]},
        (("lifecycle_stage", "active"),): {c[0], c[4]},
        (("rfm_class", "important_value"),): {c[0]},
        (("tag_id", people.tag_id),): {c[0], c[4], c[7]},
        (("has_phone", "true"),): {c[0], c[1], c[2], c[3], c[4], c[5]},
        (("has_phone", "false"),): {c[6], c[7]},
        (("added_from", "2026-01-03"), ("added_to", "2026-01-05")): {c[2], c[3], c[4]},
        (("min_orders", 2),): {c[0], c[2], c[4]},
        (("max_orders", 1),): {c[1], c[3], c[5], c[6], c[7]},
        (("min_spend", "100"), ("max_spend", "500")): {c[0]},
        (("store_id", store_1), ("has_phone", "true"), ("min_orders", 1)): {c[0], c[1], c[2]},
        (("staff_id", s3), ("tag_id", people.tag_id)): {c[4]},
        (("staff_id", s1), ("lifecycle_stage", "lost")): set(),
    }
    for filters, customers in expected.items():
        assert _ids(client, headers, **dict(filters)) == customers, filters


def test_pages_walk_the_whole_list_newest_first_without_repeats(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(API, params=params, headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(people.c, reverse=True)


def test_a_store_manager_filtering_towards_another_store_sees_nothing(client, database, people):
    c = people.c
    headers = bearer(database, people.corp.users["store_manager"])

    assert _ids(client, headers) == {c[0], c[1], c[2], c[3], c[6]}
    # store 2, its staff member s3 and store 2's tag holders are all outside store 1
    assert _ids(client, headers, store_id=people.corp.store_ids[1]) == set()
    assert _ids(client, headers, staff_id=people.corp.staff_ids[2]) == set()
    assert _ids(client, headers, tag_id=people.tag_id) == {c[0]}
    # and a corp beta store names nothing
    assert _ids(client, headers, store_id=people.other.store_ids[0]) == set()


def test_a_staff_user_sees_only_their_own_whatever_they_filter(client, database, people):
    c = people.c
    headers = bearer(database, people.corp.users["staff"])

    assert _ids(client, headers) == {c[4], c[5]}
    assert _ids(client, headers, staff_id=people.corp.staff_ids[0]) == set()
    assert _ids(client, headers, store_id=people.corp.store_ids[0]) == set()
    assert _ids(client, headers, has_phone="false") == set()  # c7 is a walk-in of their store, not theirs


def test_bad_filters_are_refused_naming_the_field(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    for params, field in (
        ({"min_orders": 5, "max_orders": 2}, "max_orders"),
        ({"added_from": "2026-02-01", "added_to": "2026-01-01"}, "added_to"),
        ({"rfm_class": "vip"}, "rfm_class"),
        ({"lifecycle_stage": "sleeping"}, "lifecycle_stage"),
        ({"min_spend": "-1"}, "min_spend"),
        ({"added_from": "yesterday"}, "added_from"),
        ({"q": "x" * 129}, "q"),
    ):
        response = client.get(API, params=params, headers=headers)
        assert (response.status_code, response.json()["error"]["field"]) == (422, field), params


def test_console_list_filters_and_shows_refusals_next_to_the_field(app, database, people):
    c = people.c
    with TestClient(app) as console:
        assert login(console, people.corp, "store_manager").status_code == 303
        listed = console.get("/customers")
        tagged = console.get("/customers", params={"tag_id": people.tag_id})
        refused = console.get("/customers", params={"min_spend": "lots", "q": "alpha"})
        partial = console.get("/customers", params={"has_phone": "no"},
                              headers={"HX-Request": "true", "HX-Target": "results"})

    assert rows(listed.text, "customer") == [str(i) for i in (c[6], c[3], c[2], c[1], c[0])]
    assert 'data-count="total">5<' in listed.text
    assert rows(tagged.text, "customer") == [str(c[0])]
    assert refused.status_code == 422
    assert field_error(refused.text, "filters.min_spend") == "请输入金额，例如 199.00（字段 min_spend）"
    assert rows(refused.text, "customer") == []
    # htmx gets the results card only, without the page around it
    assert partial.text.lstrip().startswith('<section class="card" id="results"')
    assert rows(partial.text, "customer") == [str(c[6])]


def test_console_refuses_other_stores_profiles_and_exports_only_the_scope(app, database, people):
    c = people.c
    with TestClient(app) as console:
        assert login(console, people.corp, "store_manager").status_code == 303
        other_store = console.get(f"/customers/{c[4]}")
        export = console.get("/customers/export", params={"format": "csv", "store_id": people.corp.store_ids[1]})
        refused = console.get("/customers/export", params={"format": "csv", "added_from": "not-a-date"})

    assert other_store.status_code == 404
    assert "alpha客户alpha-s3-0" not in other_store.text
    assert export.status_code == 200
    assert export.content.decode("utf-8-sig").splitlines() == [
        "客户ID,姓名,手机号,性别,城市,所属门店,生命周期,RFM 分层,订单数,累计消费,最近下单,建档时间,标签"]
    assert refused.status_code == 422
    assert "请输入日期，格式 YYYY-MM-DD（字段 added_from）" in refused.text
