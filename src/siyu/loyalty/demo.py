"""Loyalty for the demo brand, derived from its seeded orders (the seed itself stays loyalty-free).

``derive_demo_loyalty`` sets the programme up (1 point per yuan, points valid 12 months), creates
four levels whose spend thresholds sit at the brand's own spend quantiles (so every level has
members whatever the seed's scale), enrols every buyer, earns points for every purchase order from
its payment time, expires what is older than a year, places members at their level, and adds a few
coupon templates with coupons issued and partly redeemed against real later orders. It is
idempotent: a second run finds everything in place and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.loyalty import coupons, members, points, repository
from siyu.loyalty.coupons import TemplateDraft
from siyu.models.customer import Customer
from siyu.models.loyalty import CouponKind, CouponTemplate, Member
from siyu.models.order import PURCHASE_STATUSES, Order
from siyu.models.trait import CustomerTrait

#: (name, rank, spend quantile) — the entry level has no threshold
LEVELS = (("普通会员", 0, None), ("银卡会员", 1, 0.5), ("金卡会员", 2, 0.8), ("钻石会员", 3, 0.95))
#: coupons of the first template issued to recent buyers 20 days ago
DEMO_ISSUED = 120


@dataclass(frozen=True)
class DemoLoyalty:
    levels: int
    members: int
    points_earned: int
    points_expired: int
    templates: int
    coupons_issued: int
    coupons_redeemed: int


def _round_threshold(value: Decimal) -> Decimal:
    """A threshold an operator would pick: two significant figures (1,234.56 → 1,200)."""
    if value <= 0:
        return Decimal("1")
    exponent = max(len(str(int(value))) - 2, 0)
    step = Decimal(10) ** exponent
    return (value / step).quantize(Decimal("1")) * step


def _spend_quantiles(session: Session, corp_id: int) -> list[Decimal]:
    spends = sorted(Decimal(str(s)) for s in session.scalars(
        select(CustomerTrait.total_spend).where(CustomerTrait.corp_id == corp_id, CustomerTrait.total_spend > 0)))
    if not spends:
        return []
    return [_round_threshold(spends[min(int(q * len(spends)), len(spends) - 1)]) for _, _, q in LEVELS if q]


def _templates(now: datetime) -> list[TemplateDraft]:
    month_start = (now + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return [
        TemplateDraft("新客满100减20", CouponKind.amount_off, Decimal("20"), Decimal("100"), valid_days=30,
                      stock=5000, per_customer_limit=1, description="首单后发放，30 天内有效"),
        TemplateDraft("生日八五折", CouponKind.discount, Decimal("85"), Decimal("0"), valid_days=14,
                      per_customer_limit=1, description="生日当月发放"),
        TemplateDraft("积分到期提醒满50减10", CouponKind.amount_off, Decimal("10"), Decimal("50"), valid_days=7,
                      description="积分将到期的会员，配合旅程发放"),
        TemplateDraft("会员日赠果切一份", CouponKind.gift, Decimal("39"), valid_from=month_start,
                      valid_until=month_start + timedelta(days=7), stock=2000, per_customer_limit=1),
    ]


def derive_demo_loyalty(session: Session, corp_id: int, *, now: datetime) -> DemoLoyalty:
    """Set up the corp's loyalty programme from its orders (see the module docstring). Only flushes."""
    if not session.scalar(select(func.count()).select_from(CustomerTrait).where(CustomerTrait.corp_id == corp_id)):
        from siyu.customer.traits import recompute_corp

        recompute_corp(session, corp_id)
    if repository.settings_of(session, corp_id) is None:
        members.update_settings(session, corp_id, now=now, points_per_yuan=Decimal("1"), points_validity_months=12)
    if not repository.levels_of_corp(session, corp_id):
        thresholds = iter(_spend_quantiles(session, corp_id))
        for name, rank, quantile in LEVELS:
            spend = next(thresholds, None) if quantile else None
            members.create_level(session, corp_id, members.LevelDraft(name, rank, min_spend=spend), now=now)
    earned = points.earn_for_orders(session, corp_id, now=now)
    expired = points.expire_due(session, corp_id, now=now)
    members.recompute_levels(session, corp_id, now=now)
    issued, redeemed = _demo_coupons(session, corp_id, now)
    return DemoLoyalty(
        levels=len(repository.levels_of_corp(session, corp_id)),
        members=session.scalar(select(func.count()).select_from(Member).where(Member.corp_id == corp_id)) or 0,
        points_earned=earned, points_expired=expired,
        templates=session.scalar(select(func.count()).select_from(CouponTemplate).where(
            CouponTemplate.corp_id == corp_id)) or 0,
        coupons_issued=issued, coupons_redeemed=redeemed)


def _demo_coupons(session: Session, corp_id: int, now: datetime) -> tuple[int, int]:
    existing = {t.name: t for t in session.scalars(select(CouponTemplate).where(CouponTemplate.corp_id == corp_id))}
    for draft in _templates(now):
        if draft.name not in existing:
            existing[draft.name] = coupons.create_template(session, corp_id, draft, now=now)
    welcome = existing["新客满100减20"]
    issued_at = now - timedelta(days=20)
    # recent buyers, newest first: they got the welcome coupon 20 days ago
    buyers = session.scalars(
        select(Order.customer_id).join(Customer, Customer.id == Order.customer_id)
        .where(Order.corp_id == corp_id, Order.customer_id.is_not(None), Order.paid_at < issued_at,
               Customer.merged_into_id.is_(None))
        .group_by(Order.customer_id).order_by(func.max(Order.paid_at).desc(), Order.customer_id)
        .limit(DEMO_ISSUED)).all()
    issued = redeemed = 0
    for customer_id in buyers:
        outcome = coupons.issue_coupon(session, corp_id, customer_id, welcome.id, source="demo",
                                       idempotency_key=f"demo:welcome:{customer_id}", now=issued_at)
        if outcome.coupon is None:
            continue
        issued += outcome.created
        later = session.scalar(
            select(Order.id).where(Order.corp_id == corp_id, Order.customer_id == customer_id,
                                   Order.status.in_(PURCHASE_STATUSES), Order.paid_at >= issued_at,
                                   Order.paid_at < outcome.coupon.valid_until, Order.amount >= welcome.threshold)
            .order_by(Order.paid_at).limit(1))
        if later is not None and outcome.coupon.status.value == "issued" \
                and repository.coupon_on_order(session, later) is None:
            paid_at = session.scalar(select(Order.paid_at).where(Order.id == later))
            coupons.redeem_coupon(session, corp_id, outcome.coupon.id, later, now=paid_at)
            redeemed += 1
    return issued, redeemed
