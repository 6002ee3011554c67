"""Input and output of the tag API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TagKind = Literal["manual", "channel", "rule"]


class TagDraft(BaseModel):
    """A tag created with its group."""

    name: str = Field(min_length=1, max_length=30)
    order: int = 0
    kind: TagKind = "manual"
    rule: dict[str, Any] | None = None

    @field_validator("rule")
    @classmethod
    def _empty_rule_is_none(cls, rule: dict[str, Any] | None) -> dict[str, Any] | None:
        return rule or None


class TagGroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    order: int = 0
    #: mirror the group and its tags to WeCom's corp tags (the corp must be connected to WeCom)
    sync_to_wecom: bool = False
    tags: list[TagDraft] = Field(default_factory=list, max_length=100)


class TagGroupUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=30)
    order: int | None = None


class TagCreate(TagDraft):
    group_id: int


class TagUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=30)
    order: int | None = None
    #: a new condition (rule tags only)
    rule: dict[str, Any] | None = None

    @field_validator("rule")
    @classmethod
    def _empty_rule_is_none(cls, rule: dict[str, Any] | None) -> dict[str, Any] | None:
        return rule or None


class Tag(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    name: str
    order: int
    kind: str
    #: WeCom's id once the tag exists there
    wecom_tag_id: str | None
    #: the condition of a rule tag
    rule: dict[str, Any] | None = None


class TagGroup(BaseModel):
    id: int
    name: str
    order: int
    wecom_synced: bool
    #: WeCom's id once the group exists there
    wecom_group_id: str | None
    tags: list[Tag]


class CustomerTag(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tag_id: int
    source: str
    tagged_at: datetime


class TagHistoryEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tag_id: int
    action: str
    source: str
    staff_id: int | None
    user_id: int | None
    at: datetime
