"""The tenant."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import id_column


class Corp(TimestampMixin, Base):
    """企业/租户 — a brand using siyu. ``slug`` is the stable handle used in URLs and the CLI."""

    __tablename__ = "corp"

    id: Mapped[int] = id_column()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: WeCom corp id (``ww…``); unique when set.
    wecom_corp_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
