"""REST bodies of moments tasks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MomentCreate(BaseModel):
    text: str = ""
    material_ids: list[int] = Field(default_factory=list)
    #: posting staff (empty: every member) and customer tags it is visible to (empty: all customers)
    staff_ids: list[int] = Field(default_factory=list)
    tag_ids: list[int] = Field(default_factory=list)


class MomentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    material_ids: list[int]
    staff_ids: list[int]
    tag_ids: list[int]
    status: str
    published_staff: int
    visible_customers: int
    likes: int
    comments: int
    synced_at: datetime | None
    created_at: datetime
