from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.org import DepartmentKind, StaffStatus
from siyu.models.user import Role


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
    language: str = "zh-CN"


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: Role | None = None
    department_id: int | None = None
    staff_id: int | None = None
    is_active: bool | None = None
    language: str | None = None
