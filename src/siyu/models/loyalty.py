"""Loyalty: membership levels, members, the points ledger and coupons.

Tables other domains read (segments, journeys, messages):

* ``member`` — one row per enrolled customer (``customer_id`` is the key). ``level_id`` is the
  current level (``member_level.id``, ``NULL`` when no level's threshold is met), ``points_balance``
  the spendable points, ``points_earned_total`` every point ever earned (levels may count it),
  ``member_no`` the membership number (also an ``identity`` of kind ``member_no``), ``joined_at``
  and ``birthday`` (a date; the customer's own birthday when the member has none).
* ``member_level`` — the corp's levels; ``rank`` orders them (higher is better), so "at least 金卡"
  is ``member_level.rank >= <rank of 金卡>``.
* ``points_entry`` — the ledger: every change of a balance, signed, with its source and a unique
  idempotency key per corp. Entries that add points (earn, positive adjust) are *lots*: ``remaining``
  is what is left of them after FIFO spending, ``expires_at`` when that remainder expires.
* ``coupon_template`` / ``coupon`` — what can be issued and what was issued to whom.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class LoyaltySettings(TimestampMixin, Base):
    """The corp's loyalty rules: how orders earn points and how long points live."""

    __tablename__ = "loyalty_settings"

    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    #: points earned per yuan of an order's amount (rounded down per order); 0 turns earning off
    points_per_yuan: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("1"))
    #: points earned at t expire at t + this many months; 0: they never expire
    points_validity_months: Mapped[int] = mapped_column(default=12)
    #: prefix of generated membership numbers (``M`` + zero-padded customer id)
    member_no_prefix: Mapped[str] = mapped_column(String(8), default="M")


class MemberLevel(TimestampMixin, Base):
    """会员等级 — e.g. 普通 / 银卡 / 金卡 / 钻石. A member holds the highest-ranked level whose
    threshold they meet: total spend (``customer_trait.total_spend``) of at least ``min_spend``, or
    lifetime points of at least ``min_points``; a level with neither threshold is the entry level."""

    __tablename__ = "member_level"
    __table_args__ = (UniqueConstraint("corp_id", "rank"), UniqueConstraint("corp_id", "name"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(30))
    rank: Mapped[int]
    min_spend: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    min_points: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(String(200))


class Member(TimestampMixin, Base):
    """会员 — a customer enrolled in the programme (one per customer)."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("corp_id", "member_no"),
        Index("ix_member_corp_level", "corp_id", "level_id"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    corp_id: Mapped[int] = corp_fk()
    member_no: Mapped[str] = mapped_column(String(32))
    level_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member_level.id", ondelete="SET NULL"))
    level_changed_at: Mapped[datetime | None]
    joined_at: Mapped[datetime]
    birthday: Mapped[date | None]
    points_balance: Mapped[int] = mapped_column(default=0)
    points_earned_total: Mapped[int] = mapped_column(default=0)

    @property
    def id(self) -> int:
        """The key pages of members are cut by (``kit.pagination`` pages by ``id``)."""
        return self.customer_id


class PointsKind(enum.StrEnum):
    earn = "earn"
    spend = "spend"
    expire = "expire"
    adjust = "adjust"


class PointsEntry(Base):
    """积分流水 — one change of one member's balance. Never updated except ``remaining`` (of lots)."""

    __tablename__ = "points_entry"
    __table_args__ = (
        UniqueConstraint("corp_id", "idempotency_key"),
        Index("ix_points_entry_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_points_entry_corp_lot_expiry", "corp_id", "expires_at"),
        Index("ix_points_entry_order", "order_id"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("member.customer_id", ondelete="CASCADE"))
    kind: Mapped[PointsKind] = mapped_column(Enum(PointsKind, native_enum=False, length=16))
    #: signed: positive for earn and positive adjustments, negative otherwise
    points: Mapped[int]
    #: what caused it: order, journey, broadcast, manual, expiry, coupon …
    source_kind: Mapped[str] = mapped_column(String(32))
    #: the causing object in its own domain's words (a journey node run, an order number …)
    source_ref: Mapped[str | None] = mapped_column(String(128))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer_order.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(160))
    note: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    #: lots only: when the remainder expires (``NULL``: never)
    expires_at: Mapped[datetime | None]
    #: lots only: points not yet spent or expired; 0 for every other entry
    remaining: Mapped[int] = mapped_column(default=0)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class CouponKind(enum.StrEnum):
    #: ``value`` yuan off an order of at least ``threshold``
    amount_off = "amount_off"
    #: pay ``value`` percent (85 = 八五折) of an order of at least ``threshold``
    discount = "discount"
    #: a gift (described by the template's name and description); ``value`` is its worth in yuan
    gift = "gift"


class CouponTemplate(TimestampMixin, Base):
    """券模板 — what a coupon is worth and for how long, and how many may be issued."""

    __tablename__ = "coupon_template"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[CouponKind] = mapped_column(Enum(CouponKind, native_enum=False, length=16))
    value: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    #: minimum order amount for redemption (0: none)
    threshold: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    #: a coupon is valid from issue (or ``valid_from``, if later) for ``valid_days`` days, and never
    #: past ``valid_until``; at least one of ``valid_days`` and ``valid_until`` is set
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None]
    #: how many may be issued in all (``NULL``: unlimited); ``issued_count`` only grows, in SQL
    stock: Mapped[int | None]
    issued_count: Mapped[int] = mapped_column(default=0)
    #: how many one customer may hold over time (``NULL``: unlimited)
    per_customer_limit: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)


class CouponHolding(Base):
    """How many coupons of a template a customer was issued: the counter the per-customer limit is
    enforced on, with one conditional upsert."""

    __tablename__ = "coupon_holding"

    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("coupon_template.id", ondelete="CASCADE"),
                                             primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"),
                                             primary_key=True, autoincrement=False)
    corp_id: Mapped[int] = corp_fk()
    issued_count: Mapped[int] = mapped_column(default=0)


class CouponStatus(enum.StrEnum):
    issued = "issued"
    redeemed = "redeemed"
    expired = "expired"
    void = "void"


class Coupon(TimestampMixin, Base):
    """优惠券 — one coupon issued to one customer, with a unique code."""

    __tablename__ = "coupon"
    __table_args__ = (
        UniqueConstraint("code"),
        UniqueConstraint("corp_id", "idempotency_key"),
        # one coupon per order
        UniqueConstraint("order_id"),
        Index("ix_coupon_customer_status", "customer_id", "status"),
        Index("ix_coupon_template_status", "template_id", "status"),
        Index("ix_coupon_corp_status_until", "corp_id", "status", "valid_until"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("coupon_template.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(24))
    status: Mapped[CouponStatus] = mapped_column(Enum(CouponStatus, native_enum=False, length=16),
                                                 default=CouponStatus.issued)
    issued_at: Mapped[datetime]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    #: journey, broadcast, manual, fission …, and the causing object in its domain's words
    source_kind: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(160))
    redeemed_at: Mapped[datetime | None]
    #: the order it was redeemed against
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer_order.id", ondelete="SET NULL"))
    voided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
