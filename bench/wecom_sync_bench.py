"""Benchmark: a full WeCom sync of 100 000 customers across 300 staff from the emulator.

    python -m bench wecom-sync [--customers 100000] [--staff 300] [--database both|postgres|sqlite]
                               [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

The emulator runs in its own process (as WeCom is another machine) on a loopback port, seeded
deterministically. For each database a throwaway database is migrated, a corp connected, then:

* ``full``: ``WeComSync`` from nothing — departments, staff, tags, 1 000+ ``batch/get_by_user``
  pages of 100, the per-staff reconciliation and the group chats — over real HTTP;
* ``again``: the same full sync once more (nothing changes: the idempotent path);
* ``incremental``: an incremental sync (list per staff member, no customer pages).

References on the same rows in the same process (the house rule):

* ``upsert``: the customer phase's database work alone — the same contacts, built from the emulator
  state seeded in this process (the served emulator is a fork of it), written with
  ``contacts_bulk.upsert_contacts`` in the same 1 000-row transactions, with no HTTP, JSON or
  validation;
* ``insert``: the floor — plain INSERTs of the same customers, identities and relations (no lookups,
  no conflict handling, no relation tags), 1 000 contacts per transaction.

Every run is checked against the emulator (customers, relations, staff, group members). The client's
rate limiter is lifted for the measurement: its default, 6 000 calls a minute, would cap the customer
phase at 100 pages a second — 10 000 customers a second — above what either database absorbs here.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from bench.machine import describe_database, describe_machine, free_port, peak_memory_mib
from siyu.customer import contacts_bulk
from siyu.customer.contacts_bulk import ContactRecord, FollowRecord
from siyu.integrations.wecom.sync_customers import CUSTOMER_TABLES
from siyu.integrations.wecom.sync_org import ensure_staff
from siyu.kit.clock import Clock
from siyu.kit.db import Database, dialect_insert
from siyu.kit.migrate import upgrade
from siyu.kit.security import encrypt_secret
from siyu.kit.settings import Settings
from siyu.models import Corp, Customer, GroupChatMember, Identity, Relation, Staff, WeComConnection

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WECOM_CORP = "wwbenchsync00001"
SEED = 20260101
ROWS_PER_COMMIT = 1000


def _emulator_state(customers: int, staff: int):
    from siyu.emulator.wecom.seed import seed_corp
    from siyu.emulator.wecom.simulation import Simulator
    from siyu.emulator.wecom.state import EmulatorState

    state = EmulatorState(seed=SEED)
    credentials = Simulator(state, seed=SEED).create_corp(WECOM_CORP, "基准品牌")
    seed_corp(state, WECOM_CORP, departments=max(8, staff // 8), staff=staff, customers=customers, seed=SEED)
    return state, credentials


def _serve_emulator(port: int, seeded, credentials: dict[str, Any], ready) -> None:
    """The child process: serve the state seeded before the fork (inherited, not copied by pickling)."""
    import uvicorn

    from siyu.emulator.wecom.app import create_emulator_app, get_emulator

    app = create_emulator_app(seed=SEED)
    state = get_emulator(app)
    state.corps, state.tokens, state.token_by_secret = seeded.corps, seeded.tokens, seeded.token_by_secret
    ready.put(credentials)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _records(world) -> list[ContactRecord]:
    """The contacts as the sync builds them from batch pages (one record per follower)."""
    genders = {1: "male", 2: "female"}
    return [ContactRecord(external_userid=c.external_userid, name=c.name or None,
                          gender=genders.get(c.gender), unionid=c.unionid or None, follows=(FollowRecord(
                              staff_userid=f.userid, added_at=datetime.fromtimestamp(f.createtime, UTC),
                              remark=f.remark or None, add_way=f.add_way, state=f.state or None,
                              tag_ids=tuple(f.tag_ids)),))
            for userid, contacts in sorted(world.customers_by_user.items())
            for c in (world.customers[e] for e in contacts) for f in (c.follows[userid],)]


def _corp(database: Database, slug: str) -> int:
    with database.session() as session:
        corp = Corp(slug=slug, name=slug)
        session.add(corp)
        session.flush()
        return corp.id


def _connect(database: Database, slug: str, credentials: dict[str, Any], api_base: str,
             secret_key: str) -> int:
    with database.session() as session:
        corp = Corp(slug=slug, name=slug)
        session.add(corp)
        session.flush()
        session.add(WeComConnection(
            corp_id=corp.id, wecom_corp_id=WECOM_CORP, api_base=api_base,
            contact_secret_encrypted=encrypt_secret(credentials["contact_secret"], secret_key),
            address_book_secret_encrypted=encrypt_secret(credentials["address_book_secret"], secret_key)))
        return corp.id


def _sync(database: Database, settings: Settings, corp_id: int, kind: str
          ) -> tuple[float, Any, Counter, dict]:
    from siyu.integrations.wecom.client import WeComClientFactory
    from siyu.integrations.wecom.ratelimit import RateLimiter, RateLimits
    from siyu.integrations.wecom.sync import WeComSync

    calls: Counter = Counter()
    phase_started: dict[str, float] = {}

    def on_progress(report) -> None:
        phase_started.setdefault(report.phase, time.perf_counter())

    http = httpx.Client(timeout=60,
                        event_hooks={"request": [lambda request: calls.update([request.url.path])]})

    def sessions():
        return database.session(immediate=True)

    unlimited = RateLimiter(RateLimits(per_minute=10**9, per_hour=10**9))
    with WeComClientFactory(sessions, Clock(), settings=settings, http=http,
                            rate_limiter=unlimited) as clients:
        started = time.perf_counter()
        run = WeComSync(sessions, clients, Clock(), progress=on_progress).sync(corp_id, kind)
        seconds = time.perf_counter() - started
    http.close()
    ordered = sorted(phase_started.items(), key=lambda item: item[1])
    phases = {name: round(following[1] - at, 2) for (name, at), following in
              zip(ordered, [*ordered[1:], ("end", started + seconds)], strict=True) if name != "done"}
    return seconds, run, calls, phases


def _reference_upsert(database: Database, corp_id: int, records: list[ContactRecord], world) -> float:
    from siyu.integrations.wecom.schemas import CorpTag, CorpTagGroup
    from siyu.integrations.wecom.sync_tags import upsert_corp_tags

    now = datetime.now(UTC)
    with database.session() as session:
        ensure_staff(session, corp_id, world.members, now)
        groups = [CorpTagGroup(group_id=g.group_id, group_name=g.group_name,
                               tag=[CorpTag(id=t, name=world.tags[t].name) for t in g.tag_ids])
                  for g in world.tag_groups.values()]
        upsert_corp_tags(session, corp_id, groups, now)
    started, next_analysis = time.perf_counter(), 1
    for unit, start in enumerate(range(0, len(records), ROWS_PER_COMMIT), start=1):
        with database.session(immediate=True) as session:
            contacts_bulk.upsert_contacts(session, corp_id, records[start:start + ROWS_PER_COMMIT], now=now)
        if unit == next_analysis and not database.is_sqlite:  # the sync's schedule (refresh_statistics)
            with database.session() as session:
                session.execute(text("ANALYZE " + ", ".join(CUSTOMER_TABLES)))
            next_analysis *= 4
    return time.perf_counter() - started


def _reference_insert(database: Database, corp_id: int, world) -> float:
    now = datetime.now(UTC)
    with database.session() as session:
        staff = dict(session.execute(select(Staff.userid, Staff.id).where(Staff.corp_id == corp_id)).all())
    contacts = list(world.customers.values())
    started = time.perf_counter()
    for start in range(0, len(contacts), ROWS_PER_COMMIT):
        chunk = contacts[start:start + ROWS_PER_COMMIT]
        with database.session() as session:
            ids = session.scalars(dialect_insert(session, Customer.__table__).returning(
                Customer.__table__.c.id, sort_by_parameter_order=True),
                [{"corp_id": corp_id, "name": c.name, "created_at": now, "updated_at": now}
                 for c in chunk]).all()
            session.execute(Identity.__table__.insert(), [
                {"corp_id": corp_id, "customer_id": cid, "kind": kind, "value": value, "created_at": now,
                 "updated_at": now}
                for c, cid in zip(chunk, ids, strict=True)
                for kind, value in (("wecom_external_userid", c.external_userid), ("unionid", c.unionid))])
            session.execute(Relation.__table__.insert(), [
                {"corp_id": corp_id, "customer_id": cid, "staff_id": staff[f.userid],
                 "external_userid": c.external_userid, "remark": f.remark or None, "add_way": f.add_way,
                 "state": f.state or None, "status": "active",
                 "added_at": datetime.fromtimestamp(f.createtime, UTC), "created_at": now, "updated_at": now}
                for c, cid in zip(chunk, ids, strict=True) for f in c.follows.values()])
    return time.perf_counter() - started


def _verify(database: Database, corp_id: int, world) -> None:
    """The sync is only worth timing if it is right: rows equal the emulator's."""
    with database.session() as session:
        found = (session.scalar(select(func.count()).select_from(Identity).where(
                     Identity.corp_id == corp_id, Identity.kind == "wecom_external_userid")),
                 session.scalar(select(func.count()).select_from(Relation).where(
                     Relation.corp_id == corp_id, Relation.status == "active")),
                 session.scalar(select(func.count()).select_from(Staff).where(Staff.corp_id == corp_id)),
                 session.scalar(select(func.count()).select_from(GroupChatMember).where(
                     GroupChatMember.corp_id == corp_id, GroupChatMember.left_at.is_(None))))
    wanted = (len(world.customers), sum(len(c.follows) for c in world.customers.values()), len(world.members),
              sum(len(g.members) for g in world.groups.values()))
    if found != wanted:
        raise SystemExit(f"sync result differs from the emulator: {found} != {wanted} "
                         "(customers, relations, staff, group members)")


