from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.user import Role


class Me(BaseModel):
    user_id: int
    corp_id: int
    username: str
    display_name: str
    role: Role
    department_id: int | None
    staff_id: int | None
    language: str


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    #: shown once; only its hash is stored
    token: str
