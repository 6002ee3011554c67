"""What ``tests/test_tenancy.py`` needs to cover the loyalty and staff task routes: the tables their
id fields name, the tables behind their response items, values for body fields it cannot make up,
and one object of each kind per corp in a state where every write on it succeeds.

``tests/test_tenancy.py`` merges these dicts into its own and calls ``loyalty_objects`` from its
``_corp_objects``: its sweep covers every loyalty and staff task route.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from siyu.loyalty import members, points
from siyu.models import Coupon, CouponTemplate, MemberLevel, PointsEntry, StaffTask
from siyu.models.loyalty import CouponKind, CouponStatus
from siyu.models.staff_task import StaffTaskKind

REFERENCES = {"level_id": MemberLevel, "template_id": CouponTemplate, "coupon_id": Coupon, "task_id": StaffTask}
ITEM_TABLES = {
    "LoyaltySettings": None, "MemberLevel": MemberLevel, "LevelsRecomputeQueued": None, "LoyaltyMember": None,
    "PointsEntry": PointsEntry, "ExpiringPoints": None, "CouponTemplate": CouponTemplate, "Coupon": Coupon,
    "StaffTask": StaffTask, "TasksCreated": None, "CompletionRate": None,
}
PREFERRED_VALUES = {
    "birthday": "1990-05-04",
    "valid_from": "2026-01-01T00:00:00+08:00",
    "valid_until": "2027-01-01T00:00:00+08:00",
    "due_at": "2026-02-01T18:00:00+08:00",
    # a template's stock cannot drop below what it issued (the sample coupon and the sweep's own)
    "stock": 100,
}
#: The test clock's start: the sample coupon is valid then, the sample points are not yet expiring.
_MOMENT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def loyalty_objects(session, brand) -> dict[str, int]:
    """A level, an active coupon template with stock, an issued coupon of the first customer (whose
    first order can redeem it), that customer enrolled with points, and an open task of staff 1."""
    level = MemberLevel(corp_id=brand.corp_id, name="金卡", rank=10, min_spend=Decimal("500"),
                        created_at=_MOMENT, updated_at=_MOMENT)
    template = CouponTemplate(corp_id=brand.corp_id, name="满80减10", kind=CouponKind.amount_off, value=Decimal("10"),
                              threshold=Decimal("80"), valid_days=30, stock=100, issued_count=1,
                              per_customer_limit=None, active=True, created_at=_MOMENT, updated_at=_MOMENT)
    session.add_all([level, template])
    session.flush()
    customer_id = brand.customer_ids[0]
    members.enrol(session, brand.corp_id, [customer_id], now=_MOMENT)
    points.earn(session, brand.corp_id, customer_id, 10, source_kind="test", idempotency_key="tenancy", now=_MOMENT)
    coupon = Coupon(corp_id=brand.corp_id, template_id=template.id, customer_id=customer_id,
                    code=f"TENANCY{brand.slug.upper()}"[:24], status=CouponStatus.issued,
                    issued_at=_MOMENT - timedelta(days=1), valid_from=_MOMENT - timedelta(days=1),
                    valid_until=_MOMENT + timedelta(days=29), source_kind="test", idempotency_key="tenancy",
                    created_at=_MOMENT, updated_at=_MOMENT)
    task = StaffTask(corp_id=brand.corp_id, staff_id=brand.staff_ids[0], customer_id=customer_id,
                     kind=StaffTaskKind.follow_up, title="回访", source_kind="test", created_at=_MOMENT,
                     updated_at=_MOMENT)
    session.add_all([coupon, task])
    session.flush()
    return {"level_id": level.id, "template_id": template.id, "coupon_id": coupon.id, "task_id": task.id}
