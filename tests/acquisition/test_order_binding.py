"""Order binding: matching (platform, number, phone tail), its refusals — each naming the field and
binding nothing — messages that carry an order number, and the public H5 form behind a signed link."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from siyu.acquisition import binding
from siyu.identity.service import resolve_customer
from siyu.kit.errors import SiyuError
from siyu.models import Event, Identity, Order, OrderBinding, RedPacket
from tests.factories import api_token


@pytest.fixture
def shop(database, brand, clock):
    """A WeCom customer of corp alpha and two Taobao orders, one also on JD, with their buyers."""
    corp_id = brand[0].corp_id
    with database.session() as session:
        customer = resolve_customer(session, corp_id, [("wecom_external_userid", "wmBuyerAAAA")], reason="test",
                                    clock=clock)
        for platform, order_no, phone, buyer in (("taobao", "2026120400001", "13812345678", "tb_alice"),
                                                 ("taobao", "2026120400002", "13812340000", "tb_bob"),
                                                 ("jd", "2026120400002", "13855550000", "jd_bob")):
            kind = "taobao_buyer" if platform == "taobao" else "jd_pin"
            buyer_id = resolve_customer(session, corp_id, [(kind, buyer)], reason="test", clock=clock)
            session.add(Order(corp_id=corp_id, customer_id=buyer_id, platform=platform, order_no=order_no,
                              amount=Decimal("88"), paid_at=clock.now() - timedelta(days=1), phone=phone,
                              buyer_kind=kind, buyer_value=buyer))
    return {"corp_id": corp_id, "customer_id": customer}


def _bind(database, clock, shop, **fields):
    with database.session() as session:
        return binding.bind_order(session, shop["corp_id"], customer_id=shop["customer_id"], clock=clock,
                                  **{"via": "sidebar", **fields})


def _bindings(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(OrderBinding))


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"order_no": "999", "phone_tail": "5678"}, "order_no", "没有找到这个订单号（字段 order_no）"),
    ({"order_no": "2026120400001", "phone_tail": "1111"}, "phone_tail", "手机号后四位与订单不符（字段 phone_tail）"),
    ({"order_no": "2026120400001", "phone_tail": "56a8"}, "phone_tail", "请填写手机号后四位数字（字段 phone_tail）"),
    ({"order_no": "2026120400002", "phone_tail": "0000"}, "platform", "多个平台有这个订单号，请选择平台（字段 platform）"),
])
def test_a_binding_that_does_not_match_is_refused_and_binds_nothing(database, clock, shop, fields, field, message):
    with pytest.raises(SiyuError) as refused:
        _bind(database, clock, shop, **fields)
    assert (refused.value.field, refused.value.message()) == (field, message)
    assert _bindings(database) == 0
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_bound_order_links_the_buyer_and_cannot_be_bound_by_someone_else(database, clock, shop, brand):
    # When the customer binds the JD order (the number exists on two platforms, so they name it)
    result = _bind(database, clock, shop, order_no="2026120400002", phone_tail="0000", platform="jd")
    # Then the JD buyer's identity is theirs now, the order points at them and a reward was granted
    with database.session() as session:
        holder = session.scalar(select(Identity.customer_id).where(Identity.value == "jd_bob"))
        order = session.get(Order, result.order.id)
        packets = list(session.scalars(select(RedPacket.reason_key)))
    assert holder == order.customer_id == result.customer_id
    assert packets == [f"order_binding:{order.id}"]
    # And the customer has the event journeys wait for, once
    with database.session() as session:
        events = [(e.customer_id, e.name, e.properties["order_no"]) for e in session.scalars(select(Event))]
    assert events == [(result.customer_id, binding.BOUND_EVENT, "2026120400002")]
    # Binding again is the same binding, no second reward
    again = _bind(database, clock, shop, order_no="2026120400002", phone_tail="0000", platform="jd")
    assert (again.created, again.binding.id, again.red_packet_id) == (False, result.binding.id, result.red_packet_id)
    # Another customer is refused
    with database.session() as session:
        other = resolve_customer(session, shop["corp_id"], [("wecom_external_userid", "wmOtherBBBB")], reason="t",
                                 clock=clock)
    with pytest.raises(SiyuError) as refused:
        _bind(database, clock, {**shop, "customer_id": other}, order_no="2026120400002", phone_tail="0000",
              platform="jd")
    assert refused.value.message_key == "acquisition.error.order_bound_elsewhere"
    assert _bindings(database) == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1


@pytest.mark.parametrize(("text", "numbers", "tail"), [
    ("订单号 2026120400001 手机尾号5678", ["2026120400001"], "5678"),
    ("单号：TB-20261204-7788，电话后四位 1234", ["TB-20261204-7788"], "1234"),
    ("我手机13812345678", [], None),
    ("你好", [], None),
])
def test_order_numbers_and_phone_tails_are_read_from_messages(text, numbers, tail):
    assert (binding.order_numbers_in(text), binding.phone_tail_in(text)) == (numbers, tail)


def test_the_h5_form_binds_through_a_signed_link_and_refuses_a_forged_one(client, brand, database, clock, shop):
    headers = api_token(client, brand[0], "admin")
    link = client.post("/api/v1/order-bindings/links", headers=headers, json={"customer_id": shop["customer_id"]})
    assert link.status_code == 201, link.text
    path = "/h5/bind/" + link.json()["url"].split("/h5/bind/", 1)[1]
    assert "绑定订单领红包" in client.get(path).text
    # A wrong tail is shown next to the form, nothing bound
    wrong = client.post(path, data={"order_no": "2026120400001", "phone_tail": "0001"})
    assert wrong.status_code == 409
    assert re.search(r'data-field="phone_tail">手机号后四位与订单不符', wrong.text)
    assert _bindings(database) == 0
    # The right one binds
    bound = client.post(path, data={"order_no": "2026120400001", "phone_tail": "5678"})
    assert (bound.status_code, "订单 2026120400001 绑定成功" in bound.text) == (200, True)
    assert _bindings(database) == 1
    # A link whose customer was edited is refused
    forged = path.replace(f".{shop['customer_id']}.", f".{shop['customer_id'] + 1}.", 1)
    refused = client.post(forged, data={"order_no": "2026120400002", "phone_tail": "0000", "platform": "taobao"})
    assert (refused.status_code, "链接无效" in refused.text) == (403, True)
    # And so is an expired one
    clock.advance(timedelta(days=8))
    assert client.get(path).status_code == 403
    assert _bindings(database) == 1
