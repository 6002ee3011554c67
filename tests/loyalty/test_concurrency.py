"""Caps and balances under concurrent callers: threads, each in its own transaction, released
together. On PostgreSQL they really overlap; on SQLite they serialise on the write lock, and the
results must be the same."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import func, select

from siyu.loyalty import coupons, points
from siyu.loyalty.coupons import TemplateDraft
from siyu.models import Coupon, CouponHolding, CouponTemplate, Member, PointsEntry
from siyu.models.loyalty import CouponKind
from tests.loyalty.conftest import NOW

THREADS = 8


def _race(database, work: Callable[[object, int], object]) -> list:
    """Run ``work(session, index)`` in THREADS threads at once, each committing its own unit."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            with database.session(immediate=True) as session:
                outcome = work(session, index)
                results[index] = (getattr(outcome, "refusal", None), getattr(getattr(outcome, "coupon", None),
                                                                             "id", None))
        except BaseException as error:  # noqa: BLE001 — reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


def _template(database, corp_id, **fields) -> int:
    with database.session() as session:
        return coupons.create_template(session, corp_id, TemplateDraft(
            name="限量券", kind=CouponKind.amount_off, value=Decimal("10"), valid_days=7, **fields), now=NOW).id


def test_stock_holds_when_more_customers_race_than_there_are_coupons(database, corp):
    template_id = _template(database, corp.corp_id, stock=3)
    customers = corp.customer_ids[:THREADS]
    results = _race(database, lambda session, i: coupons.issue_coupon(
        session, corp.corp_id, customers[i], template_id, source="broadcast", idempotency_key=f"b:{i}", now=NOW))
    with database.session() as session:
        assert sorted(r[0] or "issued" for r in results) == ["issued"] * 3 + ["out_of_stock"] * (THREADS - 3)
        assert session.scalar(select(func.count()).select_from(Coupon)) == 3
        assert session.get(CouponTemplate, template_id).issued_count == 3


def test_the_per_customer_limit_holds_for_one_customer_racing_with_many_keys(database, corp):
    template_id = _template(database, corp.corp_id, per_customer_limit=2, stock=100)
    customer = corp.customer_ids[0]
    results = _race(database, lambda session, i: coupons.issue_coupon(
        session, corp.corp_id, customer, template_id, source="journey", idempotency_key=f"j:{i}", now=NOW))
    with database.session() as session:
        assert sorted(r[0] or "issued" for r in results) == ["issued"] * 2 + ["limit_reached"] * (THREADS - 2)
        assert session.scalar(select(func.count()).select_from(Coupon)) == 2
        assert session.get(CouponTemplate, template_id).issued_count == 2
        assert session.scalar(select(CouponHolding.issued_count)) == 2


def test_one_key_racing_issues_one_coupon_and_every_caller_gets_it(database, corp):
    template_id = _template(database, corp.corp_id, per_customer_limit=1, stock=1)
    results = _race(database, lambda session, i: coupons.issue_coupon(
        session, corp.corp_id, corp.customer_ids[0], template_id, source="journey", idempotency_key="node:1",
        now=NOW))
    with database.session() as session:
        coupon_id = session.scalar(select(Coupon.id))
        assert results == [(None, coupon_id)] * THREADS
        assert session.get(CouponTemplate, template_id).issued_count == 1


def test_concurrent_spends_never_take_the_balance_below_zero(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        points.earn(session, corp.corp_id, customer, 50, source_kind="t", idempotency_key="a", now=NOW)
        points.earn(session, corp.corp_id, customer, 50, source_kind="t", idempotency_key="b", now=NOW)
    # eight spends of 30 against 100 points: three can succeed
    results = _race(database, lambda session, i: points.spend(
        session, corp.corp_id, customer, 30, source_kind="redeem", idempotency_key=f"s:{i}", now=NOW))
    with database.session() as session:
        assert sorted(r[0] or "spent" for r in results) == ["insufficient_points"] * 5 + ["spent"] * 3
        member = session.get(Member, customer)
        lots = session.scalar(select(func.sum(PointsEntry.remaining)).where(PointsEntry.customer_id == customer))
        assert (member.points_balance, lots) == (10, 10)
        assert session.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.kind == "spend")) == 3


def test_concurrent_earns_with_one_key_add_once(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        points.earn(session, corp.corp_id, customer, 1, source_kind="t", idempotency_key="enrol", now=NOW)
    _race(database, lambda session, i: points.earn(
        session, corp.corp_id, customer, 40, source_kind="journey", idempotency_key="birthday:2026", now=NOW))
    with database.session() as session:
        assert session.get(Member, customer).points_balance == 41
        assert session.scalar(select(func.count()).select_from(PointsEntry)) == 2
