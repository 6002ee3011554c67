"""Input and output of the segment API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.segment.presets import PRESET_KEYS

SegmentKind = Literal["static", "dynamic"]


def _empty_is_none(definition: dict[str, Any] | None) -> dict[str, Any] | None:
    """An empty object (what a form without conditions posts) means "no definition given"."""
    return definition or None
PresetKey = Literal[PRESET_KEYS]  # type: ignore[valid-type]


class SegmentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    kind: SegmentKind = "dynamic"
    #: the segment language (``{"version": 1, "condition": {...}}``); required for dynamic segments
    definition: dict[str, Any] | None = None

    _definition = field_validator("definition")(_empty_is_none)


class SegmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    #: a new definition (dynamic segments); omitted or empty: unchanged
    definition: dict[str, Any] | None = None

    _definition = field_validator("definition")(_empty_is_none)


class SegmentFromPreset(BaseModel):
    preset: PresetKey
    #: defaults to the preset's name in the caller's language
    name: str | None = Field(default=None, min_length=1, max_length=100)


class SnapshotCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class Preview(BaseModel):
    #: the definition to preview; empty: no condition yet, i.e. every customer of the corp
    definition: dict[str, Any] = Field(default_factory=dict)
    sample_size: int = Field(default=20, ge=0, le=100)


class Segment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    kind: SegmentKind
    definition: dict[str, Any] | None
    preset: str | None
    member_count: int
    refreshed_at: datetime | None
    full_refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SegmentCustomer(BaseModel):
    customer_id: int
    name: str | None
    city: str | None


class SegmentPreview(BaseModel):
    count: int
    sample: list[SegmentCustomer]
    #: how many customers each condition matches on its own, by node path
    conditions: dict[str, int]


class SegmentCount(BaseModel):
    count: int


class SegmentMember(BaseModel):
    customer_id: int
    name: str | None
    city: str | None
    entered_at: datetime | None


class SegmentCheck(BaseModel):
    customer_id: int
    #: in the maintained membership (as of the last refresh)
    member: bool
    #: matches the definition now (always equal to ``member`` for static segments)
    matches: bool
    #: per-condition true/false (dynamic segments): {"path", "kind", "matched", "children"}
    explanation: dict[str, Any] | None


class RefreshOutcome(BaseModel):
    full: bool
    entered: int
    exited: int
    member_count: int


class UploadRow(BaseModel):
    row: int
    value: str
    #: added / already / not_found / invalid / duplicate
    outcome: str
    message: str


class UploadReport(BaseModel):
    total_rows: int
    added: int
    already: int
    rejected: int
    rows: list[UploadRow]


class PresetOut(BaseModel):
    key: str
    name: str
    description: str
    definition: dict[str, Any]
