"""Red packets (红包): the corp's limits, the counters that make them hold under concurrency, and the
ledger of every packet with its payment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class RedPacketBudget(TimestampMixin, Base):
    """The corp's limits, in fen (分): per corp per day, per staff member per day and per customer
    (in total), each as an amount and a count; and the reward for a bound order."""

    __tablename__ = "red_packet_budget"
    __table_args__ = (UniqueConstraint("corp_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    corp_daily_amount: Mapped[int] = mapped_column(default=100_000)
    corp_daily_count: Mapped[int] = mapped_column(default=500)
    staff_daily_amount: Mapped[int] = mapped_column(default=10_000)
    staff_daily_count: Mapped[int] = mapped_column(default=50)
    customer_amount: Mapped[int] = mapped_column(default=2_000)
    customer_count: Mapped[int] = mapped_column(default=3)
    binding_reward: Mapped[int] = mapped_column(default=188)
    #: the merchant account red packets are paid from (WeChat Pay / WeCom 企业红包); the key encrypted
    mch_id: Mapped[str | None] = mapped_column(String(32))
    mch_key_encrypted: Mapped[str | None] = mapped_column(String(500))
    #: the payment API's base URL (the emulator in the demo and tests)
    pay_api_base: Mapped[str | None] = mapped_column(String(500))


class RedPacketCounter(Base):
    """What one scope used in one period: ``scope`` corp / staff / customer, ``period`` a day
    (YYYY-MM-DD) or ``all``. The caps are copied into the row so the CHECK holds them whatever runs
    concurrently; every raise is one conditional ``INSERT … ON CONFLICT DO UPDATE … WHERE``."""

    __tablename__ = "red_packet_counter"
    __table_args__ = (
        UniqueConstraint("corp_id", "scope", "scope_id", "period"),
        CheckConstraint("amount <= amount_cap AND count <= count_cap", name="within_caps"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[int] = mapped_column(BigId)
    period: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(default=0)
    count: Mapped[int] = mapped_column(default=0)
    amount_cap: Mapped[int]
    count_cap: Mapped[int]


class RedPacket(TimestampMixin, Base):
    """One red packet of the ledger, linked to the order or campaign it rewards. ``bill_no`` is the
    merchant bill number sent to the payment provider (its idempotency key)."""

    __tablename__ = "red_packet"
    __table_args__ = (UniqueConstraint("corp_id", "reason_key"), UniqueConstraint("bill_no"),
                      Index("ix_red_packet_corp_created", "corp_id", "created_at"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="SET NULL"),
                                                    index=True)
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer_order.id", ondelete="SET NULL"))
    campaign: Mapped[str | None] = mapped_column(String(64))
    #: why it was granted, unique per corp (e.g. ``order_binding:42``): a reward is granted once
    reason_key: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int]
    bill_no: Mapped[str] = mapped_column(String(32))
    #: pending (payment on its way) / paid / failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payment_ref: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str | None] = mapped_column(String(500))
    paid_at: Mapped[datetime | None]
