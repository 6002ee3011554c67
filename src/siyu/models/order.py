"""Orders from stores and e-commerce platforms."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class Order(TimestampMixin, Base):
    """订单 — unique per (corp, platform, shop, order number), so re-imports change nothing."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("corp_id", "platform", "shop", "order_no"),
        Index("ix_customer_order_customer_paid", "customer_id", "paid_at"),
        Index("ix_customer_order_corp_paid", "corp_id", "paid_at"),
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
