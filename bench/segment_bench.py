"""Segments on the bench brand: the composite segment of issue 5 against a hand-written DuckDB query,
the first fill of its membership, and incremental refresh after 10 k customers change.

    python -m bench segment [--database-url postgresql://…/siyu_bench] [--in-place] [--no-record]

The composite segment: RFM class in (重要价值, 重要保持, 重要发展) AND tag "bench-vip" AND "purchased the
most common category ≥ 2 times in 90 days" AND NOT "received a broadcast in 7 days" AND served by the
store subtree of one branch.

By default the benchmark copies the bench database (``CREATE DATABASE … TEMPLATE``), migrates the copy
to the current schema and drops it at the end, so the shared database is never written. In the copy
(untimed set-up) it computes the traits (``recompute_corp``), tags a random 30 % of customers, writes
broadcast touches for a random 20 % (half of them in the last 7 days), and builds the event rollup.

Timed, in this process, best of three:

* siyu: ``compile_condition`` of the definition, executed as ``count(*)`` and as the sum of the ids
  (so both engines must agree on the exact set), on PostgreSQL;
* DuckDB: the same audience as one hand-written query over the same rows, loaded from PostgreSQL
  (``COPY`` to CSV, then ``read_csv``; the load is timed apart and excluded), all cores;
* the first fill of ``segment_membership`` (every member inserted, every entry logged);
* incremental: 10,000 random customers each get a new order of the category (not timed), then one
  tick — the dirty set from the watermarks, the composite segment re-evaluated for those customers,
  entries and exits applied and logged — is timed; and a tick after one customer's order, the
  latency an order sees before its customer's membership changes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import func, select, text

from bench.machine import describe_database, describe_machine, drop_database
from bench.rfm_bench import _copy_database, _copy_out, _sqlalchemy_url, _utc_text

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
CLASSES = ("important_value", "important_keep", "important_develop")
INCREMENTAL_CUSTOMERS = 10_000


@dataclass
class Setup:
    corp_id: int
    customers: int
    orders: int
    events: int
    tag_id: int
    category: str
    branch_id: int
    branch_path: str
    now: datetime
    traits_seconds: float
    rollup_seconds: float


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def prepare(database, now: datetime) -> Setup:
    """The untimed set-up in the copy: traits, a tag, touches, the rollup."""
    from siyu.customer.traits import recompute_corp
    from siyu.kit.clock import TestClock
    from siyu.segment import rollup

    clock = TestClock(now)
    with database.engine.connect() as connection:
        corp_id = connection.execute(text(
            "SELECT corp_id FROM customer GROUP BY corp_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        customers = connection.execute(text("SELECT count(*) FROM customer WHERE corp_id = :c"),
                                       {"c": corp_id}).scalar_one()
        orders = connection.execute(text("SELECT count(*) FROM customer_order WHERE corp_id = :c"),
                                    {"c": corp_id}).scalar_one()
        events = connection.execute(text("SELECT count(*) FROM event WHERE corp_id = :c"), {"c": corp_id}).scalar_one()
        category = connection.execute(text(
            "SELECT category FROM customer_order WHERE corp_id = :c AND category IS NOT NULL "
            "GROUP BY category ORDER BY count(*) DESC LIMIT 1"), {"c": corp_id}).scalar_one()
        branch_id, branch_path = connection.execute(text(
            "SELECT id, path FROM department WHERE corp_id = :c AND kind = 'branch' ORDER BY id LIMIT 1"),
            {"c": corp_id}).one()
    print(f"corp {corp_id}: {customers:,} customers, {orders:,} orders, {events:,} events; category {category!r}, "
          f"branch {branch_id}", flush=True)

    def traits() -> None:
        with database.session() as session:
            recompute_corp(session, corp_id, clock=clock)

    traits_seconds = _timed(traits)
    print(f"set-up: traits {traits_seconds:.1f} s", flush=True)
    with database.session() as session:
        group_id = session.execute(text(
            "INSERT INTO tag_group (corp_id, name, \"order\", created_at, updated_at) "
            "VALUES (:c, 'bench', 0, :now, :now) RETURNING id"), {"c": corp_id, "now": now}).scalar_one()
        tag_id = session.execute(text(
            "INSERT INTO tag (corp_id, group_id, name, \"order\", kind, created_at, updated_at) "
            "VALUES (:c, :g, 'bench-vip', 0, 'manual', :now, :now) RETURNING id"),
            {"c": corp_id, "g": group_id, "now": now}).scalar_one()
        session.execute(text(
            "INSERT INTO customer_tag (corp_id, customer_id, tag_id, source, tagged_at) "
            "SELECT :c, id, :t, 'manual', :old FROM customer WHERE corp_id = :c AND random() < 0.3"),
            {"c": corp_id, "t": tag_id, "old": now - timedelta(days=30)})
        session.execute(text(
            "INSERT INTO touch (corp_id, customer_id, channel, priority, status, source_kind, source_id, "
            "occurred_at, created_at, updated_at) "
            "SELECT :c, id, 'broadcast', 'marketing', 'sent', 'bench', '1', "
            "       :now - (CASE WHEN random() < 0.5 THEN interval '3 days' ELSE interval '20 days' END), :old, :old "
            "FROM customer WHERE corp_id = :c AND random() < 0.2"),
            {"c": corp_id, "now": now, "old": now - timedelta(days=30)})

    def build_rollup() -> None:
        with database.session() as session:
            rollup.rebuild(session, corp_id, None)

    rollup_seconds = _timed(build_rollup)
    print(f"set-up: event rollup {rollup_seconds:.1f} s", flush=True)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("customer_trait", "customer_tag", "touch", "customer_event_day", "relation", "customer_order"):
            connection.execute(text(f"VACUUM ANALYZE {table}"))
    return Setup(corp_id, customers, orders, events, tag_id, category, branch_id, branch_path, now,
                 traits_seconds, rollup_seconds)


def definition(setup: Setup) -> dict:
    return {"version": 1, "condition": {"all": [
        {"rfm": {"classes": list(CLASSES)}},
        {"tag": {"any": [setup.tag_id]}},
        {"order": {"metric": "count", "op": ">=", "value": 2, "category": setup.category, "within": "90d"}},
        {"not": {"touch": {"channel": "broadcast", "within": "7d"}}},
        {"relation": {"department": setup.branch_id}},
    ]}}


DUCKDB_QUERY = """
SELECT count(*), coalesce(sum(c.id), 0) FROM customers c JOIN traits t ON t.customer_id = c.id
WHERE t.rfm_class IN ('important_value', 'important_keep', 'important_develop')
  AND c.id IN (SELECT customer_id FROM tags WHERE tag_id = $tag)
  AND c.id IN (SELECT customer_id FROM orders
               WHERE status IN ('paid', 'shipped', 'completed') AND category = $category
                 AND paid_at >= $since90 AND paid_at <= $now
               GROUP BY customer_id HAVING count(*) >= 2)
  AND c.id NOT IN (SELECT customer_id FROM touches
                   WHERE channel = 'broadcast' AND status IN ('allowed', 'sent')
                     AND occurred_at >= $since7 AND occurred_at <= $now)
  AND c.id IN (SELECT r.customer_id FROM relations r JOIN staff s ON s.id = r.staff_id
               JOIN departments d ON d.id = s.department_id
               WHERE r.status = 'active' AND starts_with(d.path, $path))
