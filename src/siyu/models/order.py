"""Orders from stores and e-commerce platforms."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column

#: Order statuses that count as purchases everywhere (traits, value models, segments); refunded and
#: cancelled orders do not.
PURCHASE_STATUSES = ("paid", "shipped", "completed")


class Order(TimestampMixin, Base):
    """订单 — unique per (corp, platform, shop, order number), so re-imports change nothing."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("corp_id", "platform", "shop", "order_no"),
        Index("ix_customer_order_customer_paid", "customer_id", "paid_at"),
        Index("ix_customer_order_corp_paid", "corp_id", "paid_at"),
        Index("ix_customer_order_corp_updated", "corp_id", "updated_at"),
        # "n orders of category X in a window" as an index-only range scan (segments)
        Index("ix_customer_order_corp_category_paid", "corp_id", "category", "paid_at",
              postgresql_include=["customer_id", "status"]),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(64), default="")
    order_no: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("department.id", ondelete="SET NULL"), index=True)
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="paid")
    category: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    item_count: Mapped[int] = mapped_column(default=1)
    paid_at: Mapped[datetime]
    #: amount refunded so far (partial or full); status becomes "refunded" when it reaches amount
    refund_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0, server_default="0")
    #: the buyer as the platform knows them, e.g. ("taobao_buyer", "tb_abc"); links to an identity
    buyer_kind: Mapped[str | None] = mapped_column(String(32))
    buyer_value: Mapped[str | None] = mapped_column(String(128))
    #: receiver phone, normalised (+86 removed, digits only)
    phone: Mapped[str | None] = mapped_column(String(32))
    items: Mapped[list | None] = mapped_column(JSON)
    shipped_at: Mapped[datetime | None]
    #: "import:<id>", "api", "seed", "wecom"
    source: Mapped[str | None] = mapped_column(String(32))


class OrderImport(TimestampMixin, Base):
    """One import of an order file: its preset and column mapping, progress and row-by-row report.
    Rejected rows are written to ``rejects_path`` (a CSV next to the upload) with their reasons."""

    __tablename__ = "order_import"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    platform: Mapped[str] = mapped_column(String(32))
    shop: Mapped[str] = mapped_column(String(64), default="")
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str | None] = mapped_column(String(500))
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total_rows: Mapped[int] = mapped_column(default=0)
    inserted_rows: Mapped[int] = mapped_column(default=0)
    updated_rows: Mapped[int] = mapped_column(default=0)
    unchanged_rows: Mapped[int] = mapped_column(default=0)
    rejected_rows: Mapped[int] = mapped_column(default=0)
    #: the first rejected rows with their reasons: [{"row", "column", "reason_key", "value"}]
    rejects_sample: Mapped[list] = mapped_column(JSON, default=list)
    rejects_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))
