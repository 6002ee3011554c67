"""Journeys (自动化旅程/SOP): definitions, their published versions, enrolments and the step log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class Journey(TimestampMixin, Base):
    """A journey: its editable draft and which published version is live.

    ``status`` is draft (never published), live, paused (enrolments stay where they are and no new
    ones are taken) or archived."""

    __tablename__ = "journey"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    draft: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the number of the version new enrolments join (None until the first publish)
    live_version: Mapped[int | None]
    #: the template the journey was created from, if any
    template: Mapped[str | None] = mapped_column(String(32))


class JourneyVersion(Base):
    """A published, frozen definition. Running enrolments stay on their version."""

    __tablename__ = "journey_version"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime]
    published_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("app_user.id", ondelete="SET NULL"))


class JourneyEnrolment(Base):
    """One customer's pass through a journey: the node it is at and when that node is due.

    ``entry_slot`` enforces the re-entry rule with a unique constraint: ``once`` for journeys a
    customer enters once ever, ``active`` while running for journeys entered again after an exit
    (rewritten to ``ended:<id>`` when the enrolment ends)."""

    __tablename__ = "journey_enrolment"
    __table_args__ = (
        UniqueConstraint("journey_id", "customer_id", "entry_slot"),
        Index("ix_journey_enrolment_status_due", "status", "due_at"),
        Index("ix_journey_enrolment_journey_node", "journey_id", "node", "status"),
        Index("ix_journey_enrolment_customer", "customer_id"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey_version.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    #: active / completed / exited / converted (ended by reaching the goal)
    status: Mapped[str] = mapped_column(String(16), default="active")
    node: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    entry_slot: Mapped[str] = mapped_column(String(32))
    #: how the customer came in: channel_code / segment / event / order / tag / date / manual / api
    source: Mapped[str] = mapped_column(String(16))
    #: what the trigger saw (order id, event name, channel state …), for the explorer and templates
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    entered_at: Mapped[datetime]
    node_entered_at: Mapped[datetime]
    converted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)


class JourneyStep(Base):
    """The step log: one row per (enrolment, node) executed. Its unique constraint is what makes
    every side effect of a node happen at most once for an enrolment."""

    __tablename__ = "journey_step"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "node"),
        Index("ix_journey_step_journey_node", "journey_id", "node"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey_enrolment.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(String(64))
    #: passed / sent / blocked / branched / failed …
    outcome: Mapped[str] = mapped_column(String(16))
    #: the branch taken (yes/no, a split variant, matched/timeout), if the node branches
    branch: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    executed_at: Mapped[datetime]


class JourneyTriggerCursor(Base):
    """How far a live journey's trigger has read its source (the last id seen, or the last day
    scanned for date triggers), so triggers are read incrementally and never twice."""

    __tablename__ = "journey_trigger_cursor"

    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    corp_id: Mapped[int] = corp_fk()
    last_id: Mapped[int] = mapped_column(BigId, default=0)
    last_day: Mapped[str | None] = mapped_column(String(10))
    checked_at: Mapped[datetime | None]
