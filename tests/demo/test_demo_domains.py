"""The demo brand gets its loyalty programme, staff tasks, preset segments and template journeys
derived once, and a second start changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.demo.domains import DEMO_PRESETS, seed_demo_domains
from siyu.models import Corp
from siyu.models.journey import Journey
from siyu.models.loyalty import CouponTemplate, Member, MemberLevel
from siyu.models.segment import Segment
from siyu.models.staff_task import StaffTask
from siyu.seed.generator import run_seed


def _count(session, model, corp_id: int) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.corp_id == corp_id))


def test_the_demo_domains_are_derived_once(database, clock):
    # Given the tiny demo brand, freshly seeded
    report = run_seed(database, scale="tiny", corp_slug=None, seed=7, echo=lambda _: None, interactive=False)

    # When the demo's domains are derived, and derived again (a second start)
    with database.session() as session:
        first = seed_demo_domains(session, report.corp_id, clock)
    with database.session() as session:
        counts = {model.__name__: _count(session, model, report.corp_id)
                  for model in (Member, MemberLevel, CouponTemplate, StaffTask, Segment, Journey)}
        presets = sorted(session.scalars(select(Segment.preset).where(Segment.corp_id == report.corp_id)))
        second = seed_demo_domains(session, report.corp_id, clock)
    with database.session() as session:
        again = {model.__name__: _count(session, model, report.corp_id)
                 for model in (Member, MemberLevel, CouponTemplate, StaffTask, Segment, Journey)}
        assert session.scalar(select(func.count()).select_from(Corp)) == 1

    # Then every buyer is a member, the presets are saved segments, the six templates are journeys
    assert counts["Member"] == first["members"] > 0
    assert counts["MemberLevel"] >= 2 and counts["CouponTemplate"] >= 1 and counts["StaffTask"] > 0
    assert presets == sorted(DEMO_PRESETS)
    assert counts["Journey"] == first["journeys_created"] == 6
    # And the second start created nothing
    assert second["journeys_created"] == 0
    assert again == counts
