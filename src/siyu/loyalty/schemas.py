"""Input and output of the loyalty API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CouponKindName = Literal["amount_off", "discount", "gift"]
CouponStatusName = Literal["issued", "redeemed", "expired", "void"]
Money = Field(ge=0, max_digits=12, decimal_places=2)


class LoyaltySettings(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    points_per_yuan: Decimal
    points_validity_months: int
    member_no_prefix: str


class LoyaltySettingsUpdate(BaseModel):
    points_per_yuan: Decimal | None = Field(None, ge=0, le=1000, max_digits=8, decimal_places=2)
    #: 0: points never expire
    points_validity_months: int | None = Field(None, ge=0, le=120)
    member_no_prefix: str | None = Field(None, min_length=1, max_length=8, pattern=r"^[A-Za-z0-9_-]+$")


class MemberLevelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    #: higher is better; unique per corp
    rank: int = Field(ge=0, le=1000)
    min_spend: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    min_points: int | None = Field(None, ge=0)
    description: str | None = Field(None, max_length=200)


class MemberLevelUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=30)
    rank: int | None = Field(None, ge=0, le=1000)
    min_spend: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    min_points: int | None = Field(None, ge=0)
    description: str | None = Field(None, max_length=200)


class MemberLevel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    rank: int
    min_spend: Decimal | None
    min_points: int | None
    description: str | None
    members: int = 0


class LevelsRecomputeQueued(BaseModel):
    job_id: int | None


class MemberEnrol(BaseModel):
    customer_id: int
    birthday: date | None = None


class MemberUpdate(BaseModel):
    birthday: date | None = None


class LoyaltyMember(BaseModel):
    customer_id: int
    customer_name: str | None
    member_no: str
    level_id: int | None
    level_name: str | None
    joined_at: datetime
    birthday: date | None
    points_balance: int
    points_earned_total: int


class PointsAdjustment(BaseModel):
    #: signed; a negative adjustment spends the oldest points first and cannot go below zero
    points: int = Field(ge=-1_000_000, le=1_000_000)
    note: str | None = Field(None, max_length=200)
    #: makes a retried request change the balance once
    idempotency_key: str = Field(min_length=1, max_length=120)


class PointsEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    kind: str
    points: int
    remaining: int
    source_kind: str
    source_ref: str | None
    order_id: int | None
    note: str | None
    occurred_at: datetime
    expires_at: datetime | None


class ExpiringPoints(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    points: int
    first_expires_at: datetime


class CouponTemplateCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    description: str | None = Field(None, max_length=500)
    kind: CouponKindName
    #: yuan off (amount_off), percent paid (discount: 85 = 八五折) or the gift's worth (gift)
    value: Decimal = Money
    #: minimum order amount to redeem
    threshold: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    #: days a coupon is valid from issue (never past valid_until)
    valid_days: int | None = Field(None, ge=1, le=3650)
    #: coupons that may be issued in all (none: unlimited)
    stock: int | None = Field(None, ge=1)
    per_customer_limit: int | None = Field(None, ge=1)
    active: bool = True


class CouponTemplateUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=60)
    description: str | None = Field(None, max_length=500)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = Field(None, ge=1, le=3650)
    stock: int | None = Field(None, ge=1)
    per_customer_limit: int | None = Field(None, ge=1)
    active: bool | None = None


class CouponTemplate(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    kind: str
    value: Decimal
    threshold: Decimal
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    stock: int | None
    issued_count: int
    per_customer_limit: int | None
    active: bool
    #: coupons of the template by status
    counts: dict[str, int] = Field(default_factory=dict)


class CouponIssue(BaseModel):
    template_id: int
    customer_id: int
    #: makes a retried request issue once
    idempotency_key: str = Field(min_length=1, max_length=120)
    note: str | None = Field(None, max_length=500)


class CouponRedeem(BaseModel):
    order_id: int


class Coupon(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    template_id: int
    customer_id: int
    code: str
    status: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    source_kind: str
    source_ref: str | None
    redeemed_at: datetime | None
    order_id: int | None
