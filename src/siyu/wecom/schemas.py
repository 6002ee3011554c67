"""Input and output of the WeCom settings API. Secrets are write-only: responses say only whether
each one is set."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.models.wecom import CallbackStatus, SyncStatus

QuotaRule = Literal["daily", "weekly7", "days_in_month"]


class ConnectionUpdate(BaseModel):
    """PUT /wecom/connection. A secret left out (or empty) keeps the stored one."""

    model_config = ConfigDict(extra="forbid")

    wecom_corp_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    agent_id: int | None = Field(default=None, ge=0)
    contact_secret: str | None = Field(default=None, max_length=256)
    address_book_secret: str | None = Field(default=None, max_length=256)
    #: WeCom: up to 32 letters and digits
    callback_token: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,32}$")
    #: WeCom: exactly 43 letters and digits
    encoding_aes_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{43}$")
    api_base: str | None = Field(default=None, max_length=255, pattern=r"^https?://\S+$")
    broadcast_quota_rule: QuotaRule | None = None

    @field_validator("contact_secret", "address_book_secret", "callback_token", "encoding_aes_key",
                     "api_base", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value


class Connection(BaseModel):
    corp_id: int
    wecom_corp_id: str
    agent_id: int | None
    api_base: str | None
    broadcast_quota_rule: str
    contact_secret_set: bool
    address_book_secret_set: bool
    callback_token_set: bool
    encoding_aes_key_set: bool
    #: the URL to enter in WeCom's admin console
    callback_url: str
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str | None
    updated_at: datetime


class ConnectionTestResult(BaseModel):
    ok: bool
    message: str
    tested_at: datetime


class Callback(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: CallbackStatus
    event: str | None
    change_type: str | None
    reason: str | None
    remote_address: str | None
    received_at: datetime
    handled_at: datetime | None
    replay_count: int
    payload_xml: str | None


class SyncRun(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: SyncStatus
    phase: str | None
    counts: dict[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None
