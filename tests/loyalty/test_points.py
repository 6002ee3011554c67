"""The points ledger: earning, FIFO spending, adjustments, expiry by lots, idempotency."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from siyu.loyalty import members, points
from siyu.models import Identity, Member, PointsEntry
from tests.loyalty.conftest import NOW


def _ledger(session, customer_id):
    return [(e.kind.value, e.points, e.remaining, e.idempotency_key)
            for e in session.scalars(select(PointsEntry).where(PointsEntry.customer_id == customer_id)
                                     .order_by(PointsEntry.id))]


def test_earning_enrols_the_customer_and_adds_a_lot_that_expires_after_the_validity(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        # when a customer who is not a member earns 120 points
        outcome = points.earn(session, corp.corp_id, customer, 120, source_kind="journey", source_ref="j1/n2",
                              idempotency_key="journey:1:n2:c", now=NOW)
        # then they are a member with that balance, numbered M<id> and findable by that identity
        assert (outcome.applied, outcome.refusal, outcome.balance) == (True, None, 120)
        member = session.get(Member, customer)
        assert (member.member_no, member.points_balance, member.points_earned_total) == (f"M{customer}", 120, 120)
        assert session.scalars(select(Identity.customer_id).where(
            Identity.kind == "member_no", Identity.value == f"M{customer}")).all() == [customer]
        # and the lot expires twelve months later (the default validity)
        assert outcome.entry.expires_at == NOW.replace(year=2027)
        assert outcome.entry.remaining == 120


def test_the_same_idempotency_key_earns_once(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        first = points.earn(session, corp.corp_id, customer, 50, source_kind="journey",
                            idempotency_key="k1", now=NOW)
        again = points.earn(session, corp.corp_id, customer, 50, source_kind="journey",
                            idempotency_key="k1", now=NOW)
        assert (again.applied, again.entry.id, again.balance) == (False, first.entry.id, 50)
        assert _ledger(session, customer) == [("earn", 50, 50, "k1")]


def test_spending_takes_from_the_lots_that_expire_first(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        # given lots of 100 (expiring in 12 months), 30 earned a month later, and 40 earned before both
        points.earn(session, corp.corp_id, customer, 100, source_kind="t", idempotency_key="a", now=NOW)
        points.earn(session, corp.corp_id, customer, 30, source_kind="t", idempotency_key="b",
                    now=NOW + timedelta(days=31))
        points.earn(session, corp.corp_id, customer, 40, source_kind="t", idempotency_key="c",
                    now=NOW - timedelta(days=31))
        # when 60 are spent, then 100
        first = points.spend(session, corp.corp_id, customer, 60, source_kind="redeem", idempotency_key="s1", now=NOW)
        second = points.spend(session, corp.corp_id, customer, 100, source_kind="redeem", idempotency_key="s2",
                              now=NOW)
        # then the oldest lot went first, and the balance is what remains of the lots
        assert (first.balance, second.balance) == (110, 10)
        assert _ledger(session, customer) == [("earn", 100, 0, "a"), ("earn", 30, 10, "b"), ("earn", 40, 0, "c"),
                                              ("spend", -60, 0, "s1"), ("spend", -100, 0, "s2")]


def test_a_spend_beyond_the_balance_is_refused_and_writes_nothing(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        points.earn(session, corp.corp_id, customer, 20, source_kind="t", idempotency_key="a", now=NOW)
        outcome = points.spend(session, corp.corp_id, customer, 21, source_kind="redeem", idempotency_key="s",
                               now=NOW)
        assert (outcome.applied, outcome.refusal, outcome.balance, outcome.entry) == (
            False, "insufficient_points", 20, None)
        assert _ledger(session, customer) == [("earn", 20, 20, "a")]
        # and the key is still free for a later, affordable spend
        assert points.spend(session, corp.corp_id, customer, 20, source_kind="redeem", idempotency_key="s",
                            now=NOW).applied is True


def test_a_non_member_cannot_spend(database, corp):
    with database.session() as session:
        outcome = points.spend(session, corp.corp_id, corp.customer_ids[1], 1, source_kind="redeem",
                               idempotency_key="s", now=NOW)
        assert (outcome.refusal, session.scalar(select(func.count()).select_from(PointsEntry))) == ("not_a_member", 0)
        assert session.get(Member, corp.customer_ids[1]) is None


def test_negative_adjustments_spend_and_positive_ones_add_a_lot(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        up = points.adjust(session, corp.corp_id, customer, 15, idempotency_key="adj1", now=NOW, note="补积分")
        down = points.adjust(session, corp.corp_id, customer, -5, idempotency_key="adj2", now=NOW)
        refused = points.adjust(session, corp.corp_id, customer, -11, idempotency_key="adj3", now=NOW)
        assert (up.balance, down.balance, refused.refusal) == (15, 10, "insufficient_points")
        assert _ledger(session, customer) == [("adjust", 15, 10, "adj1"), ("adjust", -5, 0, "adj2")]


def test_expiry_empties_due_lots_once_and_lowers_the_balance(database, corp):
    first, second = corp.customer_ids[:2]
    with database.session() as session:
        # given an old lot of 100 partly spent (70 left), a fresh lot of 25, and another member's old lot
        points.earn(session, corp.corp_id, first, 100, source_kind="t", idempotency_key="old",
                    now=NOW - timedelta(days=400))
        points.earn(session, corp.corp_id, first, 25, source_kind="t", idempotency_key="new", now=NOW)
        points.spend(session, corp.corp_id, first, 30, source_kind="t", idempotency_key="s", now=NOW)
        points.earn(session, corp.corp_id, second, 8, source_kind="t", idempotency_key="old2",
                    now=NOW - timedelta(days=366))
        # when expiry runs twice
        expired = points.expire_due(session, corp.corp_id, now=NOW)
        again = points.expire_due(session, corp.corp_id, now=NOW)
        # then 70 + 8 expired once, with one entry per lot, and only the fresh lot is left
        assert (expired, again) == (78, 0)
        assert [session.get(Member, c).points_balance for c in (first, second)] == [25, 0]
        old_lot = session.scalar(select(PointsEntry.id).where(PointsEntry.idempotency_key == "old"))
        assert _ledger(session, first) == [("earn", 100, 0, "old"), ("earn", 25, 25, "new"), ("spend", -30, 0, "s"),
                                           ("expire", -70, 0, f"expire:{old_lot}")]


def test_points_expiring_within_n_days_per_customer(database, corp):
    first, second, third = corp.customer_ids[:3]
    with database.session() as session:
        # lots earned ~12 months ago expire soon; the third customer's lot expires later
        points.earn(session, corp.corp_id, first, 10, source_kind="t", idempotency_key="a",
                    now=NOW - timedelta(days=360))
        points.earn(session, corp.corp_id, first, 5, source_kind="t", idempotency_key="b",
                    now=NOW - timedelta(days=340))
        points.earn(session, corp.corp_id, second, 7, source_kind="t", idempotency_key="c",
                    now=NOW - timedelta(days=355))
        points.earn(session, corp.corp_id, third, 9, source_kind="t", idempotency_key="d",
                    now=NOW - timedelta(days=200))
        rows = points.expiring_points(session, corp.corp_id, now=NOW, within_days=30)
        assert [(r.customer_id, r.points) for r in rows] == [(first, 15), (second, 7)]
        assert rows[0].first_expires_at == points.add_months(NOW - timedelta(days=360), 12)
        assert [r.customer_id for r in points.expiring_points(session, corp.corp_id, now=NOW, within_days=7)] == [
            first]


def test_orders_earn_once_each_at_the_corps_rate(database, corp):
    with database.session() as session:
        # given 2 points per yuan, and the brand's six orders of 88.50
        members.update_settings(session, corp.corp_id, now=NOW, points_per_yuan=2)
        # when the sweep runs twice
        first = points.earn_for_orders(session, corp.corp_id, now=NOW)
        second = points.earn_for_orders(session, corp.corp_id, now=NOW)
        # then each buyer earned 177 points once, from the order's payment time
        assert (first, second) == (6 * 177, 0)
        balances = session.execute(select(Member.customer_id, Member.points_balance).order_by(Member.customer_id))
        assert list(balances) == [(c, 177) for c in corp.customer_ids[:6]]
        lots = session.execute(select(PointsEntry.occurred_at, PointsEntry.expires_at, PointsEntry.source_ref)
                               .where(PointsEntry.source_kind == "order").order_by(PointsEntry.id)).all()
        assert [(when.isoformat(), expires.isoformat()) for when, expires, _ in lots[:2]] == [
            ("2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"),
            ("2026-01-02T00:00:00+00:00", "2027-01-02T00:00:00+00:00")]
        assert len(lots) == 6 and lots[0].source_ref == f"alpha-{corp.customer_ids[0]}"
        # the lots expire exactly then: one second before, nothing; at the moment, the three of that day
        assert points.expire_due(session, corp.corp_id, now=points.add_months(lots[0][0], 12)
                                 - timedelta(seconds=1)) == 0
        assert points.expire_due(session, corp.corp_id, now=points.add_months(lots[0][0], 12)) == 3 * 177


def test_earning_for_named_orders_leaves_the_others(database, corp):
    with database.session() as session:
        assert points.earn_for_orders(session, corp.corp_id, corp.order_ids[:1], now=NOW) == 88
        assert session.scalar(select(func.count()).select_from(Member)) == 1


def test_month_arithmetic_keeps_the_end_of_the_month():
    from datetime import UTC, datetime

    assert points.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert points.add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)
