"""Channel-code statistics and the add hook, against references on the same data in this process.

    python -m bench acquisition [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                                [--adds 200000] [--codes 20] [--no-record]

A scratch database (a SQLite file by default; with ``--database-url``, a new PostgreSQL database on
that server, dropped at the end — never the shared ``siyu_bench``) is migrated and filled with one
corp: ``--codes`` channel codes over 30 staff, ``--adds`` customers who arrived through them over 60
days (relations, adds, day counters; one in eight relations ended later), and 1.5 orders per customer.

1. Statistics — ``acquisition.stats.code_statistics`` for every code (adds per day and per staff,
   still connected after 7 and 30 days, attributed orders and sales) against one DuckDB query per
   figure over the same rows loaded into DuckDB (loading timed apart, excluded). Results are
   compared; the benchmark fails on any difference.
2. The add hook — ``acquisition.service.customer_added`` (record the add, count the day, tag,
   policy-gated welcome into the outbox, rotation) for 500 new adds, against the two hand-written
   statements that are the least any add needs (insert the add, raise the day counter).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from sqlalchemy import create_engine, insert, text

from bench.machine import describe_database, describe_machine, drop_database

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _scratch(url: str | None) -> tuple[str, callable]:
    if not url:
        folder = tempfile.mkdtemp(prefix="siyu-acq-bench-")
        return f"sqlite:///{folder}/bench.db", lambda: None
    base = url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
    name = f"siyu_acq_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{base}/{name}", lambda: drop_database(base + "/postgres", name)


def _fill(database, codes: int, adds: int) -> dict:
    import random

    from siyu.models import (
        ChannelCode,
        ChannelCodeAdd,
        ChannelCodeDay,
        ChannelCodeMember,
        Corp,
        Customer,
        Order,
        Relation,
        Staff,
    )

    rng = random.Random(8)
    rows: dict[str, list] = {"adds": [], "relations": [], "orders": [], "days": {}}
    with database.session() as session:
        corp = Corp(slug="acqbench", name="引流压测")
        session.add(corp)
        session.flush()
        staff = [Staff(corp_id=corp.id, userid=f"s{i:03d}", name=f"顾问{i}") for i in range(30)]
        session.add_all(staff)
        session.flush()
        made = [ChannelCode(corp_id=corp.id, name=f"码{i}", state=f"cc{i:04d}", status="active", routing="weighted",
                            rotation=[], tag_ids=[], welcome_attachments=[], created_at=NOW, updated_at=NOW)
                for i in range(codes)]
        session.add_all(made)
        session.flush()
        for code in made:
            for member in rng.sample(staff, 3):
                session.add(ChannelCodeMember(corp_id=corp.id, channel_code_id=code.id, staff_id=member.id,
                                              created_at=NOW, updated_at=NOW))
        session.flush()
        corp_id, staff_ids, code_ids = corp.id, [s.id for s in staff], [c.id for c in made]
    chunk = 20_000
    for start in range(0, adds, chunk):
        count = min(chunk, adds - start)
        with database.session() as session:
            customers = session.execute(insert(Customer).returning(Customer.id),
                                        [{"corp_id": corp_id, "created_at": NOW, "updated_at": NOW}] * count
                                        ).scalars().all()
            relation_values, moments = [], []
            for customer_id in customers:
                added_at = NOW - timedelta(days=rng.uniform(0, 60))
                ended = added_at + timedelta(days=rng.uniform(0, 40)) if rng.random() < 0.125 else None
                staff_id, code_id = rng.choice(staff_ids), rng.choice(code_ids)
                relation_values.append({"corp_id": corp_id, "staff_id": staff_id, "customer_id": customer_id,
                                        "status": "deleted_by_customer" if ended else "active", "added_at": added_at,
                                        "ended_at": ended, "created_at": NOW, "updated_at": NOW})
                moments.append((customer_id, staff_id, code_id, added_at, ended))
            relation_ids = session.execute(insert(Relation).returning(Relation.id), relation_values).scalars().all()
            add_values, order_values = [], []
            for relation_id, moment in zip(relation_ids, moments, strict=True):
                customer_id, staff_id, code_id, added_at, ended = moment
                add_values.append({"corp_id": corp_id, "channel_code_id": code_id, "customer_id": customer_id,
                                   "staff_id": staff_id, "relation_id": relation_id, "added_at": added_at,
                                   "welcome": "queued"})
                rows["adds"].append((code_id, customer_id, staff_id, added_at, ended))
                day = (added_at + timedelta(hours=8)).date()
                rows["days"][(code_id, staff_id, day)] = rows["days"].get((code_id, staff_id, day), 0) + 1
                for _ in range(rng.choice((0, 1, 1, 2, 3))):
                    paid = added_at + timedelta(days=rng.uniform(-20, 30))
                    amount = Decimal(rng.randrange(1000, 50000)) / 100
                    order_values.append({"corp_id": corp_id, "customer_id": customer_id, "platform": "pos",
                                         "shop": "", "order_no": f"o{len(rows['orders'])}", "status": "paid",
                                         "amount": amount, "refund_amount": Decimal(0), "item_count": 1,
                                         "paid_at": paid, "created_at": NOW, "updated_at": NOW})
                    rows["orders"].append((customer_id, paid, amount))
            session.execute(insert(ChannelCodeAdd), add_values)
            if order_values:
                session.execute(insert(Order), order_values)
    with database.session() as session:
        session.execute(insert(ChannelCodeDay), [
            {"corp_id": corp_id, "channel_code_id": c, "staff_id": s, "day": d, "adds": n}
            for (c, s, d), n in rows["days"].items()])
    rows.update(corp_id=corp_id, code_ids=code_ids, staff_ids=staff_ids)
    return rows


def _siyu_statistics(database, code_ids: list[int]) -> tuple[float, dict]:
    from siyu.acquisition import stats
    from siyu.models import ChannelCode

    found = {}
    started = time.perf_counter()
    with database.session() as session:
        for code_id in code_ids:
            code = session.get(ChannelCode, code_id)
            result = stats.code_statistics(session, code, NOW, (NOW + timedelta(hours=8)).date(), days=62)
            found[code_id] = (result.total_adds, sum(n for _, n in result.adds_per_day),
                              tuple((r.eligible, r.retained) for r in result.retention), result.orders,
                              round(result.sales, 2))
    return time.perf_counter() - started, found


def _duckdb_statistics(rows: dict) -> tuple[float, float, dict]:
    connection = duckdb.connect()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="siyu-acq-duck-"))
    _csv(folder / "adds.csv", rows["adds"])
    _csv(folder / "orders.csv", rows["orders"])
    connection.execute(f"""CREATE TABLE adds AS SELECT * FROM read_csv('{folder / "adds.csv"}', header=false,
        columns={{'code_id': 'BIGINT', 'customer_id': 'BIGINT', 'staff_id': 'BIGINT', 'added_at': 'TIMESTAMPTZ',
                  'ended_at': 'TIMESTAMPTZ'}})""")
    connection.execute(f"""CREATE TABLE orders AS SELECT * FROM read_csv('{folder / "orders.csv"}', header=false,
        columns={{'customer_id': 'BIGINT', 'paid_at': 'TIMESTAMPTZ', 'amount': 'DECIMAL(12,2)'}})""")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    now = NOW
    figures = connection.execute("""
        WITH base AS (SELECT code_id, count(*) AS total FROM adds GROUP BY code_id),
        kept AS (
            SELECT code_id,
                   count(*) FILTER (WHERE added_at <= ?::TIMESTAMPTZ - INTERVAL 7 DAY) AS e7,
                   count(*) FILTER (WHERE added_at <= ?::TIMESTAMPTZ - INTERVAL 7 DAY
                                    AND (ended_at IS NULL OR ended_at - added_at >= INTERVAL 7 DAY)) AS r7,
                   count(*) FILTER (WHERE added_at <= ?::TIMESTAMPTZ - INTERVAL 30 DAY) AS e30,
                   count(*) FILTER (WHERE added_at <= ?::TIMESTAMPTZ - INTERVAL 30 DAY
                                    AND (ended_at IS NULL OR ended_at - added_at >= INTERVAL 30 DAY)) AS r30
            FROM adds GROUP BY code_id),
        sold AS (
            SELECT a.code_id, count(*) AS orders, sum(o.amount) AS sales
            FROM adds a JOIN orders o ON o.customer_id = a.customer_id AND o.paid_at >= a.added_at
            GROUP BY a.code_id)
        SELECT b.code_id, b.total, k.e7, k.r7, k.e30, k.r30, coalesce(s.orders, 0), coalesce(s.sales, 0)
        FROM base b JOIN kept k USING (code_id) LEFT JOIN sold s USING (code_id)
    """, [now, now, now, now]).fetchall()
    elapsed = time.perf_counter() - started
    found = {row[0]: (row[1], row[1], ((row[2], row[3]), (row[4], row[5])), row[6], round(Decimal(row[7]), 2))
             for row in figures}
    return elapsed, loaded, found


def _csv(path: Path, rows: list[tuple]) -> None:
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in row])


def _hook(database, rows: dict, count: int) -> tuple[float, float]:
    from siyu.acquisition import service
    from siyu.customer.contacts import CustomerAdded
    from siyu.kit.clock import TestClock
    from siyu.models import Customer, Relation

    clock = TestClock(NOW)
    code_id, staff_id = rows["code_ids"][0], rows["staff_ids"][0]
    with database.session() as session:
        state = session.execute(text("SELECT state FROM channel_code WHERE id = :id"), {"id": code_id}).scalar()
        customers = session.execute(insert(Customer).returning(Customer.id),
                                    [{"corp_id": rows["corp_id"], "created_at": NOW, "updated_at": NOW}] * count * 2
                                    ).scalars().all()
        relations = session.execute(insert(Relation).returning(Relation.id), [
            {"corp_id": rows["corp_id"], "staff_id": staff_id, "customer_id": c, "status": "active",
             "added_at": NOW, "created_at": NOW, "updated_at": NOW} for c in customers]).scalars().all()
    pairs = list(zip(customers, relations, strict=True))
    started = time.perf_counter()
    for customer_id, relation_id in pairs[:count]:
        with database.session(immediate=True) as session:
            service.customer_added(session, CustomerAdded(
                rows["corp_id"], customer_id, relation_id, staff_id, "s000", f"wm{customer_id}", NOW, state,
                f"code{customer_id}", False, True), clock=clock)
    siyu = time.perf_counter() - started
    started = time.perf_counter()
    for customer_id, relation_id in pairs[count:]:
        with database.session(immediate=True) as session:
            session.execute(text("INSERT INTO channel_code_add (corp_id, channel_code_id, customer_id, staff_id, "
                                 "relation_id, added_at, welcome) VALUES (:corp, :code, :customer, :staff, :relation, "
                                 ":at, 'none') ON CONFLICT DO NOTHING"),
                            {"corp": rows["corp_id"], "code": code_id, "customer": customer_id, "staff": staff_id,
                             "relation": relation_id, "at": NOW})
            session.execute(text("INSERT INTO channel_code_day (corp_id, channel_code_id, staff_id, day, adds) "
                                 "VALUES (:corp, :code, :staff, :day, 1) ON CONFLICT (channel_code_id, staff_id, day) "
                                 "DO UPDATE SET adds = channel_code_day.adds + 1"),
                            {"corp": rows["corp_id"], "code": code_id, "staff": staff_id, "day": NOW.date()})
    return siyu, time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench acquisition")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--adds", type=int, default=200_000)
    parser.add_argument("--codes", type=int, default=20)
    parser.add_argument("--hook-adds", type=int, default=500)
    parser.add_argument("--no-record", action="store_true")
    options = parser.parse_args(argv)
    from siyu.kit.db import Database
    from siyu.kit.migrate import upgrade

    url, drop = _scratch(options.database_url)
    try:
        upgrade(url)
        database = Database(url)
        started = time.perf_counter()
        rows = _fill(database, options.codes, options.adds)
        print(f"filled {options.adds} adds, {len(rows['orders'])} orders in {time.perf_counter() - started:.1f} s")
        siyu_seconds, siyu_found = _siyu_statistics(database, rows["code_ids"])
        duck_seconds, duck_loaded, duck_found = _duckdb_statistics(rows)
        if siyu_found != duck_found:
            differing = [c for c in siyu_found if siyu_found[c] != duck_found.get(c)]
            print(f"MISMATCH for codes {differing[:5]}: {siyu_found[differing[0]]} != {duck_found.get(differing[0])}")
            return 1
        hook_seconds, raw_seconds = _hook(database, rows, options.hook_adds)
        engine_line = describe_database(database.engine)
        database.dispose()
    finally:
        drop()
    lines = [
        f"statistics of {options.codes} codes over {options.adds} adds: siyu {siyu_seconds:.3f} s, "
        f"DuckDB {duck_seconds:.3f} s (load {duck_loaded:.1f} s apart) → ratio {siyu_seconds / duck_seconds:.1f}×; "
        "results identical",
        f"add hook: {options.hook_adds} adds {hook_seconds:.2f} s "
        f"({1000 * hook_seconds / options.hook_adds:.1f} ms/add) "
        f"vs two hand-written statements {raw_seconds:.2f} s → ratio {hook_seconds / raw_seconds:.1f}×",
    ]
    for line in lines:
        print(line)
    if not options.no_record:
        _record(lines, engine_line, options)
    return 0


def _record(lines: list[str], engine_line: str, options) -> None:
    heading = "## Acquisition: channel-code statistics and the add hook (issue 8)"
    block = "\n".join([heading, "", f"Machine: {describe_machine()}; {engine_line}.", "",
                       f"`python -m bench acquisition{' --database-url …' if options.database_url else ''} "
                       f"--adds {options.adds} --codes {options.codes}`", "", *[f"* {line}" for line in lines], ""])
    text_now = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    marker = f"{heading} — {engine_line.split(' ')[0]}"
    block = block.replace(heading, marker, 1)
    if marker in text_now:
        start = text_now.index(marker)
        end = text_now.find("\n## ", start + 1)
        text_now = text_now[:start] + block + (text_now[end + 1:] if end != -1 else "")
    else:
        text_now = text_now.rstrip("\n") + "\n\n" + block
    REPORT.write_text(text_now)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
