"""Broadcast planning and bulk policy decisions on the bench brand, against hand-written SQL.

Measured on the seeded brand of ``siyu_bench`` (1 M customers) inside **one transaction that is
rolled back** (the tables of the contact policy and broadcasts are created in it if the seeded
database predates them), so nothing of the shared database changes:

1. policy state is added: the corp's policy (2 marketing touches a week, WeCom's days-in-month
   quota), 1 % opted out, 2 % carrying the blacklist tag, 10 % with this week's marketing cap used,
   5 % with this month's WeCom quota used;
2. **plan**: ``siyu.broadcast.service.preview`` of a broadcast to every customer with a 10 % holdout
   and two variants — audience, serving relation per customer, every rule, counts per rule, the
   split per sending staff member and variant, and each sender's personalised text; against the
   **reference**: one hand-written SQL query of the same eligibility and split;
3. **bulk decisions**: ``siyu.policy.decide`` (the per-request gate, Python) on N requests, and
   ``siyu.policy.bulk.classify`` (the set-based gate) over the whole audience, in decisions/s,
   against the reference query's rate;
4. **dispatch** of a broadcast to one store region's customers (``--dispatch-limit``): touches
   recorded, recipients written, tasks and outbox messages created.

The ratio column is siyu's time ÷ the reference's (lower is better; 1.0 = as fast as hand-written
SQL). Run: ``flock /tmp/siyu_bench.lock .venv/bin/python -m bench broadcast``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.machine import describe_database, describe_machine
from siyu.kit.db import Base, make_engine
from siyu.models import Corp, Customer, Tag, TagGroup
from siyu.models.policy import CapPeriod, TouchChannel, TouchPriority
from siyu.policy import TouchRequest, decide
from siyu.policy.periods import period_start
from siyu.policy.settings import save

MY_TABLES = ("contact_policy", "contact_preference", "touch", "touch_counter", "material", "message_template",
             "broadcast", "broadcast_variant", "broadcast_task", "broadcast_recipient")
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Shanghai

REFERENCE = """
WITH serving AS (
    SELECT DISTINCT ON (r.customer_id) r.customer_id, r.staff_id
    FROM relation r JOIN staff s ON s.id = r.staff_id
    WHERE r.corp_id = :corp AND r.status = 'active' AND r.external_userid IS NOT NULL AND s.status = 'active'
    ORDER BY r.customer_id, r.added_at DESC, r.id DESC
), audience AS (
    SELECT c.id AS customer_id, sv.staff_id, (c.id * 2654435761 + :broadcast * 40503) % 10000 AS bucket
    FROM customer c LEFT JOIN serving sv ON sv.customer_id = c.id
    WHERE c.corp_id = :corp AND c.merged_into_id IS NULL
)
SELECT CASE
         WHEN a.bucket < :holdout THEN 'holdout'
         WHEN a.staff_id IS NULL THEN 'no_relation'
         WHEN p.opted_out_at IS NOT NULL THEN 'opted_out'
         WHEN b.customer_id IS NOT NULL THEN 'blacklisted'
         WHEN q.count >= q.cap THEN 'wecom_quota'
         WHEN m.count >= :cap THEN 'marketing_cap'
         ELSE 'allowed' END AS outcome,
       a.staff_id, CASE WHEN (a.bucket * 7919) % 2 < 1 THEN 'A' ELSE 'B' END AS variant, count(*)
