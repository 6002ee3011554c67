"""Segments (分群), their membership and its changes, and the per-customer daily event rollup."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class Segment(TimestampMixin, Base):
    """分群 — an audience. ``dynamic`` segments follow ``definition`` (the segment language, see
    ``siyu.segment``); ``static`` ones hold the members an upload or a snapshot gave them."""

    __tablename__ = "segment"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    #: dynamic / static
    kind: Mapped[str] = mapped_column(String(16), default="dynamic")
    definition: Mapped[dict | None] = mapped_column(JSON)
    #: the preset it was made from (``rfm.important_value`` …), if any
    preset: Mapped[str | None] = mapped_column(String(64))
    member_count: Mapped[int] = mapped_column(default=0)
    #: the last incremental tick and the last full re-evaluation
    refreshed_at: Mapped[datetime | None]
    full_refreshed_at: Mapped[datetime | None]
    #: where the dirty-set watermark stands (the moment the last tick read the data as of)
    watermark_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))


class SegmentMembership(Base):
    """One stay of a customer in a segment: from ``entered_at`` until ``exited_at`` (NULL: still a
    member). A customer who leaves and comes back has two rows. There is no ``id`` column on purpose:
    a customer merge does not re-point these rows (the merged customer exits, the survivor is
    re-evaluated)."""

    __tablename__ = "segment_membership"
    __table_args__ = (
        Index("ix_segment_membership_current", "segment_id", "customer_id", unique=True,
              sqlite_where=text("exited_at IS NULL"), postgresql_where=text("exited_at IS NULL")),
        Index("ix_segment_membership_customer", "customer_id"),
    )

    segment_id: Mapped[int] = mapped_column(BigId, ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"),
                                             primary_key=True)
    entered_at: Mapped[datetime] = mapped_column(primary_key=True)
    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"))
    exited_at: Mapped[datetime | None]


class SegmentChange(Base):
    """A customer entered or exited a segment. ``id`` grows monotonically: a consumer (journeys)
    keeps the last id it handled and reads ``id > last`` in order. ``customer_id`` carries no
    foreign key so a merge leaves the log as it happened."""

    __tablename__ = "segment_change"
    __table_args__ = (Index("ix_segment_change_segment", "segment_id", "id"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    segment_id: Mapped[int] = mapped_column(BigId, ForeignKey("segment.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId)
    #: entered / exited
    change: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]


class CustomerEventDay(Base):
    """How many times a customer performed an event on one day (the corp's local date): the rollup
    event conditions read instead of raw events. No ``id`` column: a merge does not move these rows;
    the rollup rebuilds the customers a merge touched."""

    __tablename__ = "customer_event_day"
    __table_args__ = (Index("ix_customer_event_day_corp_name_day", "corp_id", "name", "day"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"),
                                             primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(default=0)


class SegmentRefreshState(Base):
    """Per corp: how far the refresh has read. ``events_seen_at``: the event rollup (NULL until its
    first full build); ``changes_seen_at``: the dirty set of the incremental refresh."""

    __tablename__ = "segment_refresh_state"

    corp_id: Mapped[int] = mapped_column(BigId, ForeignKey("corp.id", ondelete="CASCADE"), primary_key=True)
    events_seen_at: Mapped[datetime | None]
    changes_seen_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
