"""Acquisition (引流): channel live codes (渠道活码, WeCom contact ways) with their members and daily add
counters, every customer a code brought in, order bindings, and group codes (群活码, WeCom join ways)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class ChannelCode(TimestampMixin, Base):
    """渠道活码 — one WeCom contact way. ``state`` is the contact way's ``state`` (≤ 30 chars, unique per
    corp): WeCom echoes it on every add, which is how a new relation is attributed to this code.
    ``kind`` is ``channel`` or ``package_card`` (包裹卡: one per platform and shop, with a card cost)."""

    __tablename__ = "channel_code"
    __table_args__ = (UniqueConstraint("corp_id", "state"), UniqueConstraint("corp_id", "config_id"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="channel")
    state: Mapped[str] = mapped_column(String(30))
    #: WeCom's id of the contact way, once created there (None while the creation is on its way)
    config_id: Mapped[str | None] = mapped_column(String(64))
    qr_code: Mapped[str | None] = mapped_column(String(500))
    #: pending (not in WeCom yet) / active / expired / deleted
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: round_robin / random / weighted
    routing: Mapped[str] = mapped_column(String(16), default="round_robin")
    daily_cap: Mapped[int] = mapped_column(default=300)
    skip_verify: Mapped[bool] = mapped_column(default=True)
    #: remark put on the customer, with ``{code}`` and ``{date}`` placeholders; empty: no remark
    remark_template: Mapped[str] = mapped_column(String(60), default="")
    channel_tag_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tag.id", ondelete="SET NULL"))
    #: further tags put on every customer who arrives
    tag_ids: Mapped[list] = mapped_column(JSON, default=list)
    welcome_text: Mapped[str] = mapped_column(String(4000), default="")
    #: WeCom attachments (image/link/miniprogram/video/file), ≤ 9, sent with the welcome text
    welcome_attachments: Mapped[list] = mapped_column(JSON, default=list)
    #: temporary codes stop at this time (the way is deleted in WeCom)
    expires_at: Mapped[datetime | None]
    #: the userids last written to the contact way's ``user`` list, in order
    rotation: Mapped[list] = mapped_column(JSON, default=list)
    platform: Mapped[str | None] = mapped_column(String(32))
    shop: Mapped[str | None] = mapped_column(String(64))
    #: cost of one printed package card, for the cost per added customer
    card_cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))


class ChannelCodeMember(TimestampMixin, Base):
    """A staff member of a channel code: weight for weighted routing, an own cap (else the code's),
    a schedule (``{"weekdays": [0..6], "start": "09:00", "end": "21:00"}``, corp time zone) and whether
    the member is a backup, used only when no regular member can take customers."""

    __tablename__ = "channel_code_member"
    __table_args__ = (UniqueConstraint("channel_code_id", "staff_id"),
                      CheckConstraint("weight > 0", name="weight_positive"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    channel_code_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_code.id", ondelete="CASCADE"),
                                                 index=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    weight: Mapped[int] = mapped_column(default=1)
    daily_cap: Mapped[int | None]
    backup: Mapped[bool] = mapped_column(default=False)
    schedule: Mapped[dict | None] = mapped_column(JSON)


class ChannelCodeDay(Base):
    """Adds of one member through one code on one day (corp time zone); raised in SQL on every add."""

    __tablename__ = "channel_code_day"
    __table_args__ = (UniqueConstraint("channel_code_id", "staff_id", "day"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    channel_code_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_code.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    day: Mapped[date]
    adds: Mapped[int] = mapped_column(default=0)


class ChannelCodeAdd(Base):
    """A customer who arrived through a code: the relation it created and what siyu did about it."""

    __tablename__ = "channel_code_add"
    __table_args__ = (UniqueConstraint("channel_code_id", "relation_id"),
                      Index("ix_channel_code_add_code_at", "channel_code_id", "added_at"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    channel_code_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_code.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    relation_id: Mapped[int] = mapped_column(BigId, ForeignKey("relation.id", ondelete="CASCADE"))
    added_at: Mapped[datetime]
    #: queued (sent through the outbox) / blocked (contact policy) / no_code (WeCom gave none) / none
    welcome: Mapped[str] = mapped_column(String(16), default="none")


class OrderBinding(Base):
    """An order a customer proved is theirs (order number + phone tail): one binding per order."""

    __tablename__ = "order_binding"
    __table_args__ = (UniqueConstraint("order_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer_order.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    #: chat / sidebar / h5
    via: Mapped[str] = mapped_column(String(16))
    bound_at: Mapped[datetime]


class GroupCode(TimestampMixin, Base):
    """群活码 — one WeCom join way over up to 5 groups; WeCom opens ``room_base_name + n`` when all are
    full. ``tier`` (vip / welfare / all) and ``min_spend`` decide which customers are sent to it."""

    __tablename__ = "group_code"
    __table_args__ = (UniqueConstraint("corp_id", "state"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(30))
    config_id: Mapped[str | None] = mapped_column(String(64))
    qr_code: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    chat_ids: Mapped[list] = mapped_column(JSON, default=list)
    room_base_name: Mapped[str] = mapped_column(String(40))
    room_base_id: Mapped[int] = mapped_column(default=1)
    welcome_text: Mapped[str] = mapped_column(String(4000), default="")
    #: the WeCom group welcome template made from ``welcome_text`` (owners pick it for their groups)
    welcome_template_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16), default="all")
    min_spend: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
