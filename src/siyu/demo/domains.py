"""The demo brand beyond its seeded people and orders: a loyalty programme derived from the orders,
staff tasks, preset segments and the template journeys — so every built console area has something
real to show on first start. Every step is idempotent: a second start leaves the brand alone."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.auth.service import principal_for_user
from siyu.journey.demo import seed_demo_journeys
from siyu.kit.clock import Clock
from siyu.loyalty.demo import derive_demo_loyalty
from siyu.models.segment import Segment
from siyu.models.staff_task import StaffTask
from siyu.models.user import Role, User
from siyu.segment import service as segment_service
from siyu.staff_task.demo import derive_demo_tasks

#: The presets the demo shows as saved segments (the rest are one click away in the builder).
DEMO_PRESETS = ("rfm.important_value", "rfm.important_keep", "lifecycle.dormant", "tier.sirius",
                "tier.general_wolf", "active_20")


def seed_demo_domains(session: Session, corp_id: int, clock: Clock, *, language: str = "zh-CN") -> dict[str, int]:
    """Derive loyalty, tasks, segments and journeys for the demo corp (only what is missing), as its
    first administrator (segments and journeys record who made them). Flushes."""
    admin = session.scalars(select(User).where(User.corp_id == corp_id, User.role == Role.admin)
                            .order_by(User.id)).first()
    if admin is None:
        return {}
    principal = principal_for_user(session, admin)
    now = clock.now()
    counts: dict[str, int] = {}
    loyalty = derive_demo_loyalty(session, corp_id, now=now)
    counts["members"] = loyalty.members
    has_tasks = session.scalar(select(StaffTask.id).where(StaffTask.corp_id == corp_id).limit(1)) is not None
    if not has_tasks:
        derive_demo_tasks(session, corp_id, now=now)
    saved = set(session.scalars(select(Segment.preset).where(Segment.corp_id == corp_id,
                                                             Segment.preset.is_not(None))))
    for key in DEMO_PRESETS:
        if key not in saved:
            segment_service.create_from_preset(session, principal, clock, key, None, language)
    counts["segments"] = len(DEMO_PRESETS)
    counts["journeys_created"] = len(seed_demo_journeys(session, principal, clock))
    return counts
