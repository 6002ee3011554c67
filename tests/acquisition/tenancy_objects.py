"""What ``tests/test_tenancy.py`` needs to cover the acquisition, red-packet and group routes (issue 8):
the tables their id fields name, their WeCom ids, the tables behind their responses, their downloads,
values for body fields it cannot make up, and one object of each kind per corp.

Three write routes refuse a made-up body for a reason other than tenancy — and must keep refusing it:
``POST /channel-codes`` (``members`` empty), ``POST /group-codes`` (``chat_ids`` empty or unknown) and
``POST /order-bindings`` (no such order number). The sweep gives them valid bodies on corp A's own
objects: a member is made up with the corp's ``staff_id``, and ``PREFERRED_VALUES`` names the group
chat and the order that ``acquisition_objects`` creates in each corp under the same WeCom chat id and
order number (so the value names corp A's own object when corp A calls).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from siyu.models import ChannelCode, GroupChat, GroupCode, Order, RedPacket, Relation, Tag, TagGroup

REFERENCES_ISSUE_8 = {"code_id": ChannelCode, "group_code_id": GroupCode, "group_chat_id": GroupChat,
                      "red_packet_id": RedPacket, "relation_id": Relation, "channel_tag_id": Tag}
#: WeCom's own ids (strings) on these schemas
NOT_REFERENCES_ISSUE_8 = {"config_id", "welcome_template_id",
                          "mch_id",  # the WeChat Pay merchant number
                          "room_base_id"}  # the number a group code's rooms are counted from
ITEM_TABLES_ISSUE_8 = {
    "ChannelCode": ChannelCode, "ChannelCodeDetail": ChannelCode, "CodeStatistics": None, "PlatformFunnel": None,
    "OrderBinding": None, "BindingLink": None, "GroupCode": GroupCode, "Budget": None, "RedPacket": RedPacket,
    "GroupOut": GroupChat, "TimelineOut": None, "ConcentrationOut": None, "LossAlertOut": None,
}
DOWNLOADS_ISSUE_8 = {"GET /api/v1/red-packets/export.{kind}", "GET /api/v1/channel-codes/{code_id}/qr.png",
                     "GET /api/v1/channel-codes/{code_id}/qr.svg", "GET /api/v1/channel-codes/{code_id}/poster.svg"}
#: Every corp's sample group chat and bindable order carry these (see the module docstring).
PROBE_CHAT_ID = "wrtenancyprobe"
PROBE_ORDER_NO = "tenancy-binding"
PREFERRED_VALUES = {"chat_ids": [PROBE_CHAT_ID], "order_no": PROBE_ORDER_NO, "phone_tail": "1234", "platform": "taobao",
                    "expires_at": "2027-01-01T00:00:00+08:00"}


def acquisition_objects(session, brand) -> dict[str, int]:
    """One channel code (with a QR), group code, group chat and red packet of ``brand``, and an order
    of the first customer that a binding by ``PREFERRED_VALUES`` finds."""
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    group = TagGroup(corp_id=brand.corp_id, name=f"{brand.slug} 渠道")
    session.add(group)
    session.flush()
    tag = Tag(corp_id=brand.corp_id, group_id=group.id, name="门店码", kind="channel")
    session.add(tag)
    session.flush()
    code = ChannelCode(corp_id=brand.corp_id, name="门店码", state=f"cc{brand.slug}", status="active",
                       config_id=f"cfg{brand.slug}", qr_code="https://work.weixin.qq.com/ca/probe", rotation=[],
                       tag_ids=[], welcome_attachments=[], channel_tag_id=tag.id)
    chat = GroupChat(corp_id=brand.corp_id, chat_id=PROBE_CHAT_ID, name="福利群", status="active")
    group_code = GroupCode(corp_id=brand.corp_id, name="福利群", state=f"gc{brand.slug}", status="active",
                           config_id=f"jw{brand.slug}", chat_ids=[PROBE_CHAT_ID], room_base_name="福利群",
                           min_spend=Decimal(0))
    order = Order(corp_id=brand.corp_id, customer_id=brand.customer_ids[0], platform="taobao", shop=brand.slug,
                  order_no=PROBE_ORDER_NO, phone="13900001234", amount=Decimal("99.00"), paid_at=moment)
    packet = RedPacket(corp_id=brand.corp_id, customer_id=brand.customer_ids[0], reason_key="probe", amount=100,
                       bill_no=f"probe{brand.slug}", status="paid", paid_at=moment)
    session.add_all([code, chat, group_code, packet, order])
    session.flush()
    relation_id = session.query(Relation.id).filter(Relation.corp_id == brand.corp_id).order_by(Relation.id).first()[0]
    return {"code_id": code.id, "group_code_id": group_code.id, "group_chat_id": chat.id, "red_packet_id": packet.id,
            "relation_id": relation_id, "channel_tag_id": tag.id}
