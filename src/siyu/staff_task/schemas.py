"""Input and output of the staff task API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

StaffTaskKindName = Literal["send_message", "follow_up", "call_back", "custom"]
StaffTaskStatusName = Literal["open", "done", "expired", "cancelled"]
#: tasks per bulk request
MAX_BULK = 1000


class StaffTaskCreate(BaseModel):
    staff_id: int
    customer_id: int | None = None
    kind: StaffTaskKindName
    title: str = Field(min_length=1, max_length=200)
    content: str | None = Field(None, max_length=4000)
    due_at: AwareDatetime | None = None
    #: 金币 for the staff member when done
    coins: int = Field(0, ge=0, le=100_000)
    #: makes a retried request create the task once
    idempotency_key: str | None = Field(None, min_length=1, max_length=120)


class StaffTaskBulkCreate(BaseModel):
    tasks: list[StaffTaskCreate] = Field(max_length=MAX_BULK)


class TasksCreated(BaseModel):
    created: int


class StaffTask(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    staff_id: int
    staff_name: str | None = None
    customer_id: int | None
    customer_name: str | None = None
    kind: str
    title: str
    content: str | None
    due_at: datetime | None
    status: str
    source_kind: str
    source_ref: str | None
    coins: int
    completed_at: datetime | None
    created_at: datetime


class CompletionRate(BaseModel):
    #: set when grouped by staff member
    staff_id: int | None = None
    #: set when grouped by store (None: staff without a department)
    store_id: int | None = None
    name: str | None
    total: int
    done: int
    expired: int
    open: int
    coins: int
    #: done ÷ (done + expired)
    rate: float
