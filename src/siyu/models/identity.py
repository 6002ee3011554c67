"""Identity rules per corp and the merge history of customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class IdentityRule(TimestampMixin, Base):
    """How one identity kind behaves in one corp.

    ``max_per_customer``: how many values of this kind a customer may hold (unionid 1, phone 2 …);
    ``priority``: when new data links two customers, the survivor is the one holding the identity of
    the highest priority (lowest number), then the oldest; ``merge_key``: whether a shared value of
    this kind merges customers at all; ``blocked_values``: junk values never used for matching
    (empty, 00000000000, "unknown" …)."""

    __tablename__ = "identity_rule"
    __table_args__ = (UniqueConstraint("corp_id", "kind"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    kind: Mapped[str] = mapped_column(String(32))
    max_per_customer: Mapped[int] = mapped_column(default=1)
    priority: Mapped[int] = mapped_column(default=100)
    merge_key: Mapped[bool] = mapped_column(default=True)
    blocked_values: Mapped[list] = mapped_column(JSON, default=list)


class CustomerMerge(TimestampMixin, Base):
    """One merge of ``merged_id`` into ``survivor_id``. ``moved`` records exactly which rows were
    re-pointed (identities, relations, orders, events, tags) so an operator can split them apart
    again; ``undone_at`` marks a split."""

    __tablename__ = "customer_merge"
    __table_args__ = (Index("ix_customer_merge_survivor", "survivor_id"),
                      Index("ix_customer_merge_merged", "merged_id"))

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    survivor_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    merged_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    #: what linked them: "identity:phone", "order", "event:alias", "wecom:unionid", "manual" …
    reason: Mapped[str] = mapped_column(String(64))
    identity_kind: Mapped[str | None] = mapped_column(String(32))
    identity_value: Mapped[str | None] = mapped_column(String(128))
    moved: Mapped[dict] = mapped_column(JSON, default=dict)
    merged_at: Mapped[datetime]
    undone_at: Mapped[datetime | None]
    undone_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
