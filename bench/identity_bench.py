"""Identity resolution throughput on PostgreSQL: 100 000 claims, in batches, against a corp that
already has 200 000 customers.

    python -m bench identity [--claims 100000] [--batch 5000] [--database-url postgresql://…/postgres]

The claims mix what ingest and order imports send: known people (both identities known: the fast
path), known people bringing a new identity (attached within the caps: customers locked and their
identities read), new people (customers and identities created) and claims that link two known
customers (merged one by one, with every row re-pointed and recorded). Each batch is one
transaction, committed, as a job would.

The reference, in the same process and database, is the cheapest thing that could store the same
information: a plain ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`` of the same identity
rows (one statement per batch, the identities normalised beforehand and not timed) into a second
corp holding the same existing identities. The ratio says what deciding who is
who — lookups, caps, merges, creating customers — costs on top of writing the identities.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from bench.machine import create_scratch_database, describe_database, describe_machine, drop_database

EXISTING = 200_000
MEMBER_ONLY = 5_000
REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Mix:
    known: float = 0.55
    known_with_new_identity: float = 0.15
    new: float = 0.28
    linking: float = 0.02




def _phone(n: int) -> str:
    return f"{13_000_000_000 + n}"


def _populate(database, corp_id: int, reference_corp_id: int) -> int:
    """200 000 customers with a phone and an openid, 5 000 known only by a member number; the
    reference corp gets the same identity values on one placeholder customer. Returns that customer."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO customer (corp_id, created_at, updated_at, first_seen_at) "
            "SELECT :corp, :now, :now, :now FROM generate_series(1, :n)"), {"corp": corp_id, "now": now,
                                                                             "n": EXISTING + MEMBER_ONLY})
        first = connection.execute(text("SELECT min(id) FROM customer WHERE corp_id = :corp"),
                                   {"corp": corp_id}).scalar()
        for kind, value in (("phone", "(13000000000 + g)::text"), ("openid", "'op' || g")):
            connection.execute(text(
                "INSERT INTO identity (corp_id, customer_id, kind, value, created_at, updated_at) "
                f"SELECT :corp, :first + g, '{kind}', {value}, :now, :now FROM generate_series(0, :n - 1) g"),
                {"corp": corp_id, "first": first, "now": now, "n": EXISTING})
        connection.execute(text(
            "INSERT INTO identity (corp_id, customer_id, kind, value, created_at, updated_at) "
            "SELECT :corp, :first + :existing + g, 'member_no', 'm' || g, :now, :now "
            "FROM generate_series(0, :n - 1) g"),
            {"corp": corp_id, "first": first, "existing": EXISTING, "now": now, "n": MEMBER_ONLY})
        placeholder = connection.execute(text(
            "INSERT INTO customer (corp_id, created_at, updated_at) VALUES (:corp, :now, :now) RETURNING id"),
            {"corp": reference_corp_id, "now": now}).scalar()
        connection.execute(text(
            "INSERT INTO identity (corp_id, customer_id, kind, value, created_at, updated_at) "
            "SELECT :ref, :placeholder, kind, value, :now, :now FROM identity WHERE corp_id = :corp"),
            {"ref": reference_corp_id, "placeholder": placeholder, "corp": corp_id, "now": now})
        connection.exec_driver_sql("ANALYZE")
    return placeholder


def _claims(count: int, seed: int, mix: Mix):
    from siyu.identity.service import IdentityClaim

    generator = random.Random(seed)
    members = list(range(MEMBER_ONLY))
    generator.shuffle(members)
    # each linking claim names a different known person, so every one is a merge within the caps
    linkable = generator.sample(range(EXISTING), MEMBER_ONLY)
    claims, kinds = [], {"known": 0, "known_with_new_identity": 0, "new": 0, "linking": 0}
    for index in range(count):
        draw = generator.random()
        person = generator.randrange(EXISTING)
        if draw < mix.known:
            kind, pairs = "known", [("phone", _phone(person)), ("openid", f"op{person}")]
        elif draw < mix.known + mix.known_with_new_identity:
            kind, pairs = "known_with_new_identity", [("phone", _phone(person)), ("openid", f"op-new-{index}")]
        elif draw < mix.known + mix.known_with_new_identity + mix.new or not members:
            kind, pairs = "new", [("phone", _phone(EXISTING + 1_000_000 + index)), ("openid", f"op-n{index}"),
                                  ("anonymous_id", f"anon-{index}")]
        else:
            kind, pairs = "linking", [("phone", _phone(linkable.pop())), ("member_no", f"m{members.pop()}")]
        kinds[kind] += 1
        claims.append(IdentityClaim(pairs, {"name": f"客户{index}"} if kind == "new" else None))
    return claims, kinds


