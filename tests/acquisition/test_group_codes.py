"""Group codes: a full group rolls over to a new one (WeCom opens ``room_base_name + n``, siyu learns it),
and customers are sent to the VIP or the welfare group by what they spent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.acquisition import group_codes
from siyu.emulator.wecom.entities import ExternalContact, GroupMember
from siyu.models import GroupChat, GroupChatMember, GroupCode, Order
from siyu.models.customer import Customer
from tests.integrations.wecom.conftest import EMULATOR_CORP


def test_a_full_group_rolls_over_to_a_new_one(live):
    owner = list(live.staff)[0]
    corp = live.emulator.state.corps[EMULATOR_CORP]
    # Given a welfare group that siyu knows, with 499 of its 500 places taken
    created = live.simulate("create_group", owner=owner, name="福利活动群1")
    live.drain()
    chat_id = created["chat_id"]
    group = corp.groups[chat_id]
    for index in range(498):
        group.members[f"wmfill{index:04d}"] = GroupMember(userid=f"wmfill{index:04d}", type=2, join_time=0,
                                                          join_scene=1)
    for external_userid in ("wmjoinerAAAA", "wmjoinerBBBB"):
        corp.customers[external_userid] = ExternalContact(external_userid=external_userid, name=external_userid)
    # And a group code over it that opens "福利活动群2" next
    response = live.api("POST", "/group-codes", json={
        "name": "福利活动群", "chat_ids": [chat_id], "room_base_name": "福利活动群", "room_base_id": 2,
        "tier": "welfare", "welcome_text": "欢迎%NICKNAME%加入福利群，每周三有秒杀～"})
    assert response.status_code == 201, response.text
    code_id = response.json()["id"]
    live.drain()
    with live.database.session() as session:
        code = session.get(GroupCode, code_id)
        config_id = code.config_id
    assert (code.status, code.chat_ids) == ("active", [chat_id])
    # And its welcome became a WeCom group welcome template for the owners to use
    templates = corp.__dict__["group_welcome_templates"]
    assert templates[code.welcome_template_id] == {"text": {"content": "欢迎%NICKNAME%加入福利群，每周三有秒杀～"}}

    # When two customers scan the group code: the first takes the last place, the second finds it full
    first = live.simulate("join_group", member_id="wmjoinerAAAA", join_way=config_id)
    second = live.simulate("join_group", member_id="wmjoinerBBBB", join_way=config_id)
    assert first["chat_id"] == chat_id
    assert second["chat_id"] != chat_id
    live.drain()
    assert live.api("POST", f"/group-codes/{code_id}/refresh").status_code == 202
    live.drain()

    # Then WeCom opened 福利活动群2 for the second customer, and siyu has it, its member and the code's list
    with live.database.session() as session:
        code = session.get(GroupCode, code_id)
        new_group = session.scalars(select(GroupChat).where(GroupChat.chat_id == second["chat_id"])).one()
        members = list(session.scalars(select(GroupChatMember.member_userid).where(
            GroupChatMember.group_chat_id == new_group.id, GroupChatMember.left_at.is_(None))))
    assert code.chat_ids == [chat_id, second["chat_id"]]
    assert code.room_base_id == 3
    assert new_group.name == "福利活动群2"
    assert sorted(members) == sorted([owner, "wmjoinerBBBB"])


def test_customers_are_sent_to_the_group_of_their_tier(database, brand, clock):
    corp_id = brand[0].corp_id
    now = clock.now()
    with database.session() as session:
        vip = GroupCode(corp_id=corp_id, name="VIP用户核心群", state="gcvip", status="active", chat_ids=["wrA"],
                        room_base_name="VIP用户核心群", tier="vip", min_spend=Decimal("1000"))
        welfare = GroupCode(corp_id=corp_id, name="福利活动群", state="gcwelfare", status="active", chat_ids=["wrB"],
                            room_base_name="福利活动群", tier="welfare", min_spend=Decimal(0))
        big, small = Customer(corp_id=corp_id, name="大客户"), Customer(corp_id=corp_id, name="新客户")
        session.add_all([vip, welfare, big, small])
        session.flush()
        paid = now - timedelta(days=3)
        for customer, amount, status in ((big, "800", "paid"), (big, "300", "completed"), (small, "900", "paid"),
                                         (small, "500", "refunded")):
            session.add(Order(corp_id=corp_id, customer_id=customer.id, platform="jd",
                              order_no=f"{customer.id}-{amount}",
                              amount=Decimal(amount), paid_at=paid, status=status))
        session.flush()
        # Then 1100 spent reaches the VIP threshold; 900 (the refunded order does not count) does not
        assert group_codes.group_code_for_customer(session, corp_id, big.id).name == "VIP用户核心群"
        assert group_codes.group_code_for_customer(session, corp_id, small.id).name == "福利活动群"
        # And another corp's customer gets nothing from this corp's codes
        assert group_codes.group_code_for_customer(session, brand[1].corp_id, big.id) is None
