"""Staff tasks (导购任务): work assigned to one staff member, often about one customer."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class StaffTaskKind(enum.StrEnum):
    #: send ``content`` to the customer by hand (WeCom cannot send it for them)
    send_message = "send_message"
    follow_up = "follow_up"
    call_back = "call_back"
    custom = "custom"


class StaffTaskStatus(enum.StrEnum):
    open = "open"
    done = "done"
    #: the due time passed while open
    expired = "expired"
    cancelled = "cancelled"


class StaffTask(TimestampMixin, Base):
    """导购任务 — one task of one staff member. ``idempotency_key`` (unique per corp) makes a retried
    journey node or broadcast reminder create it once; ``source_kind``/``source_ref`` say what made it."""

    __tablename__ = "staff_task"
    __table_args__ = (
        UniqueConstraint("corp_id", "idempotency_key"),
        Index("ix_staff_task_staff_status", "staff_id", "status"),
        Index("ix_staff_task_corp_status_due", "corp_id", "status", "due_at"),
        Index("ix_staff_task_customer", "customer_id"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[StaffTaskKind] = mapped_column(Enum(StaffTaskKind, native_enum=False, length=16))
    title: Mapped[str] = mapped_column(String(200))
    #: the message to send (``send_message``) or instructions
    content: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    status: Mapped[StaffTaskStatus] = mapped_column(Enum(StaffTaskStatus, native_enum=False, length=16),
                                                    default=StaffTaskStatus.open)
    #: journey, broadcast, manual
    source_kind: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(160))
    #: 金币 awarded to the staff member when the task is done
    coins: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    completed_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))
