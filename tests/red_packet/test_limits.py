"""Red-packet limits: per corp per day, per staff member per day, per customer in total — each refusal
names its limit and leaves no ledger entry and no budget taken; limits hold under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from siyu.kit.outbox import add_outbox_message  # noqa: F401 — the outbox module registers its job
from siyu.models import Customer, OutboxMessage, RedPacket, RedPacketCounter
from siyu.red_packet import service


def _customers(database, corp_id: int, count: int) -> list[int]:
    with database.session() as session:
        rows = [Customer(corp_id=corp_id, name=f"客户{i}") for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [c.id for c in rows]


def _limits(database, corp_id: int, clock, **limits) -> None:
    with database.session() as session:
        service.update_budget(session, corp_id, clock, **limits)


def _ledger(database) -> list[tuple]:
    with database.session() as session:
        return [(p.customer_id, p.staff_id, p.amount, p.reason_key, p.status)
                for p in session.scalars(select(RedPacket).order_by(RedPacket.id))]


def _counters(database) -> list[tuple]:
    with database.session() as session:
        return sorted((c.scope, c.period, c.amount, c.count) for c in session.scalars(select(RedPacketCounter)))


def _grant(database, corp_id, clock, customer_id, amount, key, staff_id=None):
    with database.session() as session:
        return service.grant(session, corp_id, customer_id=customer_id, amount=amount, reason_key=key,
                             staff_id=staff_id, clock=clock).id


@pytest.mark.parametrize(("limits", "grants", "refused_limit"), [
    ({"staff_daily_amount": 500}, [(0, 300), (1, 300)], "staff_daily"),
    ({"staff_daily_count": 1}, [(0, 100), (1, 100)], "staff_daily"),
    ({"customer_count": 1}, [(0, 100), (0, 100)], "customer"),
    ({"customer_amount": 250}, [(0, 200), (0, 100)], "customer"),
    ({"corp_daily_amount": 250}, [(0, 200), (1, 100)], "corp_daily"),
])
def test_the_grant_over_a_limit_is_refused_and_writes_nothing(database, brand, clock, limits, grants, refused_limit):
    corp_id, staff_id = brand[0].corp_id, brand[0].staff_ids[0]
    customers = _customers(database, corp_id, 2)
    _limits(database, corp_id, clock, **limits)
    # Given a first red packet within the limits
    (first_customer, first_amount), (second_customer, second_amount) = grants
    _grant(database, corp_id, clock, customers[first_customer], first_amount, "campaign:a", staff_id)
    ledger, counters = _ledger(database), _counters(database)
    # When a second one would pass the limit
    with pytest.raises(service.LimitReached) as refused:
        _grant(database, corp_id, clock, customers[second_customer], second_amount, "campaign:b", staff_id)
    # Then the refusal names the limit, and the ledger, the counters and the outbox did not change
    assert refused.value.field == refused_limit
    assert refused.value.message("en") == f"Red-packet limit reached: {refused_limit}"
    assert _ledger(database) == ledger == [(customers[first_customer], staff_id, first_amount, "campaign:a",
                                            "pending")]
    assert _counters(database) == counters
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.provider == "payment")) == 1


def test_the_same_reason_grants_once_and_a_new_day_resets_the_daily_limits(database, brand, clock):
    corp_id, staff_id = brand[0].corp_id, brand[0].staff_ids[0]
    customers = _customers(database, corp_id, 3)
    _limits(database, corp_id, clock, corp_daily_count=1, customer_count=5)
    first = _grant(database, corp_id, clock, customers[0], 100, "order_binding:1", staff_id)
    # The same reason again is the same packet, not a second grant
    assert _grant(database, corp_id, clock, customers[0], 100, "order_binding:1", staff_id) == first
    with pytest.raises(service.LimitReached):
        _grant(database, corp_id, clock, customers[1], 100, "order_binding:2", staff_id)
    # The next local day the corp's count starts again; the customer's total does not
    clock.advance(timedelta(days=1))
    _grant(database, corp_id, clock, customers[1], 100, "order_binding:2", staff_id)
    day_one = (clock.now() - timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    day_two = day_one + timedelta(days=1)
    assert _counters(database) == sorted([
        ("corp", day_one.isoformat(), 100, 1), ("corp", day_two.isoformat(), 100, 1),
        ("customer", "all", 100, 1), ("customer", "all", 100, 1),
        ("staff", day_one.isoformat(), 100, 1), ("staff", day_two.isoformat(), 100, 1)])


def test_an_amount_must_be_positive_and_limits_non_negative(database, brand, clock):
    corp_id = brand[0].corp_id
    customer = _customers(database, corp_id, 1)[0]
    with pytest.raises(service.InvalidInput) as bad_amount:
        _grant(database, corp_id, clock, customer, 0, "x")
    assert (bad_amount.value.field, bad_amount.value.message()) == ("amount", "红包金额须至少 1 分（字段 amount）")
    with pytest.raises(service.InvalidInput) as bad_limit, database.session() as session:
        service.update_budget(session, corp_id, clock, staff_daily_count=-1)
    assert bad_limit.value.field == "staff_daily_count"
    assert _ledger(database) == []


def test_limits_hold_when_many_grants_race(database, brand, clock):
    """Twelve threads, each granting to its own customer, against a corp limit of five a day."""
    corp_id = brand[0].corp_id
    customers = _customers(database, corp_id, 12)
    _limits(database, corp_id, clock, corp_daily_count=5, corp_daily_amount=10_000)
    start = threading.Barrier(len(customers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def grant(customer_id: int) -> None:
        start.wait()
        try:
            with database.session(immediate=True) as session:
                service.grant(session, corp_id, customer_id=customer_id, amount=100,
                              reason_key=f"race:{customer_id}", clock=clock)
            outcome = "granted"
        except service.LimitReached as refused:
            outcome = refused.field
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=grant, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["corp_daily"] * 7 + ["granted"] * 5
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RedPacket)) == 5
        corp_counter = session.scalars(select(RedPacketCounter).where(RedPacketCounter.scope == "corp")).one()
        customer_counters = session.scalar(select(func.count()).select_from(RedPacketCounter).where(
            RedPacketCounter.scope == "customer"))
    assert (corp_counter.count, corp_counter.amount) == (5, 500)
    # Refused grants gave back the customer slot they took before the corp limit refused them
    assert customer_counters == 5
