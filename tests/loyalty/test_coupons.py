"""Coupon templates, issuing within stock and per-customer limits, idempotency, redemption, expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.loyalty import coupons
from siyu.loyalty.coupons import TemplateDraft
from siyu.models import Coupon, CouponHolding, CouponTemplate, Order
from siyu.models.loyalty import CouponKind, CouponStatus
from tests.loyalty.conftest import NOW


def _template(session, corp_id, **overrides) -> CouponTemplate:
    fields = dict(name="满100减20", kind=CouponKind.amount_off, value=Decimal("20"), threshold=Decimal("80"),
                  valid_days=30)
    fields.update(overrides)
    return coupons.create_template(session, corp_id, TemplateDraft(**fields), now=NOW)


def _issue(session, corp, template_id, customer=None, key="k", now=NOW):
    return coupons.issue_coupon(session, corp.corp_id, customer or corp.customer_ids[0], template_id,
                                source="journey", source_ref="j1/n1", idempotency_key=key, now=now)


def _counts(session):
    return (session.scalar(select(func.count()).select_from(Coupon)),
            session.scalar(select(func.coalesce(func.sum(CouponTemplate.issued_count), 0))),
            session.scalar(select(func.coalesce(func.sum(CouponHolding.issued_count), 0))))


def test_issuing_gives_a_unique_code_valid_for_the_templates_days(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id)
        outcome = _issue(session, corp, template.id)
        coupon = outcome.coupon
        assert (outcome.created, outcome.refusal, coupon.status, coupon.source_kind, coupon.source_ref) == (
            True, None, CouponStatus.issued, "journey", "j1/n1")
        assert (coupon.valid_from, coupon.valid_until) == (NOW, NOW + timedelta(days=30))
        assert len(coupon.code) == 12 and set(coupon.code) <= set(coupons.CODE_ALPHABET)
        assert session.get(CouponTemplate, template.id).issued_count == 1


def test_a_retried_issue_returns_the_first_coupon(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id, stock=5)
        first = _issue(session, corp, template.id, key="journey:1:node:7")
        again = _issue(session, corp, template.id, key="journey:1:node:7")
        assert (again.created, again.coupon.id) == (False, first.coupon.id)
        assert _counts(session) == (1, 1, 0)


@pytest.mark.parametrize(("overrides", "refusal"), [
    ({"stock": 1}, "out_of_stock"),
    ({"per_customer_limit": 1}, "limit_reached"),
    ({"active": False}, "template_inactive"),
    ({"valid_days": None, "valid_from": NOW - timedelta(days=9), "valid_until": NOW}, "template_ended"),
])
def test_refused_issues_leave_no_row_and_no_count(database, corp, overrides, refusal):
    with database.session() as session:
        template = _template(session, corp.corp_id, **overrides)
        if overrides.get("active", True) and refusal != "template_ended":
            assert _issue(session, corp, template.id, key="first").created is True
        before = _counts(session)
        outcome = _issue(session, corp, template.id, key="second")
        assert (outcome.coupon, outcome.created, outcome.refusal) == (None, False, refusal)
        assert _counts(session) == before


def test_unknown_template_or_customer_is_refused(database, corp, brand):
    other = brand[1]
    with database.session() as session:
        template = _template(session, corp.corp_id)
        foreign = _template(session, other.corp_id)
        assert _issue(session, corp, foreign.id).refusal == "template_not_found"
        assert _issue(session, corp, template.id, customer=other.customer_ids[0]).refusal == "customer_not_found"
        assert _counts(session) == (0, 0, 0)


def test_days_from_issue_never_run_past_the_templates_end(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id, valid_days=7, valid_until=NOW + timedelta(days=10))
        early = _issue(session, corp, template.id, key="a").coupon
        late = _issue(session, corp, template.id, key="b", now=NOW + timedelta(days=5)).coupon
        assert (early.valid_until, late.valid_until) == (NOW + timedelta(days=7), NOW + timedelta(days=10))
        assert _issue(session, corp, template.id, key="c", now=NOW + timedelta(days=10)).refusal == "template_ended"


def test_fixed_window_coupons_carry_the_templates_window(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id, valid_days=None, valid_from=NOW + timedelta(days=1),
                             valid_until=NOW + timedelta(days=10))
        coupon = _issue(session, corp, template.id).coupon
        assert (coupon.valid_from, coupon.valid_until) == (NOW + timedelta(days=1), NOW + timedelta(days=10))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"valid_days": None}, "valid_days"),
    ({"valid_days": None, "valid_from": NOW}, "valid_days"),
    ({"valid_days": None, "valid_from": NOW, "valid_until": NOW}, "valid_until"),
    ({"kind": CouponKind.discount, "value": Decimal("100")}, "value"),
    ({"value": Decimal("90")}, "value"),
    ({"stock": 0}, "stock"),
])
def test_templates_that_could_not_work_are_refused_naming_the_field(database, corp, overrides, field):
    with database.session() as session:
        with pytest.raises(InvalidInput) as refused:
            _template(session, corp.corp_id, **overrides)
        assert refused.value.field == field
        assert session.scalar(select(func.count()).select_from(CouponTemplate)) == 0


def test_redeeming_against_an_order_of_the_customer(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id)
        coupon = _issue(session, corp, template.id).coupon
        redeemed = coupons.redeem_coupon(session, corp.corp_id, coupon.id, corp.order_ids[0], now=NOW)
        assert (redeemed.status, redeemed.order_id, redeemed.redeemed_at) == (
            CouponStatus.redeemed, corp.order_ids[0], NOW)
        with pytest.raises(Conflict) as twice:
            coupons.redeem_coupon(session, corp.corp_id, coupon.id, corp.order_ids[0], now=NOW)
        assert twice.value.message_key == "error.coupon_not_redeemable"


def test_redemption_refusals_change_nothing(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id, threshold=Decimal("80"))
        coupon = _issue(session, corp, template.id).coupon
        small = Order(corp_id=corp.corp_id, customer_id=corp.customer_ids[0], platform="pos", shop="x",
                      order_no="small", amount=Decimal("79.99"), paid_at=NOW)
        refunded = Order(corp_id=corp.corp_id, customer_id=corp.customer_ids[0], platform="pos", shop="x",
                         order_no="refunded", amount=Decimal("100"), paid_at=NOW, status="refunded")
        session.add_all([small, refunded])
        session.flush()
        cases = [
            (corp.order_ids[1], NOW, "error.coupon_other_customer"),
            (small.id, NOW, "error.coupon_below_threshold"),
            (refunded.id, NOW, "error.coupon_order_not_purchase"),
            (corp.order_ids[0], NOW + timedelta(days=30), "error.coupon_expired"),
        ]
        for order_id, when, key in cases:
            with pytest.raises(Conflict) as refused:
                coupons.redeem_coupon(session, corp.corp_id, coupon.id, order_id, now=when)
            assert refused.value.message_key == key
        with pytest.raises(NotFound) as missing:
            coupons.redeem_coupon(session, corp.corp_id, coupon.id, 10**9, now=NOW)
        assert missing.value.field == "order_id"
        session.refresh(coupon)
        assert (coupon.status, coupon.order_id) == (CouponStatus.issued, None)


def test_an_order_takes_one_coupon(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id)
        first = _issue(session, corp, template.id, key="a").coupon
        second = _issue(session, corp, template.id, key="b").coupon
        coupons.redeem_coupon(session, corp.corp_id, first.id, corp.order_ids[0], now=NOW)
        with pytest.raises(Conflict) as refused:
            coupons.redeem_coupon(session, corp.corp_id, second.id, corp.order_ids[0], now=NOW)
        assert refused.value.message_key == "error.coupon_order_taken"
        assert session.get(Coupon, second.id).status == CouponStatus.issued


def test_voiding_and_expiry(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id, valid_days=3)
        kept, voided, lapsed = (_issue(session, corp, template.id, key=k).coupon for k in ("a", "b", "c"))
        coupons.void_coupon(session, corp.corp_id, voided.id, now=NOW)
        with pytest.raises(Conflict):
            coupons.void_coupon(session, corp.corp_id, voided.id, now=NOW)
        coupons.redeem_coupon(session, corp.corp_id, kept.id, corp.order_ids[0], now=NOW)
        assert coupons.expire_coupons(session, corp.corp_id, now=NOW + timedelta(days=3)) == 1
        statuses = dict(session.execute(select(Coupon.id, Coupon.status)).all())
        assert statuses == {kept.id: CouponStatus.redeemed, voided.id: CouponStatus.void,
                            lapsed.id: CouponStatus.expired}


def test_codes_for_personalisation(database, corp):
    with database.session() as session:
        template = _template(session, corp.corp_id)
        coupon = _issue(session, corp, template.id).coupon
        assert coupons.coupon_codes(session, corp.corp_id, corp.customer_ids[:2], template.id, now=NOW) == {
            corp.customer_ids[0]: coupon.code}
