"""Who sees which customers and orders: a store manager their stores' customers (home store or served
by their staff) and those stores' orders; a staff user the customers they serve and those orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from siyu.models import Customer, Order, Relation
from tests.auth.bearer import bearer

API = "/api/v1"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.text
    payload = response.json()
    return {item["id"] for item in (payload["items"] if isinstance(payload, dict) else payload)}


def _visible_orders(client, headers, customer_ids) -> set[int]:
    orders: set[int] = set()
    for customer_id in customer_ids:
        orders |= _ids(client.get(f"{API}/customers/{customer_id}/orders", headers=headers))
    return orders


def test_store_manager_sees_exactly_their_stores_customers_and_orders(client, database, brand):
    corp, _ = brand
    s1, s2, s3 = corp.staff_ids
    walk_in_store_1, walk_in_store_2 = corp.customer_ids[6:]
    headers = bearer(database, corp.users["store_manager"])

    # when the manager of store 1 lists customers and reads each one's orders
    customers = _ids(client.get(f"{API}/customers", headers=headers))
    orders = _visible_orders(client, headers, customers)

    # then they see the customers of store 1's staff and its walk-in, and exactly store 1's orders
    assert customers == {*corp.served[s1], *corp.served[s2], walk_in_store_1}
    assert orders == set(corp.order_ids[:4])
    # and store 2's customers are not found, directly or through their orders
    for customer_id in (*corp.served[s3], walk_in_store_2):
        assert client.get(f"{API}/customers/{customer_id}", headers=headers).status_code == 404
        assert client.get(f"{API}/customers/{customer_id}/orders", headers=headers).status_code == 404


def test_store_manager_sees_a_customer_their_staff_serve_but_not_other_stores_orders(client, database, brand):
    # given a customer of store 2 who also became a WeCom friend of s1 (store 1) and bought in both stores
    corp, _ = brand
    s1 = corp.staff_ids[0]
    paid = datetime(2026, 1, 3, tzinfo=UTC)
    with database.session() as session:
        shared = Customer(corp_id=corp.corp_id, name="两店客户", home_store_id=corp.store_ids[1])
        session.add(shared)
        session.flush()
        session.add(Relation(corp_id=corp.corp_id, staff_id=s1, customer_id=shared.id, added_at=paid))
        in_store_1, in_store_2 = (
            Order(corp_id=corp.corp_id, customer_id=shared.id, platform="pos", shop="alpha",
                  order_no=f"shared-{n}", store_id=store_id, amount=Decimal("10.00"), paid_at=paid)
            for n, store_id in enumerate(corp.store_ids, start=1))
        session.add_all([in_store_1, in_store_2])
        session.flush()
        shared_id, store_1_order = shared.id, in_store_1.id
    headers = bearer(database, corp.users["store_manager"])

    # when the manager of store 1 reads that customer
    customer = client.get(f"{API}/customers/{shared_id}", headers=headers)
    orders = _ids(client.get(f"{API}/customers/{shared_id}/orders", headers=headers))

    # then the customer is theirs to serve, but only store 1's order is theirs to see
    assert customer.status_code == 200 and customer.json()["home_store_id"] == corp.store_ids[1]
    assert orders == {store_1_order}


def test_staff_user_sees_exactly_their_own_customers_and_orders(client, database, brand):
    corp, _ = brand
    s3 = corp.staff_ids[2]
    headers = bearer(database, corp.users["staff"])

    # when staff member s3's user lists customers and reads their orders
    customers = _ids(client.get(f"{API}/customers", headers=headers))
    orders = _visible_orders(client, headers, customers)

    # then only the customers s3 serves, with their orders; store 2's walk-in is not s3's customer
    assert customers == set(corp.served[s3])
    assert orders == set(corp.order_ids[4:6])
    for customer_id in (*corp.served[corp.staff_ids[0]], corp.customer_ids[7]):
        assert client.get(f"{API}/customers/{customer_id}", headers=headers).status_code == 404


def test_staff_user_search_stays_within_their_customers(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["staff"])
    # every customer of the corp is named "alpha客户…" or "alpha散客…"; the search narrows the scope only
    assert _ids(client.get(f"{API}/customers", params={"q": "alpha"}, headers=headers)) == \
        set(corp.served[corp.staff_ids[2]])


@pytest.mark.parametrize("role", ["admin", "hq_operator", "auditor"])
def test_corp_wide_roles_see_every_customer_and_order(client, database, brand, role):
    corp, other = brand
    headers = bearer(database, corp.users[role])

    customers = _ids(client.get(f"{API}/customers", headers=headers))

    assert customers == set(corp.customer_ids)
    assert _visible_orders(client, headers, customers) == set(corp.order_ids)


def test_search_treats_wildcards_as_text(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["admin"])
    with database.session() as session:
        session.add(Customer(corp_id=corp.corp_id, name="100%_fruit"))
    # "%" and "_" match themselves, not any text
    matched = client.get(f"{API}/customers", params={"q": "%_"}, headers=headers).json()["items"]
    assert [c["name"] for c in matched] == ["100%_fruit"]
    assert client.get(f"{API}/customers", params={"q": "_"}, headers=headers).json()["items"] == matched
