"""End to end against the emulator (issue 8, "Done when"): a WeChat user scans a weighted three-staff
channel code at a member's cap → routed to the next member, tagged, greeted within WeCom's 20 s; sends
an order number → the order binds → a red packet is paid within the limits; a reward over the limit is
refused and leaves no ledger entry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from siyu.identity.service import resolve_customer
from siyu.kit.jobs import Worker
from siyu.models import (
    ChannelCode,
    ChannelCodeAdd,
    CustomerTag,
    Identity,
    Order,
    OrderBinding,
    OutboxMessage,
    RedPacket,
    RedPacketCounter,
    Tag,
)
from tests.integrations.wecom.conftest import EMULATOR_CORP

WELCOME = "欢迎加入！发送订单号和手机尾号，领取红包"


def _weighted_code(live, *, caps: tuple[int | None, ...] = (1, None, None)) -> dict:
    userids = list(live.staff)
    created = live.api("POST", "/channel-codes", json={
        "name": "七匹狼包裹卡", "routing": "weighted", "welcome_text": WELCOME, "remark_template": "{code}",
        "welcome_attachments": [{"msgtype": "link", "link": {"title": "会员福利", "url": "https://example.com/vip"}}],
        "members": [{"staff_id": live.staff[u], "weight": w, "daily_cap": cap}
                    for u, w, cap in zip(userids, (3, 2, 1), caps, strict=True)]})
    assert created.status_code == 201, created.text
    return created.json()


def _way(live, state: str) -> dict:
    ways = live.emulator.state.corps[EMULATOR_CORP].contact_ways.values()
    return next({"config_id": w.config_id, "user": list(w.user), "skip_verify": w.skip_verify}
                for w in ways if w.state == state)


def _order(live, order_no: str, phone: str, buyer: str, amount: str = "299.00") -> int:
    with live.database.session() as session:
        buyer_id = resolve_customer(session, live.corp_id, [("taobao_buyer", buyer)], reason="test", clock=live.clock)
        order = Order(corp_id=live.corp_id, customer_id=buyer_id, platform="taobao", shop="七匹狼官方旗舰店",
                      order_no=order_no, amount=Decimal(amount), paid_at=live.clock.now() - timedelta(days=2),
                      shipped_at=live.clock.now() - timedelta(days=1), status="shipped", phone=phone,
                      buyer_kind="taobao_buyer", buyer_value=buyer)
        session.add(order)
        session.flush()
        return order.id


def _customer_of(live, external_userid: str) -> int:
    with live.database.session() as session:
        return session.scalar(select(Identity.customer_id).where(Identity.value == external_userid))


def test_scan_route_tag_greet_bind_and_pay_within_limits(live):
    userids = list(live.staff)
    # Given a weighted code over three members (weights 3, 2, 1); the first may take one add a day
    code = _weighted_code(live)
    assert (code["status"], code["rotation"]) == ("pending", [userids[0]])
    assert live.drain() >= 1
    way = _way(live, code["state"])
    assert (way["user"], way["skip_verify"]) == ([userids[0]], True)

    # When a first WeChat user scans: the heaviest member takes them and reaches their cap
    first = live.simulate("scan_contact_way", config_id=way["config_id"], name="王先生")
    assert first["userid"] == userids[0]
    live.drain()
    # Then the contact way now routes to the next member by weight
    assert _way(live, code["state"])["user"] == [userids[1]]

    # When a second user scans the code while the first member is at the cap
    second = live.simulate("scan_contact_way", config_id=way["config_id"], name="李女士")
    live.drain()
    # Then they are routed to the next member, tagged with the channel tag, remarked and greeted
    assert second["userid"] == userids[1]
    second_customer = _customer_of(live, second["external_userid"])
    with live.database.session() as session:
        row = session.get(ChannelCode, code["id"])
        tags = list(session.scalars(select(Tag.name).join(CustomerTag, CustomerTag.tag_id == Tag.id).where(
            CustomerTag.customer_id == second_customer)))
        adds = [(a.staff_id, a.welcome) for a in session.scalars(select(ChannelCodeAdd).order_by(ChannelCodeAdd.id))]
    assert tags == ["七匹狼包裹卡"]
    assert adds == [(live.staff[userids[0]], "queued"), (live.staff[userids[1]], "queued")]
    assert row.rotation == [userids[2]]  # 1/3 ≥ 1/2 > 0/1: the lightest member's turn
    welcomes = live.messages("welcome")
    assert [(m["userid"], m["external_userid"], m["text"]["content"], m["attachments"][0]["link"]["title"])
            for m in welcomes] == [(userids[0], first["external_userid"], WELCOME, "会员福利"),
                                   (userids[1], second["external_userid"], WELCOME, "会员福利")]
    follow = live.emulator.state.corps[EMULATOR_CORP].customers[second["external_userid"]].follows[userids[1]]
    assert follow.remark == "七匹狼包裹卡"

    # When the second customer sends their order number and phone tail in chat
    order_id = _order(live, "3141592653589793", "13800005678", "tb_li_nvshi")
    bound = live.api("POST", "/order-bindings/from-message", json={
        "customer_id": second_customer, "text": "你好，我的订单号 3141592653589793，手机尾号5678"})
    assert bound.status_code == 200, bound.text
    binding = bound.json()
    live.drain()
    # Then the order binds to them (the buyer's customer merged in) and a red packet is paid
    assert (binding["order_id"], binding["via"], binding["reward_refused"]) == (order_id, "chat", None)
    with live.database.session() as session:
        order = session.get(Order, order_id)
        packets = list(session.scalars(select(RedPacket)))
        buyer_holder = session.scalar(select(Identity.customer_id).where(Identity.value == "tb_li_nvshi"))
    assert order.customer_id == binding["customer_id"] == buyer_holder
    assert [(p.order_id, p.amount, p.status, p.staff_id) for p in packets] == [
        (order_id, 188, "paid", live.staff[userids[1]])]
    merchant = live.merchant()
    assert [(p["mch_billno"], p["total_amount"]) for p in merchant["packets"]] == [(packets[0].bill_no, 188)]
    assert merchant["balance"] == 100_000 - 188
    assert packets[0].payment_ref == merchant["packets"][0]["send_listid"]


def test_a_reward_over_the_limit_is_refused_and_leaves_no_ledger_entry(live):
    # Given a corp that pays at most one red packet a day, already paid today
    assert live.api("PUT", "/red-packets/budget", json={"corp_daily_count": 1}).status_code == 200
    code = _weighted_code(live, caps=(None, None, None))
    live.drain()
    way = _way(live, code["state"])
    first = live.simulate("scan_contact_way", config_id=way["config_id"])
    second = live.simulate("scan_contact_way", config_id=way["config_id"])
    live.drain()
    _order(live, "TB-0001-778899", "13900001111", "tb_one")
    _order(live, "TB-0002-778899", "13900002222", "tb_two")
    paid = live.api("POST", "/order-bindings", json={
        "customer_id": _customer_of(live, first["external_userid"]), "order_no": "TB-0001-778899",
        "phone_tail": "1111"})
    assert paid.status_code == 201 and paid.json()["red_packet_id"] is not None
    with live.database.session() as session:
        counters_before = sorted((c.scope, c.amount, c.count) for c in session.scalars(select(RedPacketCounter)))

    # When a second customer binds their order
    refused = live.api("POST", "/order-bindings", json={
        "customer_id": _customer_of(live, second["external_userid"]), "order_no": "TB-0002-778899",
        "phone_tail": "2222"})
    live.drain()

    # Then the order binds, the reward is refused by the corp's daily limit, and nothing else happened
    assert refused.status_code == 201, refused.text
    assert (refused.json()["red_packet_id"], refused.json()["reward_refused"]) == (None, "corp_daily")
    with live.database.session() as session:
        assert session.scalar(select(func.count()).select_from(RedPacket)) == 1
        assert session.scalar(select(func.count()).select_from(OrderBinding)) == 2
        counters_after = sorted((c.scope, c.amount, c.count) for c in session.scalars(select(RedPacketCounter)))
        payments = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.provider == "payment"))
    assert counters_after == counters_before == [("corp", 188, 1), ("customer", 188, 1), ("staff", 188, 1)]
    assert payments == 1
    assert len(live.merchant()["packets"]) == 1


def test_a_welcome_after_the_20_second_window_is_not_sent(live):
    # Given a code whose creation reached WeCom
    code = _weighted_code(live)
    live.drain()
    way = _way(live, code["state"])
    # When a user scans, the callback is handled (the welcome queued) and the delivery comes 21 s later
    live.simulate("scan_contact_way", config_id=way["config_id"])
    assert Worker(live.database, clock=live.clock, lease_seconds=30).run_once() == 1
    live.clock.advance(21)
    live.drain()
    # Then siyu does not call WeCom with the spent code, and the outbox says why
    assert live.emulator.count("externalcontact/send_welcome_msg") == 0
    assert live.messages("welcome") == []
    with live.database.session() as session:
        welcome = session.scalars(select(OutboxMessage).where(OutboxMessage.operation == "send_welcome_msg")).one()
    assert (welcome.status, welcome.last_error) == ("failed", "the welcome code's 20 s window has passed")


def _token(live) -> str:
    import httpx

    return httpx.get(f"{live.emulator.base_url}gettoken", params={
        "corpid": EMULATOR_CORP, "corpsecret": live.emulator.contact_secret}).json()["access_token"]


def test_41096_is_retried_inside_the_window_and_41051_is_final(live):
    import httpx

    code = _weighted_code(live, caps=(None, None, None))
    live.drain()
    way = _way(live, code["state"])
    # Given another app distributing a welcome with the first customer's code for 2 seconds
    held = live.simulate("scan_contact_way", config_id=way["config_id"])
    live.simulate("hold_welcome_code", welcome_code=held["welcome_code"], seconds=2)
    live.drain()
    assert live.messages("welcome") == []
    # When the retry comes after the backoff (still inside the 20 s)
    live.clock.advance(3)
    live.drain()
    # Then the welcome was delivered at the second attempt
    assert [m["external_userid"] for m in live.messages("welcome")] == [held["external_userid"]]

    # Given a second customer whose welcome another app already sent with the code
    taken = live.simulate("scan_contact_way", config_id=way["config_id"])
    sent = httpx.post(f"{live.emulator.base_url}externalcontact/send_welcome_msg",
                      params={"access_token": _token(live)},
                      json={"welcome_code": taken["welcome_code"], "text": {"content": "另一个应用的欢迎语"}}).json()
    assert sent["errcode"] == 0
    live.drain()
    # Then siyu's attempt got 41051 and is not retried; the customer got one welcome, not two
    with live.database.session() as session:
        last = session.scalars(select(OutboxMessage).where(OutboxMessage.operation == "send_welcome_msg")
                               .order_by(OutboxMessage.id.desc()).limit(1)).one()
    assert (last.status, last.attempts, last.last_error.split(":")[0]) == ("failed", 1, "41051")
    assert [m["text"]["content"] for m in live.messages("welcome") if m["external_userid"] == taken["external_userid"]
            ] == ["另一个应用的欢迎语"]
