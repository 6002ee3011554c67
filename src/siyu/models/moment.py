"""Moments (客户朋友圈) tasks: what to post, by whom, visible to which customer tags, and the results."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import corp_fk, id_column


class MomentStatus(enum.StrEnum):
    #: the outbox is creating it in WeCom
    creating = "creating"
    #: created; staff members publish it in their client
    publishing = "publishing"
    failed = "failed"
    cancelled = "cancelled"


class MomentTask(TimestampMixin, Base):
    """One moments task (``add_moment_task``): posted by ``staff_ids`` (empty: every member), seen by
    their customers carrying one of ``tag_ids`` (empty: all of them)."""

    __tablename__ = "moment_task"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    text: Mapped[str] = mapped_column(Text, default="")
    material_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    staff_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    tag_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[MomentStatus] = mapped_column(Enum(MomentStatus, native_enum=False, length=16))
    jobid: Mapped[str | None] = mapped_column(String(64))
    moment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: results as last synced: senders who published, customers who could see it, interactions
    published_staff: Mapped[int] = mapped_column(default=0)
    visible_customers: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int] = mapped_column(default=0)
    synced_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
