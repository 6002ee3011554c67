"""Loyalty at scale: the points sweep over every order, the level recompute over every member, and
coupon issuing under concurrency — each against a hand-written SQL reference on the same rows.

    python -m bench loyalty [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                            [--customers 200000] [--orders 1000000] [--no-record]

The population is generated in a scratch database (created next to ``--database-url``, migrated,
dropped at the end): one corp, ``--customers`` customers, ``--orders`` paid orders spread over 18
months with amounts of ¥5–305, and each customer's ``customer_trait.total_spend`` (untimed set-up).

Timed, in this process, on PostgreSQL:

* **Earn sweep** — siyu: ``points.earn_for_orders(corp, None)`` in one transaction (enrol every
  buyer, one ledger lot per order, balances). Reference: three hand-written statements doing the same
  (``INSERT member … SELECT DISTINCT``, ``INSERT points_entry … SELECT``, ``UPDATE member … FROM``
  the per-customer sums), run first and rolled back. Both results are compared (members, entries,
  the sum and a checksum of the balances); the benchmark fails if they differ.
* **Level recompute** — siyu: ``members.recompute_levels`` (one correlated UPDATE) on four levels.
  Reference: ``UPDATE member … FROM (SELECT DISTINCT ON (customer) … ORDER BY rank DESC)``, run first
  and rolled back; the per-level counts must agree.
* **Coupon issue** — 4 threads issue 4,000 coupons of a template whose stock is 3,000 (siyu:
  ``coupons.issue_coupon``, one transaction each). Reference: the minimum SQL for a capped issue (a
  conditional ``UPDATE`` of the stock and an ``INSERT``, one transaction each) through psycopg, on a
  second template. Both must stop at exactly 3,000.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

from bench.machine import create_scratch_database, describe_database, describe_machine, drop_database

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
THREADS = 4
ISSUES = 4000
STOCK = 3000

REFERENCE_EARN = [
    """INSERT INTO member (customer_id, corp_id, member_no, joined_at, points_balance, points_earned_total,
                           created_at, updated_at)
       SELECT DISTINCT customer_id, :corp, 'M' || customer_id, :now, 0, 0, :now, :now FROM customer_order
       WHERE corp_id = :corp AND customer_id IS NOT NULL AND status IN ('paid', 'shipped', 'completed')
         AND amount >= 1
       ON CONFLICT DO NOTHING""",
    """INSERT INTO points_entry (corp_id, customer_id, kind, points, source_kind, source_ref, order_id,
                                 idempotency_key, occurred_at, expires_at, remaining, created_at)
       SELECT :corp, customer_id, 'earn', floor(amount)::int, 'order', order_no, id, 'order:' || id, paid_at,
              paid_at + interval '12 months', floor(amount)::int, :now
       FROM customer_order
       WHERE corp_id = :corp AND customer_id IS NOT NULL AND status IN ('paid', 'shipped', 'completed')
         AND amount >= 1
       ON CONFLICT DO NOTHING""",
    """UPDATE member SET points_balance = points_balance + s.points,
                         points_earned_total = points_earned_total + s.points
       FROM (SELECT customer_id, sum(points) AS points FROM points_entry WHERE corp_id = :corp
             GROUP BY customer_id) s
       WHERE member.customer_id = s.customer_id""",
]
REFERENCE_LEVELS = """
UPDATE member SET level_id = best.level_id, level_changed_at = :now
FROM (SELECT DISTINCT ON (m.customer_id) m.customer_id, l.id AS level_id
      FROM member m
      LEFT JOIN customer_trait t ON t.customer_id = m.customer_id
      JOIN member_level l ON l.corp_id = m.corp_id
       AND ((l.min_spend IS NULL AND l.min_points IS NULL)
            OR coalesce(t.total_spend, 0) >= l.min_spend OR m.points_earned_total >= l.min_points)
      WHERE m.corp_id = :corp
      ORDER BY m.customer_id, l.rank DESC) best
