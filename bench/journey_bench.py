"""The journey engine at bench scale, against hand-written bulk SQL doing the same transitions.

On ``siyu_bench`` (1 M customers, PostgreSQL) the benchmark adds its own rows only — a tag group with
two tags and three journeys of its own — and deletes them at the end:

1. **carry**: 1 M enrolments (every customer of the largest corp, one ``INSERT … SELECT``) carried
   by the engine (``JourneyRunner.run_batch``, one transaction per batch of ``--batch`` enrolments)
   through their first three nodes: a 90/10 random split (holdout exits), a segment condition
   (compiled by ``siyu.segment``) and an add-tag action, to a one-day wait. Reported: wall time,
   node executions per second.
   **Reference**: the same transitions for another 1 M enrolments as hand-written set-based SQL in one
   transaction (step rows with ``INSERT … SELECT``, moves with ``UPDATE``, the tag with ``INSERT …
   SELECT … ON CONFLICT``). Ratio = engine ÷ reference.
2. **timers**: ``--timers`` enrolments due at a wait node, spread evenly over the next
   ``--spread`` seconds, run by two runner threads on the real clock; lateness = claim time − due
   time, p50 / p99 / max.

Run: ``flock /tmp/siyu_bench.lock .venv/bin/python -m bench journey``; ``--no-record`` keeps
``docs/benchmarks.md`` as it is.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, text

from bench.machine import describe_database, describe_machine
from siyu.journey import engine, service
from siyu.journey.runner import JourneyRunner
from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.kit.tenancy import Principal
from siyu.models import Customer, Journey, JourneyEnrolment, JourneyStep, Role, Tag, TagGroup, User

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass
class Figures:
    customers: int
    carry_seconds: float
    executions: int
    reference_seconds: float
    timers: int
    lateness: list[float]
    machine: str
    database: str


def _principal(session, corp_id: int) -> Principal:
    user_id = session.scalar(select(User.id).where(User.corp_id == corp_id).order_by(User.id))
    return Principal(user_id=user_id or 0, corp_id=corp_id, role=Role.admin)


def _definition(tag_id: int) -> dict:
    return {"trigger": {"type": "manual"}, "reentry": {"mode": "once"}, "nodes": [
        {"id": "ab", "type": "split", "branches": [{"key": "A", "weight": 90, "next": "check"},
                                                   {"key": "holdout", "weight": 10, "next": "holdout"}]},
        {"id": "check", "type": "condition", "condition": {"tag": {"none": [tag_id]}}, "yes": "tag", "no": "wait"},
        {"id": "tag", "type": "add_tag", "tag_id": tag_id, "next": "wait"},
        {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "end"},
        {"id": "end", "type": "exit"}, {"id": "holdout", "type": "exit"}]}


def _journey(database: Database, corp_id: int, name: str, definition: dict, clock: Clock) -> tuple[int, int]:
    with database.session() as session:
        principal = _principal(session, corp_id)
        journey = service.create(session, principal, clock, name=name, definition=definition)
        version = service.publish(session, principal, clock, journey.id)
        return journey.id, version.id


def _enrol_all(database: Database, journey_id: int, corp_id: int, clock: Clock, limit: int | None) -> int:
    with database.session() as session:
        journey = session.get(Journey, journey_id)
        version = service.repository.version(session, journey, journey.live_version)
        customers = select(Customer.id).where(Customer.corp_id == corp_id, Customer.merged_into_id.is_(None))
        if limit:
            customers = customers.order_by(Customer.id).limit(limit)
        return engine.enrol_select(session, journey, version, customers, source="api", now=clock.now())


def _carry(database: Database, journey_id: int, batch: int, clock: Clock) -> tuple[float, int]:
    runner = JourneyRunner(database, clock=clock, batch_size=batch)
    executions, started = 0, time.perf_counter()
    done = 0
    with database.session() as session:
        total = session.scalar(select(func.count()).where(JourneyEnrolment.journey_id == journey_id))
    while True:
        result = runner.run_batch()
        if result.claimed == 0:
            break
        executions += result.executions
        done += result.claimed
        print(f"\r  carried {done:>9,} / {total:,}  ({executions / (time.perf_counter() - started):,.0f} "
              "node executions/s)", end="", flush=True)
    print()
    return time.perf_counter() - started, executions


REFERENCE_SQL = [
    # split: A 90 % / holdout 10 %, stable per customer
    """INSERT INTO journey_step (corp_id, journey_id, enrolment_id, node, outcome, branch, detail, executed_at)
       SELECT corp_id, journey_id, id, 'ab', 'branched',
              CASE WHEN abs(hashtext(journey_id || ':ab:' || customer_id)) % 100 < 90 THEN 'A' ELSE 'holdout' END,
              '{}', :now FROM journey_enrolment WHERE journey_id = :journey AND status = 'active' AND node = 'ab'""",
    """UPDATE journey_enrolment e SET node = CASE s.branch WHEN 'A' THEN 'check' ELSE 'holdout' END,
              node_entered_at = :now
       FROM journey_step s WHERE s.enrolment_id = e.id AND s.node = 'ab' AND e.journey_id = :journey""",
    """INSERT INTO journey_step (corp_id, journey_id, enrolment_id, node, outcome, branch, detail, executed_at)
       SELECT corp_id, journey_id, id, 'holdout', 'exited', NULL, '{}', :now FROM journey_enrolment
       WHERE journey_id = :journey AND node = 'holdout'""",
    """UPDATE journey_enrolment SET status = 'exited', ended_at = :now, due_at = NULL, exit_reason = 'exit_node'
       WHERE journey_id = :journey AND node = 'holdout'""",
    # condition: customers without the tag
    """INSERT INTO journey_step (corp_id, journey_id, enrolment_id, node, outcome, branch, detail, executed_at)
       SELECT e.corp_id, e.journey_id, e.id, 'check', 'branched',
              CASE WHEN NOT EXISTS (SELECT 1 FROM customer_tag t WHERE t.customer_id = e.customer_id
                                    AND t.tag_id = :tag) THEN 'yes' ELSE 'no' END, '{}', :now
       FROM journey_enrolment e WHERE e.journey_id = :journey AND e.node = 'check'""",
    """UPDATE journey_enrolment e SET node = CASE s.branch WHEN 'yes' THEN 'tag' ELSE 'wait' END,
              node_entered_at = :now
       FROM journey_step s WHERE s.enrolment_id = e.id AND s.node = 'check' AND e.journey_id = :journey""",
    # add the tag, with its history
    """INSERT INTO customer_tag (corp_id, customer_id, tag_id, source, tagged_at)
       SELECT corp_id, customer_id, :tag, 'journey', :now FROM journey_enrolment
       WHERE journey_id = :journey AND node = 'tag' ON CONFLICT DO NOTHING""",
    """INSERT INTO tag_history (corp_id, customer_id, tag_id, action, source, at)
       SELECT corp_id, customer_id, :tag, 'add', 'journey', :now FROM journey_enrolment
       WHERE journey_id = :journey AND node = 'tag'""",
    """INSERT INTO journey_step (corp_id, journey_id, enrolment_id, node, outcome, branch, detail, executed_at)
       SELECT corp_id, journey_id, id, 'tag', 'passed', NULL, '{}', :now FROM journey_enrolment
       WHERE journey_id = :journey AND node = 'tag'""",
    """UPDATE journey_enrolment SET node = 'wait', node_entered_at = :now, due_at = :later
       WHERE journey_id = :journey AND node = 'tag'""",
]


def _reference(database: Database, journey_id: int, tag_id: int, clock: Clock) -> float:
    now = clock.now()
    started = time.perf_counter()
    with database.session() as session:
        for statement in REFERENCE_SQL:
            session.execute(text(statement), {"journey": journey_id, "tag": tag_id, "now": now,
                                              "later": now + timedelta(days=1)})
    return time.perf_counter() - started


def _timers(database: Database, corp_id: int, count: int, spread: float, clock: Clock) -> list[float]:
    definition = {"trigger": {"type": "manual"}, "nodes": [
        {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "end"}, {"id": "end", "type": "exit"}]}
    journey_id, _ = _journey(database, corp_id, "bench timers", definition, clock)
    with database.session() as session:
        journey = session.get(Journey, journey_id)
        version = service.repository.version(session, journey, journey.live_version)
        customers = (select(Customer.id).where(Customer.corp_id == corp_id).order_by(Customer.id).limit(count))
        engine.enrol_select(session, journey, version, customers, source="api", now=clock.now())
    start = clock.now() + timedelta(seconds=2)
    with database.session() as session:
        first = session.scalar(select(func.min(JourneyEnrolment.id)).where(JourneyEnrolment.journey_id == journey_id))
        session.execute(text("UPDATE journey_enrolment SET due_at = :start + ((id - :first) % :count) * "
                             "(:spread / :count) * interval '1 second' WHERE journey_id = :journey"),
                        {"start": start, "first": first, "count": count, "spread": spread, "journey": journey_id})
    lateness: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work() -> None:
        runner = JourneyRunner(database, clock=clock, batch_size=2000)
        while not stop.is_set():
            result = runner.run_batch()
            with lock:
                lateness.extend(result.lateness)
            if result.claimed == 0:
                time.sleep(0.05)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + spread + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        with lock:
            if sum(1 for v in lateness if v is not None) >= count * 2 - 1:
                break
        with database.session() as session:
            if not session.scalar(select(func.count()).where(JourneyEnrolment.journey_id == journey_id,
                                                             JourneyEnrolment.status == "active")):
                break
    stop.set()
    for thread in threads:
        thread.join()
    return lateness


def _cleanup(database: Database, journey_ids: list[int], group_id: int | None) -> None:
    with database.session() as session:
        for journey_id in journey_ids:
            session.execute(delete(JourneyStep).where(JourneyStep.journey_id == journey_id))
            session.execute(delete(JourneyEnrolment).where(JourneyEnrolment.journey_id == journey_id))
            session.execute(delete(Journey).where(Journey.id == journey_id))
        if group_id is not None:
            tag_ids = list(session.scalars(select(Tag.id).where(Tag.group_id == group_id)))
            for table in ("customer_tag", "tag_history"):
                session.execute(text(f"DELETE FROM {table} WHERE tag_id = ANY(:ids)"), {"ids": tag_ids})
            session.execute(delete(Tag).where(Tag.group_id == group_id))
            session.execute(delete(TagGroup).where(TagGroup.id == group_id))


def run(url: str, batch: int, timers: int, spread: float, limit: int | None = None) -> Figures:
    database = Database(url)
    clock = Clock()
    with database.session() as session:
        corp_id = session.scalar(select(Customer.corp_id).group_by(Customer.corp_id)
                                 .order_by(func.count().desc()).limit(1))
        group = TagGroup(corp_id=corp_id, name="bench journey")
        session.add(group)
        session.flush()
        tags = [Tag(corp_id=corp_id, group_id=group.id, name=f"bench journey {n}") for n in (1, 2)]
        session.add_all(tags)
        session.flush()
        group_id, engine_tag, reference_tag = group.id, tags[0].id, tags[1].id
    journeys: list[int] = []
    try:
        engine_journey, _ = _journey(database, corp_id, "bench engine", _definition(engine_tag), clock)
        reference_journey, _ = _journey(database, corp_id, "bench reference", _definition(reference_tag), clock)
        journeys += [engine_journey, reference_journey]
        # the reference journey is paused so the engine's runner does not touch it
        with database.session() as session:
            session.get(Journey, reference_journey).status = "paused"
        started = time.perf_counter()
        customers = _enrol_all(database, engine_journey, corp_id, clock, limit)
        enrol_seconds = time.perf_counter() - started
        _enrol_all(database, reference_journey, corp_id, clock, limit)
        print(f"  enrolled {customers:,} customers in {enrol_seconds:.1f} s (and as many for the reference)")
        # fresh rows: give the planner their statistics, as autovacuum would within a minute
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE journey_enrolment"))
            connection.execute(text("ANALYZE journey_step"))
        carry_seconds, executions = _carry(database, engine_journey, batch, clock)
        carry_seconds += enrol_seconds
        reference_seconds = _reference(database, reference_journey, reference_tag, clock)
        print(f"  reference: {reference_seconds:.1f} s")
        with database.session() as session:
            at_wait = session.scalar(select(func.count()).where(JourneyEnrolment.journey_id == engine_journey,
                                                                JourneyEnrolment.node == "wait"))
            reference_wait = session.scalar(select(func.count()).where(
                JourneyEnrolment.journey_id == reference_journey, JourneyEnrolment.node == "wait"))
        print(f"  at the wait node: engine {at_wait:,}, reference {reference_wait:,}")
        lateness = _timers(database, corp_id, timers, spread, clock)
        with database.session() as session:
            journeys += list(session.scalars(select(Journey.id).where(Journey.name == "bench timers")))
        return Figures(customers, carry_seconds, executions, reference_seconds, timers, lateness,
                       describe_machine(), describe_database(database.engine))
    finally:
        _cleanup(database, journeys, group_id)
        database.dispose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(figures: Figures) -> str:
    rate = figures.executions / figures.carry_seconds
    timed = [v for v in figures.lateness if v is not None]
    return "\n".join([
        "## Journeys (issue 7)", "",
        f"{figures.machine}; {figures.database}.", "",
        "| measure | siyu | reference (bulk SQL) | ratio | target |",
        "|---|---|---|---|---|",
        f"| {figures.customers:,} enrolments through their first three nodes (split → segment condition → "
        f"add tag) | {figures.carry_seconds:.1f} s | {figures.reference_seconds:.1f} s | "
        f"{figures.carry_seconds / figures.reference_seconds:.1f} | < 60 s |",
        f"| node executions per second | {rate:,.0f} | "
        f"{figures.executions / figures.reference_seconds:,.0f} | "
        f"{figures.carry_seconds / figures.reference_seconds:.1f} | ≥ 10 000 |",
        f"| timer lateness, {figures.timers:,} timers over the run, p50 / p99 / max | "
        f"{statistics.median(timed):.3f} / {_percentile(timed, 0.99):.3f} / {max(timed):.3f} s | — | — | p99 < 1 s |",
        "", "Command: `flock /tmp/siyu_bench.lock .venv/bin/python -m bench journey`.", ""])


def _scratch(admin_url: str, customers: int) -> tuple[str, str]:
    """A scratch database at the current schema with one corp of ``customers`` customers."""
    from bench.machine import create_scratch_database
    from siyu.kit.migrate import upgrade

    url, name = create_scratch_database(admin_url, "journey")
    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    database = Database(url)
    with database.engine.begin() as connection:
        corp_id = connection.execute(text("INSERT INTO corp (slug, name, timezone, created_at, updated_at) VALUES "
                                          "('bench', '压测品牌', 'Asia/Shanghai', now(), now()) RETURNING id")).scalar_one()
        connection.execute(text("INSERT INTO customer (corp_id, name, created_at, updated_at) "
                                "SELECT :corp, '客户' || n, now(), now() FROM generate_series(1, :count) n"),
                           {"corp": corp_id, "count": customers})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    database.dispose()
    return url, name


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench journey", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/siyu_bench"))
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--timers", type=int, default=100000)
    parser.add_argument("--spread", type=float, default=20.0, help="seconds the timers are spread over")
    parser.add_argument("--limit", type=int, default=None, help="enrol at most this many customers")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--scratch", type=int, default=None,
                        help="run on a scratch database with this many customers instead of siyu_bench")
    options = parser.parse_args(argv)
    url, scratch = options.database_url, None
    if options.scratch:
        url, scratch = _scratch(options.database_url.rsplit("/", 1)[0] + "/postgres", options.scratch)
    try:
        figures = run(url, options.batch, options.timers, options.spread, options.limit)
    finally:
        if scratch:
            from bench.machine import drop_database

            drop_database(options.database_url.rsplit("/", 1)[0] + "/postgres", scratch)
    text_report = report(figures)
    print(text_report)
    if not options.no_record:
        with REPORT.open("a", encoding="utf-8") as file:
            file.write("\n" + text_report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
