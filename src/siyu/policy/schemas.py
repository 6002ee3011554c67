"""REST bodies of the contact policy."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from siyu.models.policy import TouchChannel, TouchPriority


class PolicyIn(BaseModel):
    wecom_quota_rule: str = "days_in_month"
    marketing_cap: int = 2
    marketing_period: str = "week"
    moments_per_day: int = 3
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    opt_out_keywords: list[str] = Field(default_factory=lambda: ["退订", "TD"])
    blacklist_tag_id: int | None = None
    deferral_days: int = 7


class PolicyOut(PolicyIn):
    timezone: str


class TouchRequestIn(BaseModel):
    customer_id: int
    channel: TouchChannel
    priority: TouchPriority
    staff_id: int | None = None
    at: datetime | None = None


class DecisionsIn(BaseModel):
    requests: list[TouchRequestIn] = Field(max_length=10000)


class DecisionOut(BaseModel):
    customer_id: int
    status: str
    rule: str | None
    deferred_until: datetime | None
    expires_at: datetime | None
