"""Tag groups and tags (two-way synced with WeCom corp tags), and tags on relations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class TagGroup(TimestampMixin, Base):
    """标签组."""

    __tablename__ = "tag_group"
    __table_args__ = (UniqueConstraint("corp_id", "wecom_group_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    order: Mapped[int] = mapped_column(default=0)
    wecom_group_id: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None]


class Tag(TimestampMixin, Base):
    """标签. ``kind`` is manual, channel (put on by a channel code), rule (follows a condition) or
    wecom (a corp tag created in WeCom)."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("corp_id", "wecom_tag_id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag_group.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    order: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(16), default="manual")
    wecom_tag_id: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None]


class RelationTag(Base):
    """A tag a staff member put on a customer (WeCom keeps tags per follow relation)."""

    __tablename__ = "relation_tag"
    __table_args__ = (
        UniqueConstraint("relation_id", "tag_id"),
        Index("ix_relation_tag_corp_tagged", "corp_id", "tagged_at"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    relation_id: Mapped[int] = mapped_column(BigId, ForeignKey("relation.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag.id", ondelete="CASCADE"), index=True)
    tagged_at: Mapped[datetime]


class CustomerTag(Base):
    """A tag on the customer as a whole (manual, channel, rule or the union of WeCom relation tags).
    Segments read this table."""

    __tablename__ = "customer_tag"
    __table_args__ = (UniqueConstraint("customer_id", "tag_id"), Index("ix_customer_tag_tag", "tag_id"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag.id", ondelete="CASCADE"))
    #: manual / channel / rule / wecom
    source: Mapped[str] = mapped_column(String(16))
    tagged_at: Mapped[datetime]


class TagHistory(Base):
    """Every tag put on or taken off a customer, by whom and why."""

    __tablename__ = "tag_history"
    __table_args__ = (
        Index("ix_tag_history_customer", "customer_id", "at"),
        Index("ix_tag_history_corp_at", "corp_id", "at"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime]
