"""REST bodies of broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Audience(BaseModel):
    tag_ids: list[int] = Field(default_factory=list)
    tag_match: str = "any"
    store_ids: list[int] = Field(default_factory=list)
    staff_ids: list[int] = Field(default_factory=list)
    segment_id: int | None = None
    #: group broadcasts (``kind`` groups): chosen groups, every group of these owners (staff ids);
    #: ``store_ids`` then means the groups whose owner belongs to these stores
    group_chat_ids: list[int] = Field(default_factory=list)
    owner_staff_ids: list[int] = Field(default_factory=list)


class VariantIn(BaseModel):
    text: str = ""
    material_ids: list[int] = Field(default_factory=list)
    weight: int = 1


class BroadcastCreate(BaseModel):
    name: str
    #: to customers (1:1, through the serving staff member) or to group chats (through their owners)
    kind: Literal["customers", "groups"] = "customers"
    audience: Audience = Field(default_factory=Audience)
    variants: list[VariantIn] = Field(min_length=1)
    priority: str = "marketing"
    holdout_percent: int = 0
    scheduled_at: datetime | None = None


class ScheduleIn(BaseModel):
    scheduled_at: datetime | None = None


class BroadcastOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    priority: str
    status: str
    audience: dict
    holdout_percent: int
    scheduled_at: datetime | None
    dispatched_at: datetime | None
    cancelled_at: datetime | None


class RuleCount(BaseModel):
    status: str
    rule: str
    count: int


class GroupPreviewOut(BaseModel):
    """One group of a group broadcast's preview, under its owner (the sender)."""

    group_chat_id: int
    name: str
    staff_id: int
    status: str


class PreviewOut(BaseModel):
    audience: int
    eligible: int
    holdout: int
    by_rule: list[RuleCount]
    by_staff: dict[int, int]
    by_variant: dict[int, int]
    #: group broadcasts: every group with an owner, by owner
    groups: list[GroupPreviewOut] = Field(default_factory=list)


class VariantResultOut(BaseModel):
    label: str
    recipients: int
    delivered: int
    buyers: int
    revenue: str
    conversion: float
    replies: int | None


class ReportOut(BaseModel):
    audience: int
    sent: int
    tasks: int
    tasks_confirmed: int
    delivered: int
    blocked_by_quota: int
    deferred: int
    blocked: int
    expired: int
    failed: int
    by_rule: list[RuleCount]
    variants: list[VariantResultOut]
    holdout: VariantResultOut
    touches_this_week: dict[int, int]
