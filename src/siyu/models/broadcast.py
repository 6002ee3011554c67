"""Broadcasts (群发): the audience, variants, one row per recipient and one WeCom task per sender."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column
from siyu.models.policy import TouchPriority, TouchRule


class BroadcastKind(enum.StrEnum):
    customers = "customers"
    groups = "groups"


class BroadcastStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    done = "done"
    cancelled = "cancelled"


class Broadcast(TimestampMixin, Base):
    """群发 — one message (or A/B variants) to an audience of customers or group chats."""

    __tablename__ = "broadcast"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[BroadcastKind] = mapped_column(Enum(BroadcastKind, native_enum=False, length=16))
    priority: Mapped[TouchPriority] = mapped_column(Enum(TouchPriority, native_enum=False, length=16))
    #: customers: tag_ids (+ tag_match any/all), store_ids, staff_ids, segment_id; empty: every served
    #: customer. groups: group_chat_ids, owner_staff_ids, store_ids; empty: every group (group_audience)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: customers held out of the send to measure the broadcast's effect (0–50 %)
    holdout_percent: Mapped[int] = mapped_column(default=0)
    status: Mapped[BroadcastStatus] = mapped_column(Enum(BroadcastStatus, native_enum=False, length=16))
    scheduled_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))


class BroadcastVariant(Base):
    """One version of the message; recipients are split between variants by ``weight``."""

    __tablename__ = "broadcast_variant"
    __table_args__ = (UniqueConstraint("broadcast_id", "label"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    broadcast_id: Mapped[int] = mapped_column(BigId, ForeignKey("broadcast.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text, default="")
    material_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    weight: Mapped[int] = mapped_column(default=1)


class RecipientStatus(enum.StrEnum):
    """Where one recipient stands: the gate's decision, then WeCom's delivery."""

    holdout = "holdout"
    blocked = "blocked"
    deferred = "deferred"
    expired = "expired"
    #: allowed by the gate, waiting for its WeCom task
    queued = "queued"
    #: in a WeCom task, waiting for the staff member to confirm
    awaiting_staff = "awaiting_staff"
    delivered = "delivered"
    #: WeCom: no longer a friend (2) or over the receive quota (3), or refused at task creation
    failed = "failed"
    cancelled = "cancelled"


class BroadcastRecipient(Base):
    """One customer — or, for a group broadcast, one group chat — of a broadcast: variant, sending
    staff member (the group's owner), decision and delivery. ``external_userid`` holds the WeCom id
    the task names: the customer's external_userid, or the group's chat_id."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "customer_id"),
        UniqueConstraint("broadcast_id", "group_chat_id"),
        Index("ix_broadcast_recipient_task", "task_id"),
        Index("ix_broadcast_recipient_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"))
    broadcast_id: Mapped[int] = mapped_column(BigId, ForeignKey("broadcast.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    group_chat_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("group_chat.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    external_userid: Mapped[str | None] = mapped_column(String(64))
    variant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("broadcast_variant.id", ondelete="CASCADE"))
    status: Mapped[RecipientStatus] = mapped_column(Enum(RecipientStatus, native_enum=False, length=16))
    rule: Mapped[TouchRule | None] = mapped_column(Enum(TouchRule, native_enum=False, length=24))
    deferred_until: Mapped[datetime | None]
    touch_id: Mapped[int | None] = mapped_column(BigId)
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("broadcast_task.id", ondelete="SET NULL"))
    #: WeCom's send-result status: 0 unsent, 1 sent, 2 not a friend, 3 receive quota reached
    wecom_status: Mapped[int | None]
    delivered_at: Mapped[datetime | None]


class TaskStatus(enum.StrEnum):
    #: the outbox is creating it in WeCom
    creating = "creating"
    #: created; the staff member has not confirmed yet
    awaiting_staff = "awaiting_staff"
    confirmed = "confirmed"
    failed = "failed"
    cancelled = "cancelled"


class BroadcastTask(TimestampMixin, Base):
    """One WeCom mass-message task (``add_msg_template``): one sender, one variant, ≤ 10 000
    recipients, created through the outbox with the idempotency key ``broadcast-task:<id>``."""

    __tablename__ = "broadcast_task"
    __table_args__ = (UniqueConstraint("broadcast_id", "staff_id", "variant_id", "wave", "part"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    broadcast_id: Mapped[int] = mapped_column(BigId, ForeignKey("broadcast.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(BigId, ForeignKey("broadcast_variant.id", ondelete="CASCADE"))
    #: 0 for the first send; deferred recipients go out in later waves
    wave: Mapped[int] = mapped_column(default=0)
    #: a sender's recipients beyond 10 000 are split into parts
    part: Mapped[int] = mapped_column(default=0)
    #: the text as the staff member will send it (staff name and store filled in)
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = mapped_column(Enum(TaskStatus, native_enum=False, length=16))
    msgid: Mapped[str | None] = mapped_column(String(64), unique=True)
    recipients: Mapped[int] = mapped_column(default=0)
    reminders: Mapped[int] = mapped_column(default=0)
    confirmed_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
