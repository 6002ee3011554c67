"""Input and output of the traits API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CustomerTraits(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    order_count: int
    total_spend: Decimal
    average_spend: Decimal
    refund_total: Decimal
    favourite_category: str | None
    favourite_store_id: int | None
    channels: list[str]
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    #: stable code (important_value …) and its label in the caller's language
    rfm_class: str | None
    rfm_class_label: str | None = None
    lifecycle_stage: str | None
    lifecycle_stage_label: str | None = None
    probability_alive: float | None
    expected_purchases_90d: float | None
    expected_average_spend: Decimal | None
    predicted_value_90d: Decimal | None
    updated_at: datetime
    scores_refreshed_at: datetime | None


class TraitSettings(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    new_days: int
    active_days: int
    lost_days: int
    rfm_thresholds: dict[str, Any]
    rfm_refreshed_at: datetime | None
    value_model: dict[str, Any]
    value_model_fitted_at: datetime | None


class TraitSettingsUpdate(BaseModel):
    new_days: int = Field(ge=1, le=3650)
    active_days: int = Field(ge=1, le=3650)
    lost_days: int = Field(ge=2, le=3650)


class RefreshQueued(BaseModel):
    #: ids of the jobs enqueued (R/F/M and lifecycle refresh, value-model refit)
    job_ids: list[int]
