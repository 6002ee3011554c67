"""Fixtures of the loyalty tests: the brand's first corp, its principals and a moment to work at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from siyu.customer.traits import mark_customers_changed
from siyu.kit.tenancy import Principal
from siyu.loyalty import coupons, members, points
from siyu.loyalty.coupons import TemplateDraft
from siyu.models import StaffTask, User
from siyu.models.loyalty import CouponKind
from siyu.models.staff_task import StaffTaskKind
from siyu.staff_task import service
from siyu.staff_task.service import TaskDraft
from tests.console.conftest import chromium, console, live_server, page, seeded  # noqa: F401 — fixtures

#: The test clock's start (``TestClock``): a Monday in January 2026.
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def corp(brand):
    return brand[0]


def principal(database, corp, role: str = "admin") -> Principal:
    """The principal of ``corp``'s user with ``role``, scoped as a login would scope it."""
    with database.session() as session:
        return principal_of(session, corp, role)


@pytest.fixture
def programme(database, corp, clock):
    """Corp alpha with levels, its six buyers enrolled with points from their orders, two coupon
    templates with coupons, and staff tasks in every state."""
    now = clock.now()
    with database.session() as session:
        mark_customers_changed(session, corp.corp_id, corp.customer_ids)
        for name, rank, spend in (("普通", 0, None), ("银卡", 1, Decimal("50")), ("金卡", 2, Decimal("500"))):
            members.create_level(session, corp.corp_id, members.LevelDraft(name, rank, min_spend=spend), now=now)
        points.earn_for_orders(session, corp.corp_id, now=now)
        points.earn(session, corp.corp_id, corp.customer_ids[0], 600, source_kind="journey", source_ref="生日礼",
                    idempotency_key="birthday", now=now - timedelta(days=340))
        members.recompute_levels(session, corp.corp_id, now=now)
        welcome = coupons.create_template(session, corp.corp_id, TemplateDraft(
            "新客满80减10", CouponKind.amount_off, Decimal("10"), Decimal("80"), valid_days=30, stock=100), now=now)
        coupons.create_template(session, corp.corp_id, TemplateDraft(
            "生日八五折", CouponKind.discount, Decimal("85"), valid_days=14, per_customer_limit=1), now=now)
        issued = [coupons.issue_coupon(session, corp.corp_id, customer, welcome.id, source="journey",
                                       idempotency_key=f"w:{customer}", now=now).coupon
                  for customer in corp.customer_ids[:4]]
        coupons.redeem_coupon(session, corp.corp_id, issued[0].id, corp.order_ids[0], now=now)
        s1, s2, s3 = corp.staff_ids
        drafts = [TaskDraft(staff, kind, title, customer_id=corp.served[staff][n % 2], idempotency_key=f"t{i}",
                            due_at=now + timedelta(hours=2 if i % 3 else -1), coins=5)
                  for i, (staff, kind, title, n) in enumerate([
                      (s1, StaffTaskKind.send_message, "生日祝福", 0), (s1, StaffTaskKind.follow_up, "新客回访", 1),
                      (s1, StaffTaskKind.call_back, "积分到期提醒", 0), (s2, StaffTaskKind.follow_up, "新客回访", 0),
                      (s2, StaffTaskKind.send_message, "新品到店", 1), (s3, StaffTaskKind.call_back, "售后回电", 0),
                      (s3, StaffTaskKind.follow_up, "沉睡唤醒", 1)])]
        service.create_tasks(session, corp.corp_id, drafts, source_kind="journey", source_ref="j1", now=now)
        ids = session.scalars(select(StaffTask.id).order_by(StaffTask.id)).all()
        for task_id in ids[1::2]:
            service.complete_task(session, principal_of(session, corp), task_id, now=now)
        service.expire_overdue(session, corp.corp_id, now=now)
    return corp


def principal_of(session, corp, role: str = "admin") -> Principal:
    """``principal`` within an open session."""
    from siyu.auth.service import principal_for_user

    return principal_for_user(session, session.get(User, corp.users[role]))
