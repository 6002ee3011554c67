"""Per-customer traits maintained as data arrives, and the corp's trait settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base
from siyu.models.base import BigId, corp_fk


class CustomerTrait(Base):
    """One row per customer: order aggregates (updated incrementally with each order), R/F/M
    scores and lifecycle stage (refreshed on a schedule against corp-wide quantiles) and the
    predicted value of the BG/NBD + Gamma-Gamma models (refitted per corp)."""

    __tablename__ = "customer_trait"
    __table_args__ = (
        Index("ix_customer_trait_corp_stage", "corp_id", "lifecycle_stage"),
        Index("ix_customer_trait_corp_rfm", "corp_id", "rfm_class"),
        Index("ix_customer_trait_corp_last_order", "corp_id", "last_order_at"),
        Index("ix_customer_trait_corp_updated", "corp_id", "updated_at"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    corp_id: Mapped[int] = corp_fk()
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    order_count: Mapped[int] = mapped_column(default=0)
    total_spend: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    average_spend: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    refund_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    favourite_category: Mapped[str | None] = mapped_column(String(64))
    favourite_store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("department.id", ondelete="SET NULL"))
    #: platforms bought on, e.g. ["pos", "taobao"]
    channels: Mapped[list] = mapped_column(JSON, default=list)
    recency_score: Mapped[int | None]
    frequency_score: Mapped[int | None]
    monetary_score: Mapped[int | None]
    #: RFM eight-class label (重要价值客户 …) as a stable code, e.g. "important_value"
    rfm_class: Mapped[str | None] = mapped_column(String(32))
    #: new / active / dormant / lost (or "prospect" before a first order)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16))
    probability_alive: Mapped[float | None]
    expected_purchases_90d: Mapped[float | None]
    expected_average_spend: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    predicted_value_90d: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    updated_at: Mapped[datetime]
    scores_refreshed_at: Mapped[datetime | None]


class CorpTraitSettings(Base):
    """Lifecycle thresholds (days since last order) and the R/F/M quantile cut points."""

    __tablename__ = "corp_trait_settings"

    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"), primary_key=True)
    #: a customer whose first order is younger than this is "new"
    new_days: Mapped[int] = mapped_column(default=30)
    #: last order within this many days: "active"; beyond it "dormant"; beyond lost_days "lost"
    active_days: Mapped[int] = mapped_column(default=90)
    lost_days: Mapped[int] = mapped_column(default=365)
    #: {"recency": [...], "frequency": [...], "monetary": [...]} cut points, refreshed on a schedule
    rfm_thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    rfm_refreshed_at: Mapped[datetime | None]
    #: fitted model parameters and the fit's date: {"bgnbd": {...}, "gamma_gamma": {...}}
    value_model: Mapped[dict] = mapped_column(JSON, default=dict)
    value_model_fitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