WHERE member.customer_id = best.customer_id AND member.level_id IS DISTINCT FROM best.level_id
"""
CHECK = """SELECT count(*), coalesce(sum(points_balance), 0), coalesce(sum(points_balance::bigint * customer_id
           % 1000003), 0) FROM member WHERE corp_id = :corp"""


def _populate(database, customers: int, orders: int) -> int:
    from siyu.models import Corp

    with database.session() as session:
        corp = Corp(slug="loyalty-bench", name="积分基准")
        session.add(corp)
        session.flush()
        corp_id = corp.id
        session.execute(text("SELECT setseed(0.42)"))
        session.execute(text("""INSERT INTO customer (corp_id, name, created_at, updated_at)
                                SELECT :corp, 'c' || g, :now, :now FROM generate_series(1, :n) g"""),
                        {"corp": corp_id, "n": customers, "now": NOW})
        first = session.scalar(text("SELECT min(id) FROM customer WHERE corp_id = :corp"), {"corp": corp_id})
        session.execute(text("""
            INSERT INTO customer_order (corp_id, customer_id, platform, shop, order_no, status, amount, item_count,
                                        paid_at, refund_amount, created_at, updated_at)
            SELECT :corp, :first + (g::bigint * 7919) % :n, 'pos', 'bench', 'o' || g, 'paid',
                   round((random() * 300 + 5)::numeric, 2), 1,
                   :now - (random() * 540) * interval '1 day', 0, :now, :now
            FROM generate_series(1, :m) g"""), {"corp": corp_id, "first": first, "n": customers, "m": orders,
                                                 "now": NOW})
        session.execute(text("""
            INSERT INTO customer_trait (customer_id, corp_id, order_count, total_spend, average_spend, refund_total,
                                        channels, updated_at)
            SELECT customer_id, :corp, count(*), sum(amount), avg(amount), 0, '["pos"]', :now
            FROM customer_order WHERE corp_id = :corp GROUP BY customer_id"""), {"corp": corp_id, "now": NOW})
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return corp_id


def _reference(database, statements: list[str], params: dict, check: str) -> tuple[float, tuple]:
    with database.engine.connect() as connection:
        transaction = connection.begin()
        started = time.perf_counter()
        for statement in statements:
            connection.execute(text(statement), params)
        seconds = time.perf_counter() - started
        result = tuple(connection.execute(text(check), params).one())
        transaction.rollback()
    return seconds, result


def _earn(database, corp_id: int) -> dict:
    from siyu.loyalty import points

    params = {"corp": corp_id, "now": NOW}
    reference_seconds, reference = _reference(database, REFERENCE_EARN, params, CHECK)
    started = time.perf_counter()
    with database.session() as session:
        added = points.earn_for_orders(session, corp_id, now=NOW)
    seconds = time.perf_counter() - started
    with database.engine.connect() as connection:
        ours = tuple(connection.execute(text(CHECK), params).one())
        entries = connection.execute(text("SELECT count(*) FROM points_entry")).scalar()
    if ours != reference:
        raise SystemExit(f"earn sweep differs from the reference: {ours} != {reference}")
    return {"seconds": seconds, "reference": reference_seconds, "members": ours[0], "points": added,
            "entries": entries}


LEVELS = (("普通", 0, None), ("银卡", 1, Decimal("800")), ("金卡", 2, Decimal("1500")), ("钻石", 3, Decimal("2500")))
LEVEL_COUNTS = """SELECT l.name, count(m.customer_id) FROM member_level l LEFT JOIN member m ON m.level_id = l.id
                  WHERE l.corp_id = :corp GROUP BY l.name ORDER BY l.name"""


def _levels(database, corp_id: int) -> dict:
    from siyu.loyalty import members

    with database.session() as session:
        for name, rank, spend in LEVELS:
            members.create_level(session, corp_id, members.LevelDraft(name, rank, min_spend=spend,
                                                                      min_points=5000 if rank == 3 else None),
                                 now=NOW)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE member")
    params = {"corp": corp_id, "now": NOW}
    reference_seconds, _ = _reference(database, [REFERENCE_LEVELS], params, "SELECT 1")
    with database.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text(REFERENCE_LEVELS), params)
        reference = connection.execute(text(LEVEL_COUNTS), params).all()
        transaction.rollback()
    started = time.perf_counter()
    with database.session() as session:
        changed = members.recompute_levels(session, corp_id, now=NOW)
    seconds = time.perf_counter() - started
    with database.engine.connect() as connection:
        ours = connection.execute(text(LEVEL_COUNTS), params).all()
    if ours != reference:
        raise SystemExit(f"level counts differ from the reference: {ours} != {reference}")
    return {"seconds": seconds, "reference": reference_seconds, "changed": changed,
            "per_level": {name: count for name, count in ours}}


def _issue(database, corp_id: int) -> dict:
    from siyu.loyalty import coupons
    from siyu.models import Coupon, Customer
    from siyu.models.loyalty import CouponKind

    with database.session() as session:
        ours_id, reference_id = (coupons.create_template(session, corp_id, coupons.TemplateDraft(
            name, CouponKind.amount_off, Decimal("10"), valid_days=30, stock=STOCK), now=NOW).id
            for name in ("siyu", "reference"))
        customer_ids = session.scalars(select(Customer.id).where(Customer.corp_id == corp_id)
                                       .order_by(Customer.id).limit(ISSUES)).all()

    def ours(index: int) -> None:
        with database.session() as session:
            coupons.issue_coupon(session, corp_id, customer_ids[index], ours_id, source="bench",
                                 idempotency_key=f"bench:{index}", now=NOW)

    raw = database.engine.raw_connection

    def reference(index: int) -> None:
        connection = raw()
        try:
            cursor = connection.cursor()
            cursor.execute("UPDATE coupon_template SET issued_count = issued_count + 1 "
                           "WHERE id = %s AND issued_count < stock", (reference_id,))
            if cursor.rowcount:
                cursor.execute(
                    "INSERT INTO coupon (corp_id, template_id, customer_id, code, status, issued_at, valid_from, "
                    "valid_until, source_kind, idempotency_key, created_at, updated_at) VALUES "
                    "(%s, %s, %s, %s, 'issued', %s, %s, %s, 'reference', %s, %s, %s)",
                    (corp_id, reference_id, customer_ids[index], f"R{index:011d}", NOW, NOW, NOW, f"ref:{index}",
                     NOW, NOW))
            connection.commit()
        finally:
            connection.close()

    results = {}
    for name, work in (("reference", reference), ("siyu", ours)):
        started = time.perf_counter()
        threads = [threading.Thread(target=lambda k=k: [work(i) for i in range(k, ISSUES, THREADS)])
                   for k in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results[name] = time.perf_counter() - started
    with database.session() as session:
        counts = dict(session.execute(select(Coupon.template_id, func.count()).group_by(Coupon.template_id)).all())
    if counts != {ours_id: STOCK, reference_id: STOCK}:
        raise SystemExit(f"stock not held: {counts}")
    return {"seconds": results["siyu"], "reference": results["reference"], "issued": STOCK}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench loyalty")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)

    from siyu.kit.db import Database
    from siyu.kit.migrate import upgrade

    url, name = create_scratch_database(args.database_url, "loyalty")
    try:
        upgrade(url)
        database = Database(url)
        started = time.perf_counter()
        corp_id = _populate(database, args.customers, args.orders)
        print(f"population: {args.customers:,} customers, {args.orders:,} orders ({time.perf_counter() - started:.1f} s)")
        earn = _earn(database, corp_id)
        print(f"earn sweep: {earn['entries']:,} lots for {earn['members']:,} members in {earn['seconds']:.1f} s; "
              f"reference {earn['reference']:.1f} s; ratio {earn['seconds'] / earn['reference']:.2f}")
        levels = _levels(database, corp_id)
        print(f"level recompute: {levels['changed']:,} members placed in {levels['seconds']:.2f} s; "
              f"reference {levels['reference']:.2f} s; ratio {levels['seconds'] / levels['reference']:.2f}; "
              f"{levels['per_level']}")
        issue = _issue(database, corp_id)
        print(f"coupon issue: {ISSUES:,} attempts on {THREADS} threads, {issue['issued']:,} issued (stock held) in "
              f"{issue['seconds']:.1f} s ({ISSUES / issue['seconds']:.0f}/s); reference {issue['reference']:.1f} s "
              f"({ISSUES / issue['reference']:.0f}/s); ratio {issue['seconds'] / issue['reference']:.2f}")
        machine, server = describe_machine(), describe_database(database.engine)
        database.dispose()
    finally:
        drop_database(args.database_url, name)
    print(machine)
    print(server)
    if not args.no_record:
        _record(args, earn, levels, issue, machine, server)
    return 0


def _record(args, earn, levels, issue, machine, server) -> None:
    section = "## Loyalty: points sweep, level recompute, coupon issue (`bench/loyalty_bench.py`)"
    body = REPORT.read_text(encoding="utf-8")
    lines = [
        section, "",
        f"`python -m bench loyalty --customers {args.customers} --orders {args.orders}` — {machine}; {server}.", "",
        "| step | siyu | reference | ratio |", "| --- | ---: | ---: | ---: |",
        f"| earn sweep: {earn['entries']:,} order lots, {earn['members']:,} members enrolled | {earn['seconds']:.1f} s "
        f"| {earn['reference']:.1f} s (3 hand-written statements) | {earn['seconds'] / earn['reference']:.2f} |",
        f"| level recompute: {levels['changed']:,} members over 4 levels | {levels['seconds']:.2f} s "
        f"| {levels['reference']:.2f} s (`DISTINCT ON` update) | {levels['seconds'] / levels['reference']:.2f} |",
        f"| coupon issue: {ISSUES:,} attempts, {THREADS} threads, stock {STOCK:,} held exactly "
        f"| {issue['seconds']:.1f} s ({ISSUES / issue['seconds']:.0f}/s) | {issue['reference']:.1f} s "
        f"({ISSUES / issue['reference']:.0f}/s, bare UPDATE + INSERT) | {issue['seconds'] / issue['reference']:.2f} |",
        "",
    ]
    if section in body:
        return  # a section is appended once; later runs print their figures only
    REPORT.write_text(body.rstrip("\n") + "\n\n" + "\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
