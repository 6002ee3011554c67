from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class Customer(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    gender: str | None
    phone: str | None
    city: str | None
    home_store_id: int | None
    first_seen_at: datetime | None
    created_at: datetime


class Order(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    shop: str
    order_no: str
    store_id: int | None
    staff_id: int | None
    status: str
    category: str | None
    amount: Decimal
    paid_at: datetime
