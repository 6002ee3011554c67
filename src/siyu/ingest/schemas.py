"""Input and output of the ingest sources API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SourceKind(StrEnum):
    """Where a source's events come from (informative: every kind speaks the same protocol)."""

    http = "http"
    web = "web"
    app = "app"
    miniprogram = "miniprogram"
    server = "server"
    pos = "pos"


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: SourceKind = SourceKind.http


class SourceUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None


class Source(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    #: the first characters of the write key, to tell keys apart (the key itself is never shown again)
    write_key_prefix: str
    enabled: bool
    last_event_at: datetime | None
    created_at: datetime


class SourceWithKey(Source):
    """A source just created (or its key just rotated): ``write_key`` is shown this once."""

    write_key: str


class SourceEvent(BaseModel):
    """An event as stored (after expansion)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int | None
    customer_id: int | None
    message_id: str
    type: str
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    timestamp: datetime
    received_at: datetime


class SourceBatch(BaseModel):
    """A request as received: its status tells whether it was expanded yet."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    endpoint: str
    event_count: int
    status: str
    error: str | None
    received_at: datetime
    processed_at: datetime | None
