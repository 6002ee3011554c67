"""POST /api/v1/orders: orders in real time — idempotent, refunds applied, malformed input refused
naming the field, and a store manager limited to their own stores. GET /api/v1/orders is scoped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from siyu.models import Customer, Identity, Order
from tests.auth.bearer import bearer

API = "/api/v1/orders"


def _order(**changes) -> dict:
    order = {"platform": "pos", "shop": "", "order_no": "P-1001", "amount": "66.00",
             "paid_at": "2026-01-03T10:00:00+08:00", "phone": "+86 131-0013-1000", "category": "柑橘"}
    return order | changes


def _counts(database, corp_id):
    with database.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(model).where(model.corp_id == corp_id))
                     for model in (Order, Customer, Identity))


@pytest.fixture
def alpha(brand):
    return brand[0]


def test_an_order_is_stored_once_and_its_refund_applied(client, database, alpha):
    # given corp alpha's admin and a till order with the buyer's phone
    headers = bearer(database, alpha.users["admin"])

    # when the till posts it, posts it again, then posts its refund
    first = client.post(API, json=_order(), headers=headers)
    again = client.post(API, json=_order(), headers=headers)
    refund = client.post(API, json=_order(refund_amount="66.00"), headers=headers)

    # then it was inserted once, then unchanged, then updated to refunded — one order throughout,
    # linked to the customer its phone names
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["inserted"], body["updated"], body["unchanged"]) == (1, 0, 0)
    [stored] = body["orders"]
    assert (stored["order_no"], stored["outcome"]) == ("P-1001", "inserted")
    assert again.json()["orders"] == [stored | {"outcome": "unchanged"}]
    assert refund.json()["orders"] == [stored | {"outcome": "updated"}]
    with database.session() as session:
        order = session.get(Order, stored["id"])
        assert (order.status, str(order.refund_amount), order.phone, order.source) == (
            "refunded", "66.00", "13100131000", "api")
        assert session.scalar(select(Identity.customer_id).where(
            Identity.kind == "phone", Identity.value == "13100131000")) == stored["customer_id"]


def test_a_list_of_orders_in_one_request(client, database, alpha):
    headers = bearer(database, alpha.users["hq_operator"])
    orders = [_order(order_no=f"P-{n}", phone=None, member_no=f"M{n % 2}") for n in range(3)]

    as_list = client.post(API, json=orders, headers=headers)
    as_object = client.post(API, json={"orders": orders}, headers=headers)

    assert as_list.status_code == 200, as_list.text
    assert [o["outcome"] for o in as_list.json()["orders"]] == ["inserted"] * 3
    assert [o["outcome"] for o in as_object.json()["orders"]] == ["unchanged"] * 3
    customers = [o["customer_id"] for o in as_list.json()["orders"]]
    assert customers[0] == customers[2] != customers[1]  # same member number, same customer


@pytest.mark.parametrize(("body", "field"), [
    (_order(amount="-1.00"), "orders.0.amount"),
    (_order(amount="12,3.4x"), "orders.0.amount"),
    (_order(amount="1.005"), "orders.0.amount"),
    (_order(paid_at="2026-01-03 10:00:00"), "orders.0.paid_at"),
    (_order(paid_at="yesterday"), "orders.0.paid_at"),
    ({k: v for k, v in _order().items() if k != "order_no"}, "orders.0.order_no"),
    (_order(status="lost"), "orders.0.status"),
    (_order(refund_amount="70.00"), "orders.0.refund_amount"),
    (_order(phone="138****0000"), "orders.0.phone"),
    (_order(buyer_kind="taobao_buyer"), "orders.0"),
    (_order(colour="red"), "orders.0.colour"),
    ([_order(), _order(order_no="")], "orders.1.order_no"),
    ([_order(order_no=f"P{n}") for n in range(501)], "orders"),
    ([], "orders"),
    ({"orders": [_order()], "shop": "x"}, "shop"),
])
def test_malformed_orders_are_refused_naming_the_field_and_nothing_is_written(client, database, alpha, body,
                                                                               field):
    headers = bearer(database, alpha.users["admin"]) | {"Accept-Language": "en"}
    before = _counts(database, alpha.corp_id)

    response = client.post(API, json=body, headers=headers)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"], error["message"]) == ("invalid_input", field, f"Invalid input: {field}")
    assert _counts(database, alpha.corp_id) == before


def test_a_store_manager_posts_orders_for_their_own_stores_only(client, database, alpha):
    # given the manager of store 1 (store 2 is a sibling under the same branch)
    headers = bearer(database, alpha.users["store_manager"])
    own, other = alpha.store_ids
    before = _counts(database, alpha.corp_id)

    # when they post an order of another store (after one of their own, in the same request), an
    # order naming no store, and an order of another store by its name
    mixed = client.post(API, json=[_order(order_no="A", store_id=own), _order(order_no="B", store_id=other)],
                        headers=headers)
    storeless = client.post(API, json=_order(order_no="C"), headers=headers)
    by_name = client.post(API, json=_order(order_no="D", store_code="甲品牌门店2"), headers=headers)

    # then the store outside their scope is not found for them, a store is required, and nothing
    # of any of these requests was written
    assert (mixed.status_code, mixed.json()["error"]["field"]) == (404, "orders.1.store_id")
    assert mixed.json()["error"]["message"] == "门店不存在或不在您的管理范围内（字段 orders.1.store_id）"
    assert (storeless.status_code, storeless.json()["error"]["field"]) == (403, "orders.0.store_id")
    assert (by_name.status_code, by_name.json()["error"]["field"]) == (404, "orders.0.store_code")
    assert _counts(database, alpha.corp_id) == before

    # and their own store, by id or by name, is accepted (a POS order's blank shop is its store code)
    accepted = client.post(API, json=[_order(order_no="A", store_id=own, staff_userid="alpha-s1"),
                                      _order(order_no="E", store_code="甲品牌门店1")], headers=headers)
    assert accepted.status_code == 200, accepted.text
    with database.session() as session:
        stored = session.scalars(select(Order).where(Order.source == "api").order_by(Order.order_no)).all()
        assert [(o.order_no, o.shop, o.store_id, o.staff_id) for o in stored] == [
            ("A", "", own, alpha.staff_ids[0]), ("E", "甲品牌门店1", own, None)]


def test_staff_users_cannot_post_orders(client, database, alpha):
    before = _counts(database, alpha.corp_id)

    response = client.post(API, json=_order(), headers=bearer(database, alpha.users["staff"]))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert _counts(database, alpha.corp_id) == before


def test_another_corps_store_or_staff_is_not_found(client, database, brand):
    alpha, beta = brand
    headers = bearer(database, alpha.users["admin"])
    before = _counts(database, alpha.corp_id), _counts(database, beta.corp_id)

    store = client.post(API, json=_order(store_id=beta.store_ids[0]), headers=headers)
    staff = client.post(API, json=_order(staff_id=beta.staff_ids[0]), headers=headers)
    userid = client.post(API, json=_order(staff_userid="beta-s1"), headers=headers)

    assert [(r.status_code, r.json()["error"]["field"]) for r in (store, staff, userid)] == [
        (404, "orders.0.store_id"), (404, "orders.0.staff_id"), (404, "orders.0.staff_userid")]
    assert (_counts(database, alpha.corp_id), _counts(database, beta.corp_id)) == before


def test_the_order_list_is_scoped_and_filtered(client, database, brand):
    # given the brand's orders (one per served customer: store 1 has four, store 2 two)
    alpha, beta = brand

    # when the admin, the manager of store 1 and a staff member of store 2 list orders
    admin = client.get(API, params={"limit": 100}, headers=bearer(database, alpha.users["admin"])).json()
    manager = client.get(API, headers=bearer(database, alpha.users["store_manager"])).json()
    staff = client.get(API, headers=bearer(database, alpha.users["staff"])).json()
    by_store = client.get(API, params={"store_id": alpha.store_ids[1]},
                          headers=bearer(database, alpha.users["admin"])).json()

    # then each sees exactly their own share, newest first
    assert [o["id"] for o in admin["items"]] == sorted(alpha.order_ids, reverse=True)
    assert [o["id"] for o in manager["items"]] == sorted(alpha.order_ids[:4], reverse=True)
    assert [o["id"] for o in staff["items"]] == sorted(alpha.order_ids[4:], reverse=True)
    assert [o["id"] for o in by_store["items"]] == sorted(alpha.order_ids[4:], reverse=True)
    assert not set(o["id"] for o in admin["items"]) & set(beta.order_ids)