def _database(kind: str, url: str) -> tuple[str, callable]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="siyu-wecom-bench-")
        return f"sqlite:///{folder}/bench.db", lambda: None
    name = f"siyu_bench_wecom_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.rsplit("/", 1)[0] + f"/{name}", drop


def run_one(kind: str, url: str, api_base: str, credentials: dict[str, Any], world, records) -> None:
    database_url, drop = _database(kind, url)
    try:
        upgrade(database_url)
        database = Database(database_url)
        settings = Settings(database_url=database_url, secret_key="bench-secret")
        print(f"-- {kind}: {describe_database(database.engine)}")
        corp_id = _connect(database, "bench", credentials, api_base, settings.secret_key)
        relations = sum(len(c.follows) for c in world.customers.values())
        for label, sync_kind in (("full", "full"), ("again", "full"), ("incremental", "incremental")):
            seconds, run, calls, phases = _sync(database, settings, corp_id, sync_kind)
            customers_phase = phases.get("customers", 0.0)
            print(f"{label:12} {seconds:7.1f} s  {len(world.customers) / seconds:8.0f} customers/s  "
                  f"{sum(calls.values()):5} calls  phases {phases}")
            if label == "full":
                full_seconds, full_phase = seconds, customers_phase
                batch_pages = calls["/cgi-bin/externalcontact/batch/get_by_user"]
            _verify(database, corp_id, world)
        reference_corp = _corp(database, "reference")
        upsert_seconds = _reference_upsert(database, reference_corp, records, world)
        insert_corp = _corp(database, "floor")
        with database.session() as session:
            ensure_staff(session, insert_corp, world.members, datetime.now(UTC))
        insert_seconds = _reference_insert(database, insert_corp, world)
        print(f"customers phase {full_phase:6.1f} s = {relations / full_phase:8.0f} relations/s "
              f"({batch_pages} pages of ≤100)")
        print(f"reference upsert {upsert_seconds:5.1f} s = {relations / upsert_seconds:8.0f} relations/s  "
              f"→ sync/upsert ratio {upsert_seconds / full_phase:.2f}")
        print(f"reference insert {insert_seconds:5.1f} s = {relations / insert_seconds:8.0f} relations/s  "
              f"→ sync/insert ratio {insert_seconds / full_phase:.2f}; whole sync {full_seconds:.1f} s")
        database.dispose()
    finally:
        drop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench wecom-sync", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=300)
    parser.add_argument("--database", choices=("both", "postgres", "sqlite"), default="both")
    parser.add_argument("--database-url", default=os.environ.get("SIYU_BENCH_DATABASE_URL", DEFAULT_URL))
    options = parser.parse_args(argv)
    print(describe_machine())
    started = time.perf_counter()
    world_state, credentials = _emulator_state(options.customers, options.staff)
    world = world_state.corps[WECOM_CORP]
    records = _records(world)
    print(f"emulator: {len(world.members)} staff, {len(world.customers)} customers, "
          f"{sum(len(c.follows) for c in world.customers.values())} relations, {len(world.groups)} groups "
          f"(seeded in {time.perf_counter() - started:.1f} s)")
    port = free_port()
    context = multiprocessing.get_context("fork")
    ready = context.Queue()
    emulator = context.Process(target=_serve_emulator, args=(port, world_state, credentials, ready),
                               daemon=True)
    emulator.start()
    try:
        ready.get(timeout=120)
        api_base = f"http://127.0.0.1:{port}/cgi-bin/"
        for _ in range(200):
            try:
                httpx.get(api_base + "gettoken", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        kinds = ("postgres", "sqlite") if options.database == "both" else (options.database,)
        for kind in kinds:
            run_one(kind, options.database_url, api_base, credentials, world, records)
    finally:
        emulator.terminate()
        emulator.join(10)
    print(f"peak memory {peak_memory_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
