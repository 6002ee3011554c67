"""Loyalty derived for the seeded demo brand: levels with members, points, coupons; idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.loyalty.demo import derive_demo_loyalty
from siyu.models import Coupon, Member, MemberLevel, Order, PointsEntry
from siyu.models.order import PURCHASE_STATUSES
from tests.seed.conftest import seeded  # noqa: F401 — fixture


def test_the_demo_brand_gets_levels_points_and_coupons_once(database, clock, seeded):  # noqa: F811
    corp_id = seeded.report.corp_id
    with database.session() as session:
        first = derive_demo_loyalty(session, corp_id, now=clock.now())
    with database.session() as session:
        second = derive_demo_loyalty(session, corp_id, now=clock.now())
        buyers = session.scalar(select(func.count(func.distinct(Order.customer_id))).where(
            Order.corp_id == corp_id, Order.status.in_(PURCHASE_STATUSES)))
        per_level = dict(session.execute(select(MemberLevel.name, func.count(Member.customer_id))
                                         .join(Member, Member.level_id == MemberLevel.id)
                                         .group_by(MemberLevel.name)).all())
        balance = session.scalar(select(func.sum(Member.points_balance)))
        lots = session.scalar(select(func.sum(PointsEntry.remaining)))
        ledger = session.scalar(select(func.sum(PointsEntry.points)))
        redeemed = session.scalar(select(func.count()).select_from(Coupon).where(Coupon.status == "redeemed"))
    # every buyer is a member, each of the four levels has members, and the ledger adds up
    assert (first.levels, first.members, first.templates) == (4, buyers, 4)
    assert set(per_level) == {"普通会员", "银卡会员", "金卡会员", "钻石会员"} and min(per_level.values()) > 0
    assert first.points_earned > first.points_expired > 0
    assert balance == lots == ledger == first.points_earned - first.points_expired
    assert first.coupons_issued == 120 and 0 < first.coupons_redeemed == redeemed < 120
    # and a second run changes nothing
    assert (second.points_earned, second.points_expired, second.coupons_issued, second.coupons_redeemed) == (
        0, 0, 0, 0)


def test_the_demo_brand_gets_staff_tasks_done_overdue_and_open(database, clock, seeded):  # noqa: F811
    from siyu.models import StaffTask
    from siyu.staff_task.demo import derive_demo_tasks

    corp_id = seeded.report.corp_id
    with database.session() as session:
        derive_demo_loyalty(session, corp_id, now=clock.now())
        tasks = derive_demo_tasks(session, corp_id, now=clock.now())
        again = derive_demo_tasks(session, corp_id, now=clock.now())
        statuses = dict(session.execute(select(StaffTask.status, func.count()).group_by(StaffTask.status)).all())
    assert tasks.created > 0 and tasks.done > 0 and tasks.expired > 0
    assert {status.value: count for status, count in statuses.items()} == {
        "done": tasks.done, "expired": tasks.expired, "open": tasks.created - tasks.done - tasks.expired}
    assert (again.created, again.done, again.expired) == (0, 0, 0)
