"""Durable jobs and the provider outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, id_column


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


class Job(TimestampMixin, Base):
    """A unit of background work. Claimed by a worker for ``lease_until``; a worker that dies loses
    its lease and the job is claimed again. ``key`` makes enqueueing idempotent."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_due", "status", "due_at"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int | None] = mapped_column(BigId, index=True)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16), default=JobStatus.queued
    )
    due_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    last_error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    #: the call may or may not have taken effect; a reconciler asks the provider
    unknown = "unknown"


class OutboxMessage(TimestampMixin, Base):
    """A call to a provider (WeCom, payment, webhook) decided in a transaction, delivered after it.

    The idempotency key is unique: deciding the same call twice yields one row, and the deliverer
    passes the key on to the provider where it supports one.
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int | None] = mapped_column(BigId, index=True)
    provider: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=16), default=OutboxStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
