"""WeCom connection per corp, the shared access-token cache, the callback inbox and sync runs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class WeComConnection(TimestampMixin, Base):
    """How siyu reaches one corp's WeCom. Secrets are encrypted at rest (kit.security) and are never
    returned by the API or shown in the console once saved."""

    __tablename__ = "wecom_connection"
    __table_args__ = (UniqueConstraint("corp_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    wecom_corp_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: 客户联系 secret (externalcontact APIs)
    contact_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    #: 通讯录 secret (address book); falls back to the contact secret when absent
    address_book_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[int | None]
    callback_token_encrypted: Mapped[str | None] = mapped_column(Text)
    encoding_aes_key_encrypted: Mapped[str | None] = mapped_column(Text)
    #: Overrides SIYU_WECOM_API_BASE for this corp (the emulator in the demo)
    api_base: Mapped[str | None] = mapped_column(String(255))
    #: WeCom's per-customer mass-message quota rule as set in the corp's admin console
    broadcast_quota_rule: Mapped[str] = mapped_column(String(32), default="daily")
    last_test_at: Mapped[datetime | None]
    last_test_ok: Mapped[bool | None]
    last_test_message: Mapped[str | None] = mapped_column(Text)


class WeComAccessToken(Base):
    """Access tokens cached in the database so every process shares them (one per secret)."""

    __tablename__ = "wecom_access_token"
    __table_args__ = (UniqueConstraint("corp_id", "secret_fingerprint"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    #: SHA-256 of the secret: a new secret gets a new token row
    secret_fingerprint: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    fetched_at: Mapped[datetime]


class CallbackStatus(enum.StrEnum):
    received = "received"
    handled = "handled"
    failed = "failed"
    #: refused: bad signature, undecryptable, wrong receive id, stale timestamp
    rejected = "rejected"
    #: a second delivery of an event already in the inbox
    duplicate = "duplicate"


class WeComCallback(TimestampMixin, Base):
    """The callback inbox and log. ``event_key`` is unique per event, so a duplicate delivery is
    stored once and handled once; rejected and duplicate deliveries are logged with a NULL key."""

    __tablename__ = "wecom_callback"
    __table_args__ = (Index("ix_wecom_callback_corp_received", "corp_id", "received_at"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"))
    event_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[CallbackStatus] = mapped_column(Enum(CallbackStatus, native_enum=False, length=16))
    event: Mapped[str | None] = mapped_column(String(64))
    change_type: Mapped[str | None] = mapped_column(String(64))
    #: the decrypted XML (absent when rejected before decryption)
    payload_xml: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    remote_address: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    replay_count: Mapped[int] = mapped_column(default=0)


class SyncStatus(enum.StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


class WeComSyncRun(TimestampMixin, Base):
    """One full or incremental sync. ``checkpoint`` holds the phase and cursors so a crashed sync
    resumes where it stopped."""

    __tablename__ = "wecom_sync_run"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[SyncStatus] = mapped_column(Enum(SyncStatus, native_enum=False, length=16))
    phase: Mapped[str | None] = mapped_column(String(32))
    checkpoint: Mapped[dict] = mapped_column(JSON, default=dict)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
