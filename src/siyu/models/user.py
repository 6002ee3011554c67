"""Console users, their API tokens and login throttling."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class Role(enum.StrEnum):
    admin = "admin"
    hq_operator = "hq_operator"
    store_manager = "store_manager"
    staff = "staff"
    auditor = "auditor"


class User(TimestampMixin, Base):
    """A person who logs into the console or calls the API.

    Data scope follows the role: admin, hq_operator and auditor see the whole corp; a store manager
    sees the subtree of ``department_id``; a staff user sees the customers of ``staff_id``.
    """

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("corp_id", "username"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    username: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=32))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("department.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Bumped to invalidate every session of this user (password change, deactivation).
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]


class ApiToken(TimestampMixin, Base):
    """A REST API token. Only the SHA-256 of the secret is stored; the secret is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed console logins, counted per username and per client address for throttling."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = id_column()
    username: Mapped[str] = mapped_column(String(200), index=True)
    client_address: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(index=True)
