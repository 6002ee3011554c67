"""Crash test: real worker processes killed (SIGKILL) at random while they carry a few thousand
enrolments through tag → webhook → wait → trait → send → exit. Afterwards no step is skipped and no
effect happened twice: one step row per (enrolment, node), one touch and one message per enrolment."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from siyu.journey import service
from siyu.models import (
    Customer,
    CustomerTag,
    JourneyEnrolment,
    JourneyStep,
    OutboxMessage,
    Relation,
    Tag,
    TagGroup,
)
from siyu.models.policy import Touch
from tests.journey.conftest import admin

ROOT = Path(__file__).resolve().parents[2]
POPULATION = 1000
NODES = ["tag", "hook", "pause", "city", "hello", "bye"]


def _population(database, corp, clock) -> list[int]:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    with database.session() as session:
        first = (session.scalar(select(func.max(Customer.id))) or 0) + 1
        session.execute(insert(Customer), [dict(id=first + n, corp_id=corp.corp_id, name=f"压测{n}",
                                                created_at=moment, updated_at=moment) for n in range(POPULATION)])
        session.execute(insert(Relation), [dict(corp_id=corp.corp_id, staff_id=corp.staff_ids[n % 3],
                                                customer_id=first + n, external_userid=f"wmcrash{n}", added_at=moment,
                                                status="active", created_at=moment, updated_at=moment)
                                           for n in range(POPULATION)])
    return list(range(first, first + POPULATION))


def _start(database_url: str) -> subprocess.Popen:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.Popen([sys.executable, "-m", "tests.journey.crash_worker", url, "100"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_killed_workers_skip_no_step_and_send_nothing_twice(database, database_url, corp):
    from siyu.kit.clock import Clock

    clock = Clock()
    customers = _population(database, corp, clock)
    with database.session() as session:
        group = TagGroup(corp_id=corp.corp_id, name="压测")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=corp.corp_id, group_id=group.id, name="进入旅程")
        session.add(tag)
        session.flush()
        journey = service.create(session, admin(corp), clock, name="崩溃测试", definition={
            "trigger": {"type": "manual"}, "nodes": [
                {"id": "tag", "type": "add_tag", "tag_id": tag.id, "next": "hook"},
                {"id": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "k", "next": "pause"},
                {"id": "pause", "type": "wait", "duration": {"seconds": 1}, "next": "city"},
                {"id": "city", "type": "update_trait", "trait": "city", "value": "宁波", "next": "hello"},
                {"id": "hello", "type": "send_message", "priority": "service", "text": "您好", "next": "bye"},
                {"id": "bye", "type": "exit"}]})
        service.publish(session, admin(corp), clock, journey.id)
        journey_id = journey.id
    with database.session() as session:
        assert service.enrol(session, admin(corp), clock, journey_id, customers).enrolled == customers
    rng = random.Random(7)
    workers = [_start(database_url) for _ in range(3)]
    started, kills = time.monotonic(), 0
    kill_until, deadline = started + 12, started + 75

    def active() -> int:
        with database.session() as session:
            return session.scalar(select(func.count()).where(JourneyEnrolment.status == "active"))

    try:
        # kill a worker every half second or so for the first 12 s, then let the survivors finish
        while time.monotonic() < deadline and active():
            time.sleep(rng.uniform(0.3, 0.9))
            if time.monotonic() < kill_until:
                victim = rng.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = _start(database_url)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    with database.session() as session:
        statuses = dict(session.execute(select(JourneyEnrolment.status, func.count())
                                        .group_by(JourneyEnrolment.status)).all())
        steps = dict(session.execute(select(JourneyStep.node, func.count()).group_by(JourneyStep.node)).all())
        complete = session.scalar(select(func.count()).select_from(
            select(JourneyStep.enrolment_id).group_by(JourneyStep.enrolment_id)
            .having(func.count() == len(NODES)).subquery()))
        outbox = dict(session.execute(select(OutboxMessage.operation, func.count())
                                      .group_by(OutboxMessage.operation)).all())
        keys = session.execute(select(OutboxMessage.operation, func.count(func.distinct(
            OutboxMessage.idempotency_key))).group_by(OutboxMessage.operation)).all()
        touches = session.execute(select(func.count(), func.count(func.distinct(Touch.customer_id)))).one()
        tagged = session.scalar(select(func.count()).select_from(CustomerTag).where(CustomerTag.tag_id == tag.id))
        ningbo = session.scalar(select(func.count()).where(Customer.city == "宁波"))
    print(f"crash test: {kills} kills, {time.monotonic() - started:.1f} s")
    assert kills >= 3, "the workers were not killed during the run"
    assert statuses == {"exited": POPULATION}
    assert steps == dict.fromkeys(NODES, POPULATION)
    assert complete == POPULATION
    assert outbox == {"post": POPULATION, "add_msg_template": POPULATION}
    assert dict(keys) == {"post": POPULATION, "add_msg_template": POPULATION}
    assert tuple(touches) == (POPULATION, POPULATION)
    assert (tagged, ningbo) == (POPULATION, POPULATION)
