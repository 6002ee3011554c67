"""Input and output of the order API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from siyu.identity.service import normalise_identity

OrderStatus = Literal["paid", "shipped", "completed", "refunded", "cancelled"]
BuyerKind = Literal["taobao_buyer", "jd_pin", "youzan_buyer", "douyin_buyer", "member_no", "unionid", "openid",
                    "user_id"]
#: orders per request
MAX_ORDERS = 500


class OrderIn(BaseModel):
    """One order as a till, the mini program or a shop system sends it."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="pos, miniprogram, taobao, jd …")
    shop: str = Field("", max_length=64, description="Blank POS shop: the store code")
    order_no: str = Field(min_length=1, max_length=64)
    status: OrderStatus = "paid"
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    refund_amount: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    paid_at: AwareDatetime
    shipped_at: AwareDatetime | None = None
    category: str | None = Field(None, max_length=64)
    item_count: int = Field(1, ge=1, le=100_000)
    items: list[dict[str, Any]] | None = Field(None, max_length=200)
    store_id: int | None = None
    store_code: str | None = Field(None, min_length=1, max_length=64,
                                   description="The store's name or WeCom department number")
    staff_id: int | None = None
    staff_userid: str | None = Field(None, min_length=1, max_length=64)
    buyer_kind: BuyerKind | None = None
    buyer_value: str | None = Field(None, min_length=1, max_length=128)
    phone: str | None = Field(None, max_length=32, description="Mainland mobile; +86, spaces and dashes allowed")
    member_no: str | None = Field(None, min_length=1, max_length=128)
    unionid: str | None = Field(None, min_length=1, max_length=128)
    name: str | None = Field(None, max_length=100)

    @field_validator("refund_amount")
    @classmethod
    def _refund_within_amount(cls, refund: Decimal, info: ValidationInfo) -> Decimal:
        amount = info.data.get("amount")
        if amount is not None and refund > amount:
            raise ValueError("refund_amount exceeds amount")
        return refund

    @field_validator("phone")
    @classmethod
    def _mobile(cls, phone: str | None) -> str | None:
        if phone is not None and normalise_identity("phone", phone) is None:
            raise ValueError("not a mainland mobile number")
        return phone

    @model_validator(mode="after")
    def _buyer_pair(self) -> OrderIn:
        if (self.buyer_kind is None) != (self.buyer_value is None):
            raise ValueError("buyer_kind and buyer_value go together")
        return self


class OrderSubmission(BaseModel):
    """``{"orders": [...]}`` with 1 to 500 orders; a bare order object or a bare list is accepted too."""

    model_config = ConfigDict(extra="forbid")

    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_ORDERS)

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"orders": data}
        if isinstance(data, dict) and "orders" not in data:
            return {"orders": [data]}
        return data


class OrderOutcome(BaseModel):
    id: int
    platform: str
    shop: str
    order_no: str
    customer_id: int | None
    outcome: Literal["inserted", "updated", "unchanged"]


class OrderSubmissionResult(BaseModel):
    inserted: int
    updated: int
    unchanged: int
    orders: list[OrderOutcome]


class OrderRecord(BaseModel):
    """A stored order."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    shop: str
    order_no: str
    customer_id: int | None
    store_id: int | None
    staff_id: int | None
    status: str
    category: str | None
    amount: Decimal
    refund_amount: Decimal
    item_count: int
    paid_at: datetime
    shipped_at: datetime | None
    buyer_kind: str | None
    buyer_value: str | None
    phone: str | None
    items: list | None
    source: str | None
    created_at: datetime
    updated_at: datetime


class RejectedValue(BaseModel):
    """One problem found in a file: row (as the spreadsheet numbers it), column header, reason."""

    row: int
    column: str
    reason_key: str
    reason: str
    value: str


class OrderImportReport(BaseModel):
    """An import's state and report; ``rejects_sample`` holds the first problems, the rejects file
    (``GET …/rejects``) every rejected row."""

    id: int
    platform: str
    shop: str
    filename: str
    status: Literal["queued", "running", "done", "failed"]
    mapping: dict[str, str]
    total_rows: int
    inserted_rows: int
    updated_rows: int
    unchanged_rows: int
    rejected_rows: int
    rejects_sample: list[RejectedValue]
    error: str | None
    has_rejects: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
