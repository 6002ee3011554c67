"""The condition of a rule tag (a tag that follows its customers' traits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk


class TagRule(TimestampMixin, Base):
    """标签规则 — one per tag of kind ``rule``: the condition as JSON (see ``siyu.tag.rules``) and when
    the tag's customers were last brought in line with it."""

    __tablename__ = "tag_rule"

    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True,
                                        autoincrement=False)
    corp_id: Mapped[int] = corp_fk()
    condition: Mapped[dict] = mapped_column(JSON, default=dict)
    evaluated_at: Mapped[datetime | None]