"""


def load_duckdb(url: str, setup: Setup, folder: Path) -> tuple[duckdb.DuckDBPyConnection, float]:
    c = setup.corp_id
    tables = {
        "customers": (f"SELECT id FROM customer WHERE corp_id = {c} AND merged_into_id IS NULL", "id BIGINT"),
        "traits": (f"SELECT customer_id, rfm_class FROM customer_trait WHERE corp_id = {c}",
                   "customer_id BIGINT, rfm_class VARCHAR"),
        "tags": (f"SELECT customer_id, tag_id FROM customer_tag WHERE corp_id = {c}", "customer_id BIGINT, tag_id BIGINT"),
        "orders": (f"SELECT customer_id, status, category, {_utc_text('paid_at')} FROM customer_order WHERE corp_id = {c} "
                   "AND customer_id IS NOT NULL",
                   "customer_id BIGINT, status VARCHAR, category VARCHAR, paid_at TIMESTAMP"),
        "touches": (f"SELECT customer_id, channel, status, {_utc_text('occurred_at')} FROM touch WHERE corp_id = {c}",
                    "customer_id BIGINT, channel VARCHAR, status VARCHAR, occurred_at TIMESTAMP"),
        "relations": (f"SELECT customer_id, staff_id, status FROM relation WHERE corp_id = {c}",
                      "customer_id BIGINT, staff_id BIGINT, status VARCHAR"),
        "staff": (f"SELECT id, department_id FROM staff WHERE corp_id = {c}", "id BIGINT, department_id BIGINT"),
        "departments": (f"SELECT id, path FROM department WHERE corp_id = {c}", "id BIGINT, path VARCHAR"),
    }
    started = time.perf_counter()
    duck = duckdb.connect(config={"threads": os.cpu_count() or 1})
    for name, (query, columns) in tables.items():
        path = folder / f"{name}.csv"
        _copy_out(url, query, path)
        spec = ", ".join(f"'{part.split()[0]}': '{part.split()[1]}'" for part in columns.split(", "))
        duck.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', header = false, columns = {{{spec}}})")
    return duck, time.perf_counter() - started


def best_of(runs: int, action) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return min(timings), result


@dataclass
class Figures:
    machine: str
    database: str
    setup: Setup
    members: int
    siyu_seconds: float
    duckdb_seconds: float
    load_seconds: float
    agree: bool
    fill_seconds: float
    incremental_customers: int
    incremental_seconds: float
    incremental_entered: int
    incremental_exited: int
    one_order_seconds: float


def run(url: str) -> Figures:
    from siyu.kit.clock import TestClock
    from siyu.kit.db import Database
    from siyu.models.segment import Segment
    from siyu.segment import compile_condition, membership

    database = Database(_sqlalchemy_url(url))
    now = datetime.now(UTC).replace(microsecond=0)
    setup = prepare(database, now)
    segment_definition = definition(setup)

    def siyu_count():
        with database.session() as session:
            ids = compile_condition(session, setup.corp_id, segment_definition, now=now).subquery()
            return tuple(session.execute(select(func.count(), func.coalesce(func.sum(ids.c[0]), 0))).one())

    siyu_seconds, siyu_result = best_of(3, siyu_count)
    print(f"siyu composite: {siyu_result[0]:,} members in {siyu_seconds:.3f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="siyu-segment-") as folder:
        duck, load_seconds = load_duckdb(url, setup, Path(folder))
        print(f"DuckDB loaded (excluded): {load_seconds:.1f} s", flush=True)
        parameters = {"tag": setup.tag_id, "category": setup.category, "path": setup.branch_path,
                      "now": now.replace(tzinfo=None), "since90": (now - timedelta(days=90)).replace(tzinfo=None),
                      "since7": (now - timedelta(days=7)).replace(tzinfo=None)}
        duckdb_seconds, duck_result = best_of(3, lambda: tuple(duck.execute(DUCKDB_QUERY, parameters).fetchone()))
        print(f"DuckDB composite: {duck_result[0]:,} members in {duckdb_seconds:.3f} s", flush=True)
    agree = tuple(map(int, siyu_result)) == tuple(map(int, duck_result))

    clock = TestClock(now)
    with database.session() as session:
        segment = Segment(corp_id=setup.corp_id, name="bench composite", kind="dynamic", member_count=0,
                          definition=segment_definition, created_at=now, updated_at=now)
        session.add(segment)
        session.flush()
        segment_id = segment.id
    with database.session() as session:
        state = membership.refresh_state(session, setup.corp_id, now)
        # the set-up wrote traits at ``now``: the first tick reads what changed after it
        state.events_seen_at = now
        state.changes_seen_at = now + timedelta(seconds=90)

    def fill():
        with database.session() as session:
            membership.refresh_segment(session, session.get(Segment, segment_id), now, dirty=None)

    fill_seconds = _timed(fill)
    print(f"first fill of the membership: {fill_seconds:.2f} s", flush=True)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE segment_membership"))

    # 10 k customers change: one new order of the category each, after the watermark
    clock.advance(timedelta(minutes=2))
    changed_at = clock.now()
    with database.session() as session:
        ids = list(session.execute(text(
            "SELECT id FROM customer WHERE corp_id = :c AND merged_into_id IS NULL ORDER BY random() LIMIT :n"),
            {"c": setup.corp_id, "n": INCREMENTAL_CUSTOMERS}).scalars())
        session.execute(text(
            "INSERT INTO customer_order (corp_id, customer_id, platform, shop, order_no, status, category, amount, "
            "item_count, refund_amount, paid_at, created_at, updated_at, source) "
            "SELECT :c, id, 'miniprogram', 'bench-segment', 'SEG' || id, 'paid', :cat, 36.50, 1, 0, "
            ":at, :at, :at, 'bench' FROM unnest(CAST(:ids AS bigint[])) AS id"),
            {"c": setup.corp_id, "ids": ids, "at": changed_at, "cat": setup.category})
    clock.advance(timedelta(seconds=61))

    def tick():
        with database.session() as session:
            return membership.refresh_corp(session, setup.corp_id, clock.now())

    incremental_seconds, results = best_of(1, tick)
    result = results[0]
    print(f"incremental tick after {len(ids):,} changed customers: {incremental_seconds:.2f} s "
          f"(full={result.full}, evaluated {result.evaluated}, +{result.entered} −{result.exited})", flush=True)

    # one customer's order: the latency of one tick
    with database.session() as session:
        session.execute(text(
            "INSERT INTO customer_order (corp_id, customer_id, platform, shop, order_no, status, category, amount, "
            "item_count, refund_amount, paid_at, created_at, updated_at, source) "
            "VALUES (:c, :id, 'miniprogram', 'bench-segment', 'ONE' || :id, 'paid', :cat, 36.50, 1, 0, :at, :at, :at, "
            "'bench')"), {"c": setup.corp_id, "id": ids[0], "at": clock.now(), "cat": setup.category})
    clock.advance(timedelta(seconds=61))
    one_order_seconds, _ = best_of(1, tick)
    print(f"tick after one order: {one_order_seconds:.3f} s", flush=True)
    figures = Figures(describe_machine(), describe_database(database.engine), setup, int(siyu_result[0]),
                      siyu_seconds, duckdb_seconds, load_seconds, agree, fill_seconds, len(ids), incremental_seconds,
                      result.entered, result.exited, one_order_seconds)
    database.dispose()
    return figures


def report(f: Figures) -> str:
    ratio = f.siyu_seconds / f.duckdb_seconds if f.duckdb_seconds else float("inf")
    return "\n".join([
        f"## Segments: the composite segment vs DuckDB, and incremental refresh (`bench/segment_bench.py`) — "
        f"{f.machine}",
        "",
        (f"{f.database}. Corp of {f.setup.customers:,} customers, {f.setup.orders:,} orders, {f.setup.events:,} "
         f"events (a migrated copy of `siyu_bench`; `python -m bench segment`). Set-up, untimed: traits "
         f"{f.setup.traits_seconds:.1f} s, tag on a random 30 %, broadcast touches for a random 20 %, event rollup "
         f"built from the raw events in {f.setup.rollup_seconds:.1f} s."),
        "",
        (f"Segment: RFM class in (重要价值, 重要保持, 重要发展) AND tag AND ≥ 2 orders of {f.setup.category!r} in 90 days "
         f"AND NOT a broadcast received in 7 days AND served in the store subtree of branch {f.setup.branch_id}: "
         f"**{f.members:,} members**; siyu and DuckDB {'agree on the exact set (count and sum of ids)' if f.agree else 'DISAGREE'}."),
        "",
        "| run | seconds | × DuckDB |",
        "|---|---:|---:|",
        f"| siyu `compile_condition` on PostgreSQL (best of 3) | {f.siyu_seconds:.3f} | **{ratio:.2f}** |",
        f"| DuckDB, one hand-written query, {os.cpu_count()} threads (best of 3; load {f.load_seconds:.0f} s excluded) "
        f"| {f.duckdb_seconds:.3f} | 1.00 |",
        f"| first fill of `segment_membership` ({f.members:,} entries inserted and logged) | {f.fill_seconds:.2f} | |",
        (f"| incremental tick after {f.incremental_customers:,} customers got an order (dirty set, re-evaluation, "
         f"+{f.incremental_entered:,} −{f.incremental_exited:,}) | {f.incremental_seconds:.2f} | |"),
        f"| tick after one customer's order (plus the 3 s tick interval: the end-to-end latency) | "
        f"{f.one_order_seconds:.3f} | |",
        "",
    ])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench segment", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/siyu_bench"))
    parser.add_argument("--in-place", action="store_true", help="run on the database itself (a scratch copy)")
    parser.add_argument("--no-record", action="store_true", help="do not append the figures to docs/benchmarks.md")
    options = parser.parse_args(argv)
    url, name = options.database_url, None
    if not options.in_place:
        print("copying and migrating the bench database …", flush=True)
        url, name = _copy_database(options.database_url)
    try:
        figures = run(url)
    finally:
        if name is not None:
            drop_database(options.database_url.rsplit("/", 1)[0] + "/postgres", name)
    text_report = report(figures)
    print(text_report)
    if not options.no_record:
        with REPORT.open("a", encoding="utf-8") as file:
            file.write("\n" + text_report)
    return 0 if figures.agree else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
