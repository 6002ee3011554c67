"""Caps hold under concurrency: many transactions admitting the same customer at once can never
take more slots than the cap, because the counter row (not a read) decides."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from siyu.models.policy import Touch, TouchChannel, TouchCounter, TouchRule, TouchStatus
from siyu.policy import admit
from tests.policy.conftest import MONDAY_AFTERNOON, ask

THREADS = 8


def test_concurrent_admissions_never_exceed_the_marketing_cap(database, corp):
    customer = corp.customer_ids[0]
    barrier = threading.Barrier(THREADS)
    outcomes: list[TouchStatus] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one_admission(index: int) -> None:
        try:
            with database.session(immediate=True) as session:
                # every thread has its transaction open before any of them admits
                session.execute(select(1))
                barrier.wait(timeout=10)
                channel = TouchChannel.broadcast if index % 2 else TouchChannel.journey
                decision = admit(session, corp.corp_id, [ask(customer, channel)], now=MONDAY_AFTERNOON)[0]
            with lock:
                outcomes.append(decision.status)
        except BaseException as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=one_admission, args=(i,)) for i in range(THREADS)]
    if database.is_sqlite:
        # SQLite admits one writer at a time: BEGIN IMMEDIATE queues them, the barrier would deadlock
        barrier = threading.Barrier(1)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == sorted([TouchStatus.allowed] * 2 + [TouchStatus.deferred] * (THREADS - 2))
    with database.session() as session:
        count = session.scalar(select(TouchCounter.count).where(TouchCounter.customer_id == customer,
                                                                TouchCounter.counter == "marketing_cap"))
        rules = session.scalars(select(Touch.rule).where(Touch.status == TouchStatus.deferred)).all()
    assert count == 2
    assert set(rules) == {TouchRule.marketing_cap}


def test_the_database_refuses_a_count_above_the_cap(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        admit(session, corp.corp_id, [ask(customer), ask(customer)], now=MONDAY_AFTERNOON)
    with pytest.raises(IntegrityError), database.session() as session:
        session.execute(text("UPDATE touch_counter SET count = count + 1"))
    with database.session() as session:
        assert session.scalar(select(TouchCounter.count)) == 2
