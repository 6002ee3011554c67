"""Segment-style ingest under sustained load: ``/v1/batch`` with several concurrent clients against the
real server on PostgreSQL, then the expansion job's throughput with worker processes.

    python -m bench ingest [--seconds 25] [--clients 8] [--batch 100] [--workers 2] [--database-url …]

A throwaway database is created and migrated, one corp gets one source, and the server runs in a
subprocess: ``uvicorn siyu.app:create_app --factory --workers N`` (``siyu serve`` is the same app in one
process: ``--workers 1``). Every request is a distinct batch of ``--batch`` messages (85 % track, 10 %
page, 5 % identify with traits, 50 000 people) as the Segment SDK sends it: JSON, write key in the
Basic header and in the body. The load generator is one asyncio process writing pre-built requests on
keep-alive connections, closed loop (each client sends its next batch when the last was answered).

Measured:

* **durable events/s**: 200 answers × messages per batch / elapsed. A 200 is sent only after the raw
  batch and its job are committed; the run checks that the stored batches equal the acknowledged ones.
* the **reference** in the same run: the same raw bodies written straight into PostgreSQL by the
  benchmark process over as many connections — one INSERT of the batch, one INSERT of its job and a
  COMMIT per body, the identical durable work without HTTP, authentication and validation. The ratio
  says what the HTTP path costs against the ceiling of durability on this machine.
* **expansion events/s**: ``siyu worker`` processes expand the stored batches (events with dedupe,
  identity resolution, profiles) for ``--expand-seconds``; its reference is the plain insert of the
  same events (parse the body, ``INSERT … ON CONFLICT DO NOTHING``) without identity resolution.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import create_engine, func, select

from bench.machine import (
    create_scratch_database,
    describe_database,
    describe_machine,
    drop_database,
    free_port,
)

SECRET_KEY = "bench-secret-key"
PEOPLE = 50_000
EVENTS = ("Product Viewed", "Product Added", "Checkout Started", "Coupon Viewed", "Store Searched")



def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=16, max_overflow=8)




def _prepare(url: str) -> tuple[int, int, str]:
    """Migrate, create a corp and a source; returns (corp id, source id, write key)."""
    from siyu.ingest.keys import new_write_key
    from siyu.kit.db import Database
    from siyu.kit.migrate import upgrade
    from siyu.models import Corp, IngestSource

    upgrade(url)
    database = Database(url)
    secret, key_hash, prefix = new_write_key()
    with database.session() as session:
        corp = Corp(slug="bench", name="压测品牌")
        session.add(corp)
        session.flush()
        source = IngestSource(corp_id=corp.id, name="bench app", kind="app", write_key_hash=key_hash,
                              write_key_prefix=prefix)
        session.add(source)
        session.flush()
        ids = corp.id, source.id
    database.dispose()
    return ids[0], ids[1], secret


def _message(rng: random.Random, batch: int, index: int, moment: datetime) -> dict:
    person = rng.randrange(PEOPLE)
    known = person % 3 != 0  # a third of the people never log in
    base = {"messageId": f"b{batch}-{index}-{uuid.uuid4().hex[:12]}", "anonymousId": f"anon-{person:06d}",
            "timestamp": (moment - timedelta(milliseconds=rng.randrange(60_000))).isoformat(timespec="milliseconds"),
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}, "ip": f"10.1.{person % 250}.7",
                        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.49",
                        "locale": "zh-CN"},
            "integrations": {}}
    if known:
        base["userId"] = f"member-{person:06d}"
    roll = rng.random()
    if roll < 0.05 and known:
        return {**base, "type": "identify", "traits": {
            "name": f"会员{person}", "phone": f"139{person:08d}", "city": rng.choice(["上海", "杭州", "苏州", "南京"]),
            "gender": rng.choice(["male", "female"])}}
    if roll < 0.15:
        return {**base, "type": "page", "name": rng.choice(["首页", "分类页", "活动页"]),
                "properties": {"path": "/", "title": "首页", "referrer": "https://servicewechat.com/"}}
    return {**base, "type": "track", "event": rng.choice(EVENTS),
            "properties": {"sku": f"SKU-{rng.randrange(5000):05d}", "price": round(rng.uniform(5, 300), 2),
                           "category": rng.choice(["水果", "饮品", "烘焙"]), "store": f"store-{person % 40}"}}


#: stands for the request's number in every messageId of a template, so that each request is distinct
TAG = b"@@REQ@@"
TEMPLATES = 200


def _templates(per_batch: int, write_key: str, seed: int) -> list[bytes]:
    """Batch bodies as the Segment SDK serialises them, with ``TAG`` in every messageId."""
    rng = random.Random(seed)
    moment = datetime.now(UTC)
    bodies = []
    for batch in range(TEMPLATES):
        messages = [_message(rng, batch, index, moment) for index in range(per_batch)]
        for message in messages:
            message["messageId"] = TAG.decode() + "-" + message["messageId"]
        bodies.append(json.dumps({"batch": messages, "sentAt": moment.isoformat(), "writeKey": write_key}).encode())
    return bodies


class Bodies:
    """Distinct bodies on demand: request ``n`` is template ``n % TEMPLATES`` with ``n`` in its ids."""

    def __init__(self, templates: list[bytes], write_key: str, start: int = 0) -> None:
        self.templates = templates
        self.next_number = start
        self.lock = threading.Lock()
        self.auth = base64.b64encode(f"{write_key}:".encode()).decode()

    def body(self) -> bytes:
        with self.lock:
            number = self.next_number
            self.next_number += 1
        return self.templates[number % len(self.templates)].replace(TAG, str(number).encode())

    def request(self) -> bytes:
        body = self.body()
        return (f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Basic {self.auth}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_SECRET_KEY": SECRET_KEY, "SIYU_LOG_LEVEL": "warning"}
    command = [str(Path(sys.executable).parent / "uvicorn"), "siyu.app:create_app", "--factory", "--host",
               "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
               "--no-access-log"]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not start")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)
    return int(lines[0].split()[1])


@dataclass
class LoadResult:
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]


async def _closed_loop(port: int, bodies: Bodies, clients: int, seconds: float, limit: int | None = None) -> LoadResult:
    """``clients`` keep-alive connections, each sending its next request when the last was answered,
    until ``seconds`` passed (or ``limit`` requests were sent)."""
    queue = iter(range(limit)) if limit is not None else None
    statuses: list[int] = []
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                if queue is not None and next(queue, None) is None:
                    return
                request = bodies.request()
                begin = time.perf_counter()
                statuses.append(await _exchange(reader, writer, request))
                latencies.append((time.perf_counter() - begin) * 1000)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(len(statuses), statuses.count(200), time.perf_counter() - started, latencies)


def _reference_inserts(engine, corp_id: int, source_id: int, bodies: Bodies, connections: int,
                       seconds: float) -> tuple[int, float]:
    """The same durable work without HTTP: per body one batch INSERT, one job INSERT, one COMMIT."""
    from sqlalchemy.orm import Session

    from siyu.kit.jobs import enqueue
    from siyu.models import IngestBatch

    lock = threading.Lock()
    done = [0]
    started = time.perf_counter()
    deadline = started + seconds

    def run() -> None:
        with Session(engine) as session:
            while time.perf_counter() < deadline:
                body = bodies.body()
                now = datetime.now(UTC)
                batch_id = session.execute(IngestBatch.__table__.insert().returning(IngestBatch.__table__.c.id), {
                    "corp_id": corp_id, "source_id": source_id, "endpoint": "reference", "body": body,
                    "event_count": 100, "status": "reference", "received_at": now}).scalar_one()
                enqueue(session, "bench.reference", {"batch_id": batch_id}, corp_id=corp_id, due_at=now + timedelta(days=365))
                session.commit()
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], time.perf_counter() - started


def _count(engine, statement) -> int:
    with engine.connect() as connection:
        return connection.scalar(statement)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def _expansion(url: str, engine, workers: int, seconds: float) -> tuple[int, int, float]:
    """Run ``siyu worker`` processes on the stored batches for ``seconds`` (or until done), timed
    from the first expanded batch so that the processes' start-up is not counted; returns (events
    inserted, batches expanded, elapsed seconds) over that window."""
    from siyu.models import Event, IngestBatch

    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_SECRET_KEY": SECRET_KEY, "SIYU_LOG_LEVEL": "warning",
           "SIYU_WORKER_IDLE_SECONDS": "0.05"}
    pending = select(func.count()).select_from(IngestBatch).where(IngestBatch.status == "received")
    processed = select(func.count()).select_from(IngestBatch).where(IngestBatch.status == "processed")
    events = select(func.count()).select_from(Event)
    processes = [subprocess.Popen([str(Path(sys.executable).parent / "siyu"), "worker"], env=env,
                                  stdout=subprocess.DEVNULL) for _ in range(workers)]
    try:
        deadline = time.perf_counter() + 120
        while _count(engine, processed) == 0:
            if time.perf_counter() > deadline:
                raise RuntimeError("no batch was expanded within two minutes")
            time.sleep(0.05)
        started, events_before, batches_before = time.perf_counter(), _count(engine, events), _count(engine, processed)
        while time.perf_counter() - started < seconds and _count(engine, pending) > 0:
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        events_after, batches_after = _count(engine, events), _count(engine, processed)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    return events_after - events_before, batches_after - batches_before, elapsed


def _reference_expansion(engine, bodies: Bodies, count: int, corp_id: int, source_id: int) -> tuple[int, float]:
    """Parse the same bodies and insert their events (dedupe on message id, no identity work) into
    a scratch copy of the event table, one transaction per body."""
    from sqlalchemy.orm import Session

    from siyu.ingest.expansion import event_time
    from siyu.kit.db import dialect_insert

    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE bench_event_reference (LIKE event INCLUDING ALL)")
    from sqlalchemy import MetaData, Table

    table = Table("bench_event_reference", MetaData(), autoload_with=engine)
    inserted = 0
    started = time.perf_counter()
    with Session(engine) as session:
        for _ in range(count):
            document = json.loads(bodies.body())
            received = datetime.now(UTC)
            rows = [{"corp_id": corp_id, "source_id": source_id, "customer_id": None, "message_id": m["messageId"],
                     "type": m["type"], "name": m.get("event") or m.get("name"), "user_id": m.get("userId"),
                     "anonymous_id": m.get("anonymousId"), "properties": m.get("properties", {}),
                     "traits": m.get("traits", {}), "context": m.get("context", {}),
                     "timestamp": event_time(m, None, received), "received_at": received}
                    for m in document["batch"]]
            statement = dialect_insert(session, table).on_conflict_do_nothing(
                index_elements=["corp_id", "message_id"]).returning(table.c.id)
            inserted += len(session.execute(statement, rows).all())
            session.commit()
    return inserted, time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="seconds of sustained ingest (default 25)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--batch", type=int, default=100, help="messages per request (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--expand-workers", type=int, default=2, help="siyu worker processes (default 2)")
    parser.add_argument("--expand-seconds", type=float, default=40.0, help="seconds of expansion (default 40)")
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server (an admin database URL); a throwaway database is created on it")
    options = parser.parse_args(argv)
    url, name = create_scratch_database(options.database_url, "ingest")
    server = None
    try:
        corp_id, source_id, write_key = _prepare(url)
        engine = _engine(url)
        print(describe_machine())
        print(describe_database(engine))
        built = time.perf_counter()
        templates = _templates(options.batch, write_key, seed=20260101)
        size = sum(len(b) for b in templates) / len(templates)
        print(f"{TEMPLATES} batch templates of {options.batch} messages built in {time.perf_counter() - built:.1f} s "
              f"(mean body {size / 1024:.1f} KiB, {size / options.batch:.0f} bytes per message); every request "
              f"is a template with its own messageIds")
        port = free_port()
        server = _start_server(url, port, options.workers)
        print(f"server: uvicorn siyu.app:create_app, {options.workers} worker process(es); load: {options.clients} "
              f"closed-loop keep-alive clients for {options.seconds:.0f} s")
        warmed = 20
        uvloop.run(_closed_loop(port, Bodies(templates, write_key, 10_000_000), options.clients, 60, warmed))
        load = uvloop.run(_closed_loop(port, Bodies(templates, write_key), options.clients, options.seconds))
        server.terminate()
        server.wait(timeout=30)
        server = None
        from siyu.models import IngestBatch

        stored = _count(engine, select(func.count()).select_from(IngestBatch).where(IngestBatch.endpoint == "batch"))
        durable = load.ok * options.batch / load.seconds
        print(f"ingest: {load.sent} requests, {load.ok} answered 200 in {load.seconds:.1f} s → "
              f"{load.ok / load.seconds:.1f} batches/s = {durable:,.0f} durable events/s; latency p50 "
              f"{_percentile(load.latencies_ms, 0.5):.1f} ms, p99 {_percentile(load.latencies_ms, 0.99):.1f} ms")
        print(f"stored batches {stored} (acknowledged {load.ok} + warm-up {warmed}): "
              f"{'every acknowledged batch is durable' if stored == load.ok + warmed else 'MISMATCH'}")
        reference_rows, reference_seconds = _reference_inserts(engine, corp_id, source_id, Bodies(templates, write_key),
                                                               options.clients, options.seconds)
        reference = reference_rows * options.batch / reference_seconds
        print(f"reference (same bodies, INSERT batch + INSERT job + COMMIT each, {options.clients} connections): "
              f"{reference_rows / reference_seconds:.1f} batches/s = {reference:,.0f} events/s")
        print(f"ratio HTTP ingest / direct durable insert: {durable / reference:.2f}")
        with engine.begin() as connection:  # the reference rows are not batches to expand
            connection.exec_driver_sql("DELETE FROM job WHERE name = 'bench.reference'")
            connection.exec_driver_sql("DELETE FROM ingest_batch WHERE endpoint = 'reference'")
        events, processed, elapsed = _expansion(url, engine, options.expand_workers, options.expand_seconds)
        expanded = events / elapsed
        print(f"expansion: {options.expand_workers} siyu worker process(es), {processed} batches → {events:,} events "
              f"in {elapsed:.1f} s = {expanded:,.0f} events/s (with identity resolution and profiles)")
        ref_events, ref_seconds = _reference_expansion(engine, Bodies(templates, write_key), max(1, min(processed, 200)),
                                                       corp_id, source_id)
        print(f"reference expansion (parse + INSERT … ON CONFLICT, no identity work, 1 connection): "
              f"{ref_events / ref_seconds:,.0f} events/s; ratio {expanded / (ref_events / ref_seconds):.2f}")
        verdict = "met" if durable >= 5000 else "NOT met"
        print(f"target ≥ 5,000 durable events/s: {verdict}")
        engine.dispose()
        return 0 if stored == load.ok + warmed and load.ok == load.sent else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(options.database_url, name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
