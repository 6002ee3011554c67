"""Staff tasks for the demo brand, derived from its loyalty data (run after
``siyu.loyalty.demo.derive_demo_loyalty``): last week's call-backs to members whose points expire
soon (most done, the rest now overdue) and this week's follow-ups of dormant top-level members.
Idempotent through the tasks' keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.loyalty.points import expiring_points_query
from siyu.models.customer import Relation, RelationStatus
from siyu.models.loyalty import Member, MemberLevel
from siyu.models.staff_task import StaffTask, StaffTaskKind, StaffTaskStatus
from siyu.models.trait import CustomerTrait
from siyu.staff_task import service


@dataclass(frozen=True)
class DemoTasks:
    created: int
    done: int
    expired: int


def _served(corp_id: int, customer_ids) -> select:
    """(staff, customer) of each customer's first active relation."""
    first = (select(Relation.customer_id, func.min(Relation.staff_id).label("staff_id"))
             .where(Relation.corp_id == corp_id, Relation.status == RelationStatus.active,
                    Relation.customer_id.in_(customer_ids)).group_by(Relation.customer_id).subquery())
    return select(first.c.staff_id, first.c.customer_id)


def derive_demo_tasks(session: Session, corp_id: int, *, now: datetime) -> DemoTasks:
    last_week = now - timedelta(days=7)
    expiring = expiring_points_query(corp_id, now=last_week, within_days=60).subquery()
    created = service.create_tasks_from_query(
        session, corp_id, _served(corp_id, select(expiring.c.customer_id)), kind=StaffTaskKind.call_back,
        title="积分即将到期，提醒客户使用", content="您的积分即将到期，欢迎到店使用～", source_kind="demo",
        source_ref="points-expiring", key_prefix="demo:expiring", now=last_week, due_at=last_week + timedelta(days=3),
        coins=5)
    top_rank = select(func.max(MemberLevel.rank)).where(MemberLevel.corp_id == corp_id).scalar_subquery()
    dormant = (select(Member.customer_id).join(MemberLevel, MemberLevel.id == Member.level_id)
               .join(CustomerTrait, CustomerTrait.customer_id == Member.customer_id)
               .where(Member.corp_id == corp_id, MemberLevel.rank >= top_rank - 1,
                      CustomerTrait.last_order_at < now - timedelta(days=45)))
    created += service.create_tasks_from_query(
        session, corp_id, _served(corp_id, dormant), kind=StaffTaskKind.follow_up, title="高等级会员久未到店，回访",
        source_kind="demo", source_ref="dormant-top-members", key_prefix="demo:dormant", now=now,
        due_at=now + timedelta(days=5), coins=10)
    # two in three of last week's call-backs were made in time; the rest are now overdue
    done = session.execute(
        update(StaffTask).where(StaffTask.corp_id == corp_id, StaffTask.source_ref == "points-expiring",
                                StaffTask.status == StaffTaskStatus.open, StaffTask.id % 3 != 0)
        .values(status=StaffTaskStatus.done, completed_at=last_week + timedelta(days=1), updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    expired = service.expire_overdue(session, corp_id, now=now)
    return DemoTasks(created, done, expired)
