"""Contact policy (联系策略, 不打扰): per-corp settings, per-customer contact preferences, the touch
ledger (触达记录) and the per-period counters that make caps hold under concurrency."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class TouchChannel(enum.StrEnum):
    one_to_one = "one_to_one"
    broadcast = "broadcast"
    group = "group"
    moment = "moment"
    welcome = "welcome"
    journey = "journey"
    coupon_notice = "coupon_notice"


class TouchPriority(enum.StrEnum):
    """service > transactional > marketing; only marketing is subject to the brand-wide caps."""

    service = "service"
    transactional = "transactional"
    marketing = "marketing"


class TouchStatus(enum.StrEnum):
    allowed = "allowed"
    sent = "sent"
    blocked = "blocked"
    deferred = "deferred"
    expired = "expired"


class TouchRule(enum.StrEnum):
    """The rule that blocked, deferred or expired a touch."""

    no_relation = "no_relation"
    contact_deleted = "contact_deleted"
    opted_out = "opted_out"
    blacklisted = "blacklisted"
    quiet_hours = "quiet_hours"
    wecom_quota = "wecom_quota"
    marketing_cap = "marketing_cap"
    moment_cap = "moment_cap"


class QuotaRule(enum.StrEnum):
    """WeCom's per-customer receive quota for corp mass messages, as the corp set it in WeCom."""

    days_in_month = "days_in_month"
    weekly7 = "weekly7"
    daily = "daily"


class CapPeriod(enum.StrEnum):
    day = "day"
    week = "week"
    month = "month"


class ContactPolicy(TimestampMixin, Base):
    """The corp's contact policy. A corp without a row uses the defaults of ``policy.settings``."""

    __tablename__ = "contact_policy"

    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    wecom_quota_rule: Mapped[QuotaRule] = mapped_column(Enum(QuotaRule, native_enum=False, length=16))
    marketing_cap: Mapped[int]
    marketing_period: Mapped[CapPeriod] = mapped_column(Enum(CapPeriod, native_enum=False, length=8))
    moments_per_day: Mapped[int]
    #: quiet hours in minutes after local midnight; start > end spans midnight; equal: none
    quiet_start_minute: Mapped[int]
    quiet_end_minute: Mapped[int]
    opt_out_keywords: Mapped[list[str]] = mapped_column(JSON)
    blacklist_tag_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tag.id", ondelete="SET NULL"))
    #: how long a deferred marketing touch may wait for its window before it expires
    deferral_days: Mapped[int]


class ContactPreference(TimestampMixin, Base):
    """What one customer asked for: their time zone and whether they opted out of marketing."""

    __tablename__ = "contact_preference"
    __table_args__ = (UniqueConstraint("corp_id", "customer_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    timezone: Mapped[str | None] = mapped_column(String(64))
    opted_out_at: Mapped[datetime | None]
    #: reply (a keyword such as 退订), manual (an operator or the customer through a form)
    opt_out_source: Mapped[str | None] = mapped_column(String(16))
    opt_out_text: Mapped[str | None] = mapped_column(String(200))


class Touch(Base):
    """触达记录 — one outbound touch of one customer, whatever the channel, and what the policy decided."""

    __tablename__ = "touch"
    __table_args__ = (
        UniqueConstraint("corp_id", "dedupe_key"),
        Index("ix_touch_customer_time", "corp_id", "customer_id", "occurred_at"),
        Index("ix_touch_source", "corp_id", "source_kind", "source_id"),
        Index("ix_touch_deferred", "corp_id", "status", "deferred_until"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    channel: Mapped[TouchChannel] = mapped_column(Enum(TouchChannel, native_enum=False, length=16))
    priority: Mapped[TouchPriority] = mapped_column(Enum(TouchPriority, native_enum=False, length=16))
    status: Mapped[TouchStatus] = mapped_column(Enum(TouchStatus, native_enum=False, length=16))
    rule: Mapped[TouchRule | None] = mapped_column(Enum(TouchRule, native_enum=False, length=24))
    #: what asked for the touch: broadcast, journey_enrolment, welcome, coupon …, and its id
    source_kind: Mapped[str] = mapped_column(String(32), default="")
    source_id: Mapped[str] = mapped_column(String(64), default="")
    #: a caller's key that makes asking twice one touch (e.g. ``broadcast:7:customer:42``)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    deferred_until: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TouchCounter(Base):
    """How many capped touches a customer received in one period of one counter. Admission raises
    ``count`` with ``INSERT … ON CONFLICT DO UPDATE … WHERE count < cap``, and the check constraint
    holds it at or below ``cap``: two concurrent admissions can never both take the last slot."""

    __tablename__ = "touch_counter"
    __table_args__ = (
        UniqueConstraint("customer_id", "counter", "period_start"),
        CheckConstraint("count <= cap", name="count_within_cap"),
        CheckConstraint("count >= 0", name="count_not_negative"),
        Index("ix_touch_counter_corp_period", "corp_id", "counter", "period_start"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    #: wecom_quota / marketing_cap / moment_cap (the rule that refuses when the counter is full)
    counter: Mapped[str] = mapped_column(String(24))
    period_start: Mapped[datetime]
    count: Mapped[int]
    cap: Mapped[int]