FROM audience a
LEFT JOIN contact_preference p ON p.corp_id = :corp AND p.customer_id = a.customer_id
LEFT JOIN customer_tag b ON b.customer_id = a.customer_id AND b.tag_id = :blacklist
LEFT JOIN touch_counter q ON q.customer_id = a.customer_id AND q.counter = 'wecom_quota' AND q.period_start = :month
LEFT JOIN touch_counter m ON m.customer_id = a.customer_id AND m.counter = 'marketing_cap' AND m.period_start = :week
GROUP BY 1, 2, 3
"""


@dataclass
class Figures:
    machine: str
    database: str
    audience: int = 0
    eligible: int = 0
    staff: int = 0
    plan_seconds: float = 0.0
    reference_seconds: float = 0.0
    reference_eligible: int = 0
    decide_requests: int = 0
    decide_seconds: float = 0.0
    dispatch_recipients: int = 0
    dispatch_seconds: float = 0.0
    dispatch_tasks: int = 0


def _state(session: Session, corp_id: int) -> int:
    """Policy state on top of the seeded brand; returns the blacklist tag id."""
    group = TagGroup(corp_id=corp_id, name="bench 风控")
    session.add(group)
    session.flush()
    tag = Tag(corp_id=corp_id, group_id=group.id, name="bench 黑名单")
    session.add(tag)
    session.flush()
    save(session, corp_id, wecom_quota_rule="days_in_month", marketing_cap=2, marketing_period="week",
         moments_per_day=3, quiet_start="22:00", quiet_end="08:00", opt_out_keywords=["退订"],
         blacklist_tag_id=tag.id, deferral_days=7)
    week = period_start(CapPeriod.week, NOW, "Asia/Shanghai")
    month = period_start(CapPeriod.month, NOW, "Asia/Shanghai")
    params = {"corp": corp_id, "now": NOW, "tag": tag.id, "week": week, "month": month}
    for statement in (
        "INSERT INTO contact_preference (corp_id, customer_id, opted_out_at, opt_out_source, created_at, updated_at) "
        "SELECT :corp, id, :now, 'reply', :now, :now FROM customer WHERE corp_id = :corp AND id % 100 = 0",
        "INSERT INTO customer_tag (corp_id, customer_id, tag_id, source, tagged_at) "
        "SELECT :corp, id, :tag, 'manual', :now FROM customer WHERE corp_id = :corp AND id % 50 = 7",
        "INSERT INTO touch_counter (corp_id, customer_id, counter, period_start, count, cap) "
        "SELECT :corp, id, 'marketing_cap', :week, 2, 2 FROM customer WHERE corp_id = :corp AND id % 10 = 1",
        "INSERT INTO touch_counter (corp_id, customer_id, counter, period_start, count, cap) "
        "SELECT :corp, id, 'wecom_quota', :month, 31, 31 FROM customer WHERE corp_id = :corp AND id % 20 = 3",
    ):
        session.execute(text(statement), params)
    session.execute(text("ANALYZE contact_preference; ANALYZE touch_counter; ANALYZE customer_tag"))
    return tag.id


def run(url: str, slug: str, decide_requests: int, dispatch_limit: int) -> Figures:
    from siyu.broadcast import service
    from siyu.broadcast.service import VariantDraft

    engine = make_engine(url)
    figures = Figures(describe_machine(), describe_database(engine))
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            Base.metadata.create_all(connection, tables=[Base.metadata.tables[t] for t in MY_TABLES], checkfirst=True)
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            corp_id = session.scalar(select(Corp.id).where(Corp.slug == slug))
            blacklist = _state(session, corp_id)
            broadcast = service.create_broadcast(
                session, corp_id, name="bench 全员群发", audience={}, holdout_percent=10, now=NOW,
                variants=[VariantDraft("{staff_name}（{store}）：双十二鲜果 8 折"), VariantDraft("双十二鲜果 8 折")])
            session.flush()
            print("plan (preview) of a broadcast to every customer …", flush=True)
            started = time.perf_counter()
            plan = service.preview(session, corp_id, broadcast.id, now=NOW)
            figures.plan_seconds = time.perf_counter() - started
            figures.audience, figures.eligible, figures.staff = plan.audience, plan.eligible, len(plan.by_staff)
            print(f"  siyu: {figures.audience:,} customers, {figures.eligible:,} eligible, {figures.staff:,} senders, "
                  f"{len(plan.texts):,} texts in {figures.plan_seconds:.1f} s", flush=True)
            params = {"corp": corp_id, "broadcast": broadcast.id, "holdout": 1000, "cap": 2, "blacklist": blacklist,
                      "week": period_start(CapPeriod.week, NOW, "Asia/Shanghai"),
                      "month": period_start(CapPeriod.month, NOW, "Asia/Shanghai")}
            started = time.perf_counter()
            rows = session.execute(text(REFERENCE), params).all()
            figures.reference_seconds = time.perf_counter() - started
            figures.reference_eligible = sum(count for outcome, _, _, count in rows if outcome == "allowed")
            print(f"  reference SQL: {figures.reference_eligible:,} eligible in {figures.reference_seconds:.1f} s",
                  flush=True)
            customers = list(session.scalars(select(Customer.id).where(Customer.corp_id == corp_id)
                                             .order_by(Customer.id).limit(decide_requests)))
            requests = [TouchRequest(c, TouchChannel.journey, TouchPriority.marketing) for c in customers]
            started = time.perf_counter()
            decide(session, corp_id, requests, now=NOW)
            figures.decide_seconds = time.perf_counter() - started
            figures.decide_requests = len(requests)
            print(f"  decide: {len(requests):,} requests in {figures.decide_seconds:.1f} s", flush=True)
            chosen, total = [], 0
            for store_id, count in session.execute(text(
                    "SELECT home_store_id, count(*) FROM customer WHERE corp_id = :corp AND home_store_id IS NOT NULL "
                    "GROUP BY home_store_id ORDER BY home_store_id"), {"corp": corp_id}):
                if total >= dispatch_limit:
                    break
                chosen.append(store_id)
                total += count
            sending = service.create_broadcast(session, corp_id, name="bench 门店群发", audience={"store_ids": chosen},
                                               now=NOW, variants=[VariantDraft("{store} 今日到店礼")])
            service.schedule(session, corp_id, sending.id, at=NOW, now=NOW)
            started = time.perf_counter()
            dispatched = service.dispatch(session, corp_id, sending.id, now=NOW)
            session.flush()
            figures.dispatch_seconds = time.perf_counter() - started
            figures.dispatch_recipients = dispatched.audience
            figures.dispatch_tasks = len(dispatched.by_staff)
            print(f"  dispatch: {dispatched.audience:,} recipients, {dispatched.eligible:,} allowed, "
                  f"{figures.dispatch_tasks:,} senders in {figures.dispatch_seconds:.1f} s", flush=True)
        finally:
            transaction.rollback()
    engine.dispose()
    return figures


def report(figures: Figures) -> str:
    plan_rate = figures.audience / figures.plan_seconds
    reference_rate = figures.audience / figures.reference_seconds
    decide_rate = figures.decide_requests / figures.decide_seconds
    return "\n".join([
        f"| plan: `broadcast.service.preview` ({figures.audience:,} customers, {figures.eligible:,} eligible, "
        f"{figures.staff:,} senders) | {figures.plan_seconds:.1f} s | {plan_rate:,.0f} | "
        f"{figures.plan_seconds / figures.reference_seconds:.2f} |",
        f"| reference: one hand-written SQL query ({figures.reference_eligible:,} eligible) | "
        f"{figures.reference_seconds:.1f} s | {reference_rate:,.0f} | 1.00 |",
        f"| bulk decisions: `policy.decide` ({figures.decide_requests:,} requests) | {figures.decide_seconds:.1f} s | "
        f"{decide_rate:,.0f} | {reference_rate / decide_rate:.2f} |",
        f"| dispatch: `broadcast.service.dispatch` ({figures.dispatch_recipients:,} recipients, "
        f"{figures.dispatch_tasks:,} senders) | {figures.dispatch_seconds:.1f} s | "
        f"{figures.dispatch_recipients / figures.dispatch_seconds:,.0f} | — |",
    ])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench broadcast", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/siyu_bench"))
    parser.add_argument("--corp", default="xianguo")
    parser.add_argument("--decide-requests", type=int, default=100_000)
    parser.add_argument("--dispatch-limit", type=int, default=20_000)
    options = parser.parse_args(argv)
    figures = run(options.database_url, options.corp, options.decide_requests, options.dispatch_limit)
    print(figures.machine)
    print(figures.database)
    print("| run | time | decisions/s | × reference |")
    print("|---|---:|---:|---:|")
    print(report(figures))
    return 0
