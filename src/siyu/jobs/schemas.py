from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from siyu.models.job import JobStatus


class Job(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    args: dict[str, Any]
    status: JobStatus
    due_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    locked_by: str | None
    lease_until: datetime | None
    created_at: datetime
    finished_at: datetime | None