def run(url: str, claims_count: int, batch: int, seed: int) -> dict[str, float]:
    from siyu.identity.rules import RuleBook
    from siyu.identity.service import resolve_claims, usable_pairs
    from siyu.kit.clock import Clock
    from siyu.kit.db import Database
    from siyu.kit.migrate import upgrade
    from siyu.models import Corp, Customer, CustomerMerge, Identity

    upgrade(url)
    database = Database(url)
    with database.session() as session:
        corp, reference = Corp(slug="bench", name="bench"), Corp(slug="reference", name="reference")
        session.add_all([corp, reference])
        session.flush()
        corp_id, reference_id = corp.id, reference.id
    started = time.perf_counter()
    placeholder = _populate(database, corp_id, reference_id)
    print(f"populated {EXISTING + MEMBER_ONLY:,} customers in {time.perf_counter() - started:.1f} s")
    claims, kinds = _claims(claims_count, seed, Mix())
    clock = Clock()
    # a running worker has trait maintenance (which merges call, and which loads scipy) imported
    import siyu.customer.tasks
    import siyu.customer.traits  # noqa: F401

    merges = 0
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    started = time.perf_counter()
    for start in range(0, len(claims), batch):
        with database.session() as session:
            merges += len(resolve_claims(session, corp_id, claims[start:start + batch], reason="bench",
                                         clock=clock).merge_ids)
    resolution = time.perf_counter() - started

    # the reference: the same identity rows, one INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO
    # NOTHING per batch — the fastest plain way to store them on PostgreSQL
    rules = RuleBook()
    rows = [usable_pairs(rules, c.identities) for c in claims]
    insert = text("INSERT INTO identity (corp_id, customer_id, kind, value, created_at, updated_at) "
                  "SELECT :corp, :customer, kind, value, :now, :now FROM unnest(CAST(:kinds AS text[]), "
                  "CAST(:values AS text[])) AS pair(kind, value) ON CONFLICT (corp_id, kind, value) DO NOTHING")
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        pairs = [pair for claim_rows in rows[start:start + batch] for pair in claim_rows]
        with database.session() as session:
            session.execute(insert, {"corp": reference_id, "customer": placeholder, "now": clock.now(),
                                     "kinds": [k for k, _ in pairs], "values": [v for _, v in pairs]})
    reference_seconds = time.perf_counter() - started

    with database.session() as session:
        live = session.scalar(select(func.count()).select_from(Customer).where(
            Customer.corp_id == corp_id, Customer.merged_into_id.is_(None)))
        recorded = session.scalar(select(func.count()).select_from(CustomerMerge))
        identities = session.scalar(select(func.count()).select_from(Identity).where(Identity.corp_id == corp_id))
    expected_live = EXISTING + MEMBER_ONLY + kinds["new"] - kinds["linking"]
    assert (live, recorded, merges) == (expected_live, kinds["linking"], kinds["linking"]), (live, recorded, merges)
    print(f"claims: {kinds}; customers live {live:,}, identities {identities:,}, merges {recorded:,}")
    figures = {"load": load, "machine": describe_machine(), "database": describe_database(database.engine),
               "claims": claims_count, "batch": batch, "resolution_s": resolution,
               "claims_per_s": claims_count / resolution, "reference_s": reference_seconds,
               "reference_per_s": claims_count / reference_seconds, "ratio": resolution / reference_seconds,
               "merges": merges}
    print(f"resolution: {claims_count:,} claims in {resolution:.1f} s = {figures['claims_per_s']:,.0f} claims/s; "
          f"reference INSERT … SELECT FROM unnest … ON CONFLICT of the same identities: {reference_seconds:.1f} s = "
          f"{figures['reference_per_s']:,.0f} claims/s; ratio {figures['ratio']:.1f}×")
    print(f"machine: {figures['machine']}\ndatabase: {figures['database']}")
    database.dispose()
    return figures


def _record(figures: dict, mix: Mix) -> None:
    """Append this run to docs/benchmarks.md as its own dated section."""
    lines = [
        "",
        f"## Identity resolution: {figures['claims']:,} claims (`resolve_customers`)",
        "",
        ("**What.** `siyu.identity.service.resolve_claims`, the code ingest, order imports and WeCom sync call "
        "to turn identities into customer ids: normalise, look up who holds each identity, attach new ones "
        "within the corp's caps, create new customers, merge the customers a claim links (every moved row "
        "recorded) and settle races through the unique constraint. Each batch is one committed transaction."),
        "",
        (f"**Data.** A corp with {EXISTING:,} customers holding a phone and an openid and {MEMBER_ONLY:,} known "
        f"only by a member number; {figures['claims']:,} claims in batches of {figures['batch']:,}: "
        f"{mix.known:.0%} known people (both identities known), {mix.known_with_new_identity:.0%} known people "
        f"with a new openid (attached within the cap), {mix.new:.0%} new people (phone, openid, anonymous id "
        f"and a name), {mix.linking:.0%} claims naming a known phone and a member number held by another "
        f"customer ({figures['merges']:,} merges)."),
        "",
        ("**Reference** (same process, same database, same batches): the same identity rows, normalised "
        "beforehand, stored with one plain `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` per batch "
        "into a second corp holding the same existing identities — the cheapest way to store what resolution "
        "stores, deciding nothing."),
        "",
        (f"**Command.** `.venv/bin/python -m bench identity --claims {figures['claims']} "
        f"--batch {figures['batch']}`"),
        "",
        (f"**Machine.** {figures['machine']}; {figures['database']}; load average {figures['load']} when it "
        "started (other work shared the two cores)."),
        "",
        f"**Figures ({datetime.now(UTC):%Y-%m-%d}).**",
        "",
        "| | seconds | claims/s |",
        "|---|---|---|",
        f"| identity resolution | {figures['resolution_s']:.1f} | {figures['claims_per_s']:,.0f} |",
        (f"| reference insert of the same identities | {figures['reference_s']:.1f} | "
        f"{figures['reference_per_s']:,.0f} |"),
        f"| ratio (resolution time ÷ reference time) | {figures['ratio']:.1f} | |",
        "",
    ]
    REPORT.parent.mkdir(exist_ok=True)
    if not REPORT.exists():
        REPORT.write_text("# Benchmarks\n", encoding="utf-8")
    with REPORT.open("a", encoding="utf-8") as report:
        report.write("\n".join(lines))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench identity", description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-record", action="store_true", help="do not append the figures to docs/benchmarks.md")
    options = parser.parse_args(argv)
    url, name = create_scratch_database(options.database_url, "identity")
    try:
        figures = run(url.replace("postgresql://", "postgresql+psycopg://", 1), options.claims, options.batch,
                      options.seed)
    finally:
        drop_database(options.database_url, name)
    if not options.no_record:
        _record(figures, Mix())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
