"""Input and output of the acquisition API: channel codes, statistics, order bindings, group codes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MemberIn(BaseModel):
    staff_id: int
    weight: int = 1
    daily_cap: int | None = None
    backup: bool = False
    #: {"weekdays": [0..6], "start": "09:00", "end": "21:00"} in the corp's time zone
    schedule: dict[str, Any] | None = None


class ChannelCodeCreate(BaseModel):
    name: str
    members: list[MemberIn]
    routing: Literal["round_robin", "random", "weighted"] = "round_robin"
    daily_cap: int = 300
    skip_verify: bool = True
    remark_template: str = ""
    tag_ids: list[int] = Field(default_factory=list)
    channel_tag_id: int | None = None
    welcome_text: str = ""
    welcome_attachments: list[dict[str, Any]] = Field(default_factory=list)
    expires_at: datetime | None = None
    kind: Literal["channel", "package_card"] = "channel"
    platform: str | None = None
    shop: str | None = None
    card_cost: Decimal | None = None


class Member(BaseModel):
    staff_id: int
    userid: str
    name: str
    weight: int
    daily_cap: int
    backup: bool
    schedule: dict[str, Any] | None
    adds_today: int


class ChannelCode(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    state: str
    status: str
    config_id: str | None
    qr_code: str | None
    routing: str
    daily_cap: int
    skip_verify: bool
    remark_template: str
    channel_tag_id: int | None
    tag_ids: list[int]
    welcome_text: str
    welcome_attachments: list[dict[str, Any]]
    expires_at: datetime | None
    rotation: list[str]
    platform: str | None
    shop: str | None
    card_cost: Decimal | None
    created_at: datetime


class ChannelCodeDetail(ChannelCode):
    members: list[Member]


class RetentionOut(BaseModel):
    days: int
    eligible: int
    retained: int
    rate: float | None


class DayCount(BaseModel):
    day: date
    adds: int


class StaffCount(BaseModel):
    staff_id: int
    name: str
    adds: int


class CodeStatistics(BaseModel):
    code_id: int
    total_adds: int
    adds_per_day: list[DayCount]
    adds_per_staff: list[StaffCount]
    retention: list[RetentionOut]
    orders: int
    sales: Decimal


class PlatformFunnel(BaseModel):
    platform: str
    cards: list[str]
    added: int
    shipped: int
    add_rate: float | None
    card_cost: Decimal
    cost_per_added: Decimal | None


class OrderBindingCreate(BaseModel):
    customer_id: int
    order_no: str
    phone_tail: str
    platform: str | None = None
    via: Literal["chat", "sidebar"] = "sidebar"


class OrderBindingFromMessage(BaseModel):
    customer_id: int
    text: str = Field(max_length=4000)


class OrderBinding(BaseModel):
    id: int
    order_id: int
    order_no: str
    platform: str
    customer_id: int
    via: str
    bound_at: datetime
    red_packet_id: int | None
    reward_refused: str | None
    created: bool


class BindingLinkCreate(BaseModel):
    customer_id: int


class BindingLink(BaseModel):
    url: str
    expires_at: datetime


class GroupCodeCreate(BaseModel):
    name: str
    chat_ids: list[str]
    room_base_name: str
    room_base_id: int = Field(default=1, ge=1)
    tier: Literal["vip", "welfare", "all"] = "all"
    min_spend: Decimal = Decimal(0)
    welcome_text: str = Field(default="", max_length=4000)


class GroupCode(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    state: str
    status: str
    config_id: str | None
    qr_code: str | None
    chat_ids: list[str]
    room_base_name: str
    room_base_id: int
    tier: str
    min_spend: Decimal
    welcome_text: str
    welcome_template_id: str | None
