"""Segment-compatible ingest: sources with write keys, the durable raw batches, and events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class IngestSource(TimestampMixin, Base):
    """A source of events (a website, an app, a mini-program, a POS) with its write key.
    Only the SHA-256 of the write key is stored; the key is shown once when created."""

    __tablename__ = "ingest_source"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32), default="http")
    write_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    write_key_prefix: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)
    last_event_at: Mapped[datetime | None]


class IngestBatch(Base):
    """The request body as received (minus a ``writeKey`` field, so no secret is stored), committed
    before the 200: the event is durable then. A job expands it into ``event`` rows (deduplicated on
    messageId) and resolves identities."""

    __tablename__ = "ingest_batch"
    __table_args__ = (Index("ix_ingest_batch_status", "status", "id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("ingest_source.id", ondelete="CASCADE"))
    #: "batch", "track", "identify", "page", "screen", "alias", "group"
    endpoint: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    event_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class Event(Base):
    """事件 — one Segment-spec call (track / identify / page / screen / group / alias)."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("corp_id", "message_id"),
        Index("ix_event_customer_time", "customer_id", "timestamp"),
        Index("ix_event_corp_name_time", "corp_id", "name", "timestamp"),
        Index("ix_event_corp_received", "corp_id", "received_at"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    source_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ingest_source.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="SET NULL"))
    message_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    #: the track event name, the page/screen name, or the type for identify/group/alias
    name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(128))
    anonymous_id: Mapped[str | None] = mapped_column(String(128))
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    traits: Mapped[dict] = mapped_column(JSON, default=dict)
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    timestamp: Mapped[datetime]
    received_at: Mapped[datetime]
