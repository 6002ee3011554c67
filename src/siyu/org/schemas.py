"""Input and output of the organisation API: departments, staff and console users.

Update schemas leave out what is not sent. Sending ``null`` for a field that cannot be empty is
malformed input (422 naming the field), not a request to blank it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.models.org import DepartmentKind, StaffStatus
from siyu.models.user import Role

#: The console languages (``siyu.kit.i18n.LANGUAGES``).
Language = Literal["zh-CN", "en"]


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("must not be null")
    return value


class Department(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    kind: DepartmentKind
    name: str
    path: str
    city: str | None
    wecom_id: int | None


class DepartmentCreate(BaseModel):
    parent_id: int | None = None
    kind: DepartmentKind
    name: str = Field(min_length=1, max_length=200)
    city: str | None = Field(default=None, max_length=64)


class DepartmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    city: str | None = Field(default=None, max_length=64)

    _reject_null = field_validator("name")(_not_null)


class Staff(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    userid: str
    name: str
    mobile: str | None
    department_id: int | None
    status: StaffStatus
    resigned_at: datetime | None


class StaffCreate(BaseModel):
    userid: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    mobile: str | None = Field(default=None, max_length=32)
    department_id: int | None = None


class StaffUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    mobile: str | None = Field(default=None, max_length=32)
    department_id: int | None = None
    status: StaffStatus | None = None

    _reject_null = field_validator("name", "status")(_not_null)


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    department_id: int | None
    staff_id: int | None
    language: str
    is_active: bool
    last_login_at: datetime | None


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    department_id: int | None = None
    staff_id: int | None = None
    language: Language = "zh-CN"


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role | None = None
    department_id: int | None = None
    staff_id: int | None = None
    is_active: bool | None = None
    language: Language | None = None

    _reject_null = field_validator("display_name", "password", "role", "is_active", "language")(_not_null)
