"""Customer group chats (客户群) and their members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class GroupChat(TimestampMixin, Base):
    __tablename__ = "group_chat"
    __table_args__ = (UniqueConstraint("corp_id", "chat_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    owner_userid: Mapped[str | None] = mapped_column(String(64))
    notice: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="active")
    wecom_created_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]
    member_count: Mapped[int] = mapped_column(default=0)


class GroupChatMember(TimestampMixin, Base):
    """A member of a group chat: a staff member (type 1) or an external contact (type 2).
    ``left_at`` keeps the join/quit timeline."""

    __tablename__ = "group_chat_member"
    __table_args__ = (
        UniqueConstraint("group_chat_id", "member_userid"),
        Index("ix_group_chat_member_corp_updated", "corp_id", "updated_at"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    group_chat_id: Mapped[int] = mapped_column(BigId, ForeignKey("group_chat.id", ondelete="CASCADE"), index=True)
    member_userid: Mapped[str] = mapped_column(String(64))
    member_type: Mapped[int] = mapped_column(default=2)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="SET NULL"),
                                                    index=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    join_scene: Mapped[int | None]
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    quit_scene: Mapped[int | None]
