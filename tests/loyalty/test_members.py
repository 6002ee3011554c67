"""Enrolment, membership numbers linked to identities, and level recomputation from traits."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from siyu.customer.traits import mark_customers_changed
from siyu.loyalty import members, points
from siyu.models import Identity, Member, Order
from tests.loyalty.conftest import NOW

LEVELS = [("普通", 0, None, None), ("银卡", 1, Decimal("100"), None), ("金卡", 2, Decimal("500"), 2000),
          ("钻石", 3, Decimal("5000"), None)]


def _levels(session, corp_id):
    return {name: members.create_level(session, corp_id, members.LevelDraft(name, rank, spend, pts), now=NOW).id
            for name, rank, spend, pts in LEVELS}


def test_enrolment_keeps_an_existing_member_number_and_skips_members(database, corp):
    first, second = corp.customer_ids[:2]
    with database.session() as session:
        # given a customer who already has a member_no identity from the POS
        session.add(Identity(corp_id=corp.corp_id, customer_id=second, kind="member_no", value="POS-0042"))
        session.flush()
        # when both are enrolled, twice
        assert members.enrol(session, corp.corp_id, [first, second], now=NOW) == 2
        assert members.enrol(session, corp.corp_id, [first, second, 10**9], now=NOW) == 0
        # then the POS number is kept and the other gets a generated one, linked as an identity
        numbers = dict(session.execute(select(Member.customer_id, Member.member_no)).all())
        assert numbers == {first: f"M{first}", second: "POS-0042"}
        assert session.scalars(select(Identity.value).where(Identity.kind == "member_no")
                               .order_by(Identity.value)).all() == [f"M{first}", "POS-0042"]


def test_levels_follow_spend_and_lifetime_points_set_based(database, corp):
    a, b, c, d = corp.customer_ids[:4]
    with database.session() as session:
        levels = _levels(session, corp.corp_id)
        # given spend of 88.50 (a), 176.50 (b: one more order of 88), 688.50 (c) and lifetime points of 2000 (d)
        for customer, amount in ((b, "88"), (c, "600")):
            session.add(Order(corp_id=corp.corp_id, customer_id=customer, platform="pos", shop="x",
                              order_no=f"extra-{customer}", amount=Decimal(amount), paid_at=NOW))
        session.flush()
        mark_customers_changed(session, corp.corp_id, [a, b, c, d])
        members.enrol(session, corp.corp_id, [a, b, c, d], now=NOW)
        points.earn(session, corp.corp_id, d, 2000, source_kind="t", idempotency_key="big", now=NOW)
        # when levels are recomputed, then again
        changed = members.recompute_levels(session, corp.corp_id, now=NOW)
        unchanged = members.recompute_levels(session, corp.corp_id, now=NOW)
        # then each member holds the highest level they qualify for, written once
        held = dict(session.execute(select(Member.customer_id, Member.level_id)).all())
        assert held == {a: levels["普通"], b: levels["银卡"], c: levels["金卡"], d: levels["金卡"]}
        assert (changed, unchanged) == (4, 0)


def test_recomputing_named_members_leaves_the_others(database, corp):
    a, b = corp.customer_ids[:2]
    with database.session() as session:
        levels = _levels(session, corp.corp_id)
        members.enrol(session, corp.corp_id, [a, b], now=NOW)
        assert members.recompute_levels(session, corp.corp_id, now=NOW, customer_ids=[a]) == 1
        assert dict(session.execute(select(Member.customer_id, Member.level_id)).all()) == {a: levels["普通"], b: None}


def test_deleting_a_level_drops_it_from_members_until_recomputed(database, corp):
    from tests.loyalty.conftest import principal

    a = corp.customer_ids[0]
    admin = principal(database, corp)
    with database.session() as session:
        levels = _levels(session, corp.corp_id)
        members.enrol(session, corp.corp_id, [a], now=NOW)
        members.recompute_levels(session, corp.corp_id, now=NOW)
        members.delete_level(session, admin, levels["普通"])
        assert session.get(Member, a).level_id is None
        assert members.recompute_levels(session, corp.corp_id, now=NOW) == 0


def test_member_facts_for_personalisation(database, corp):
    a, b = corp.customer_ids[:2]
    with database.session() as session:
        levels = _levels(session, corp.corp_id)
        points.earn(session, corp.corp_id, a, 30, source_kind="t", idempotency_key="k", now=NOW)
        members.recompute_levels(session, corp.corp_id, now=NOW)
        facts = members.member_facts(session, corp.corp_id, [a, b], now=NOW.replace(year=2026, month=12, day=20))
        assert set(facts) == {a}
        assert (facts[a].member_no, facts[a].level_name, facts[a].points_balance, facts[a].points_expiring_30d) == (
            f"M{a}", "普通", 30, 30)
        assert levels["普通"] == session.get(Member, a).level_id
        assert session.scalar(select(func.count()).select_from(Member)) == 1
