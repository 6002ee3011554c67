"""Input and output of the red-packet API (amounts in fen, 分)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Budget(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    corp_daily_amount: int
    corp_daily_count: int
    staff_daily_amount: int
    staff_daily_count: int
    customer_amount: int
    customer_count: int
    binding_reward: int
    mch_id: str | None
    pay_api_base: str | None
    merchant_key_set: bool = False


class BudgetUpdate(BaseModel):
    corp_daily_amount: int | None = Field(default=None, ge=0)
    corp_daily_count: int | None = Field(default=None, ge=0)
    staff_daily_amount: int | None = Field(default=None, ge=0)
    staff_daily_count: int | None = Field(default=None, ge=0)
    customer_amount: int | None = Field(default=None, ge=0)
    customer_count: int | None = Field(default=None, ge=0)
    binding_reward: int | None = Field(default=None, ge=0)
    mch_id: str | None = Field(default=None, max_length=32)
    mch_key: str | None = Field(default=None, max_length=64)
    pay_api_base: str | None = Field(default=None, max_length=500)


class RedPacket(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int | None
    staff_id: int | None
    order_id: int | None
    campaign: str | None
    reason_key: str
    amount: int
    bill_no: str
    status: str
    payment_ref: str | None
    failure: str | None
    paid_at: datetime | None
    created_at: datetime
