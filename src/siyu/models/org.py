"""Organisation: the department tree and staff (WeCom members)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class DepartmentKind(enum.StrEnum):
    hq = "hq"
    branch = "branch"
    store = "store"


class Department(TimestampMixin, Base):
    """组织架构 — hq / branch / store. ``path`` is the materialised ancestry (``/1/4/9/``) so a
    subtree is one indexed prefix match on both databases."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("corp_id", "wecom_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("department.id", ondelete="CASCADE"))
    kind: Mapped[DepartmentKind] = mapped_column(Enum(DepartmentKind, native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(512), default="/", index=True)
    #: The department id in WeCom's address book, when synced.
    wecom_id: Mapped[int | None]
    city: Mapped[str | None] = mapped_column(String(64))


class StaffStatus(enum.StrEnum):
    active = "active"
    resigned = "resigned"


class Staff(TimestampMixin, Base):
    """员工/导购 — a WeCom member who serves customers."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("corp_id", "userid"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    userid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    mobile: Mapped[str | None] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[StaffStatus] = mapped_column(
        Enum(StaffStatus, native_enum=False, length=16), default=StaffStatus.active
    )
    resigned_at: Mapped[datetime | None]
