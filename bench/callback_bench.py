"""WeCom callback acknowledgement under load: signature check, decryption, inbox insert, job enqueue and
the ``success`` answer, at a fixed request rate against ``siyu serve`` on PostgreSQL.

    python -m bench callbacks [--rate 500] [--seconds 20] [--database-url postgresql://…/postgres]

A throwaway database is created and migrated, one corp is connected, and ``siyu serve`` runs in a
subprocess (one uvicorn process). The load generator is open-loop: each request has a due time
(``rate`` per second) and its latency is
measured from that due time to the end of the response, so a server that falls behind cannot hide
it by slowing the generator down (no coordinated omission). The generator is one asyncio process
writing pre-built requests on keep-alive connections, light enough not to starve the server of the
machine's two cores. Every event is distinct and encrypted beforehand. The reference in the same run is the same server's ``GET /healthz`` at the same rate:
the ratio says what the callback path costs on top of serving a trivial request on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvloop
from sqlalchemy import create_engine, func, select, text

from bench.machine import (
    create_scratch_database,
    describe_database,
    describe_machine,
    drop_database,
    free_port,
)

TOKEN = "BenchToken2026"
AES_KEY = "BenchAesKey0123456789abcdefghijklmnopqrstuv"
WECOM_CORP = "wwbenchcallbacks01"
SECRET_KEY = "bench-secret-key"
#: The generator's connection pool; a request waits for a free connection when all are busy (and
#: that wait counts in its latency).
MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class Sample:
    due: float
    started: float
    finished: float
    status: int





def _prepare(url: str) -> int:
    """Migrate and connect one corp; returns siyu's corp id."""
    from siyu.kit.db import Database
    from siyu.kit.migrate import upgrade
    from siyu.kit.security import encrypt_secret
    from siyu.models import Corp, WeComConnection

    upgrade(url)
    database = Database(url)
    with database.session() as session:
        corp = Corp(slug="bench", name="压测品牌")
        session.add(corp)
        session.flush()
        session.add(WeComConnection(corp_id=corp.id, wecom_corp_id=WECOM_CORP,
                                    callback_token_encrypted=encrypt_secret(TOKEN, SECRET_KEY),
                                    encoding_aes_key_encrypted=encrypt_secret(AES_KEY, SECRET_KEY)))
        corp_id = corp.id
    database.dispose()
    return corp_id


def _start_server(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_SECRET_KEY": SECRET_KEY, "SIYU_HOST": "127.0.0.1",
           "SIYU_PORT": str(port), "SIYU_LOG_LEVEL": "warning"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "siyu"), "serve"], env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("siyu serve did not start")


def _deliveries(count: int, corp_id: int, phase: str) -> list[bytes]:
    """``count`` distinct add_external_contact events, encrypted and signed like WeCom's, as raw HTTP
    requests."""
    from siyu.integrations.wecom.crypto import WeComCrypto

    crypto = WeComCrypto(TOKEN, AES_KEY, WECOM_CORP)
    now = str(int(time.time()))
    prepared = []
    for index in range(count):
        xml = (f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               "<Event><![CDATA[change_external_contact]]></Event>"
               "<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[bench-staff]]></UserID>"
               f"<ExternalUserID><![CDATA[wmBench{phase}{index:010d}AAAA]]></ExternalUserID>"
               "<State><![CDATA[bench]]></State></xml>")
        encrypted = crypto.encrypt(xml)
        nonce = str(1_000_000 + index)
        body = (f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><AgentID><![CDATA[]]></AgentID>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        query = urlencode({"msg_signature": crypto.sign(now, nonce, encrypted), "timestamp": now, "nonce": nonce})
        head = (f"POST /wecom/callback/{corp_id}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n")
        prepared.append(head.encode() + body)
    return prepared


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection and read the whole response; its status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def _open_loop(port: int, requests: list[bytes], rate: float) -> list[Sample]:
    """Send ``requests`` at ``rate`` per second on their due times, over a pool of connections."""
    idle: asyncio.Queue = asyncio.Queue()
    opened = 0
    samples: list[Sample] = []

    async def send(request: bytes, due: float) -> None:
        nonlocal opened
        if idle.empty() and opened < MAX_CONNECTIONS:
            opened += 1
            connection = await asyncio.open_connection("127.0.0.1", port)
        else:
            connection = await idle.get()
        started = time.perf_counter()
        status = await _exchange(*connection, request)
        samples.append(Sample(due, started, time.perf_counter(), status))
        idle.put_nowait(connection)

    start = time.perf_counter() + 0.2
    tasks = []
    for index, request in enumerate(requests):
        due = start + index / rate
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.ensure_future(send(request, due)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        _, writer = idle.get_nowait()
        writer.close()
    return samples


def _phase(port: int, requests: list[bytes], rate: float) -> list[Sample]:
    return uvloop.run(_open_loop(port, requests, rate))


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(server: subprocess.Popen, port: int, requests: list[bytes], rate: float) -> tuple[list[Sample], float]:
    """A phase and the server's CPU milliseconds per request during it (independent of the
    machine's other load, unlike latency)."""
    before = _cpu_seconds(server.pid)
    samples = _phase(port, requests, rate)
    return samples, (_cpu_seconds(server.pid) - before) * 1000 / len(requests)


def _commit_probe(engine, count: int = 50) -> tuple[float, float]:
    """p50 and p99 milliseconds of a one-row insert and its commit: what the database's WAL flush
    costs right now (other work on the same server shows up here first)."""
    durations = []
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS commit_probe (n int)"))
        connection.commit()
        for n in range(count):
            started = time.perf_counter()
            connection.execute(text("INSERT INTO commit_probe VALUES (:n)"), {"n": n})
            connection.commit()
            durations.append((time.perf_counter() - started) * 1000)
    return _percentile(durations, 0.5), _percentile(durations, 0.99)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Summary:
    kind: str
    requests: int
    ok: int
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_service_ms: float

    def line(self) -> str:
        return (f"{self.kind:<9} {self.requests:>6} requests, {self.ok:>6} answered 200, "
                f"{self.achieved_rate:6.1f}/s; latency from due time p50 {self.p50_ms:6.2f} ms, "
                f"p99 {self.p99_ms:6.2f} ms, max {self.max_ms:7.2f} ms (mean service {self.mean_service_ms:5.2f} ms)")


def _summarise(kind: str, samples: list[Sample]) -> Summary:
    latencies = [(s.finished - s.due) * 1000 for s in samples]
    span = max(s.finished for s in samples) - min(s.due for s in samples)
    return Summary(kind, len(samples), sum(1 for s in samples if s.status == 200), len(samples) / span,
                   _percentile(latencies, 0.5), _percentile(latencies, 0.99), max(latencies),
                   statistics.fmean((s.finished - s.started) * 1000 for s in samples))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench callbacks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second (default 500)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per phase (default 20)")
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server (an admin database URL); a throwaway database is created on it")
    options = parser.parse_args(argv)
    url, name = create_scratch_database(options.database_url, "callbacks")
    server = None
    try:
        corp_id = _prepare(url)
        port = free_port()
        server = _start_server(url, port)
        base_url = f"http://127.0.0.1:{port}"
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        print(describe_machine())
        print(describe_database(engine))
        probe = _commit_probe(engine)
        print(f"commit probe before the run: p50 {probe[0]:.2f} ms, p99 {probe[1]:.2f} ms per one-row commit")
        print(f"siyu serve (1 uvicorn process) on {base_url}; load: open loop at {options.rate:.0f}/s for "
              f"{options.seconds:.0f} s per phase, up to {MAX_CONNECTIONS} keep-alive connections")
        count = int(options.rate * options.seconds)
        warm_up_requests, measured = _deliveries(int(options.rate * 2), corp_id, "W"), _deliveries(count, corp_id, "M")
        # Warm-up (not measured): connection pools, statement caches, the corp's crypto.
        _phase(port, [HEALTHZ] * int(options.rate * 2), options.rate)
        warm_up = _phase(port, warm_up_requests, options.rate)
        reference_samples, reference_cpu = _measured(server, port, [HEALTHZ] * count, options.rate)
        callback_samples, callback_cpu = _measured(server, port, measured, options.rate)
        reference, callbacks = _summarise("healthz", reference_samples), _summarise("callback", callback_samples)
        print(reference.line() + f"; server CPU {reference_cpu:.2f} ms/request")
        print(callbacks.line() + f"; server CPU {callback_cpu:.2f} ms/request")
        print(f"ratio callback/healthz: p50 {callbacks.p50_ms / reference.p50_ms:.2f}×, "
              f"p99 {callbacks.p99_ms / reference.p99_ms:.2f}×")
        probe = _commit_probe(engine)
        print(f"commit probe after the run: p50 {probe[0]:.2f} ms, p99 {probe[1]:.2f} ms per one-row commit")
        from siyu.models import Job, WeComCallback

        with engine.connect() as connection:
            stored = connection.scalar(select(func.count()).select_from(WeComCallback)
                                       .where(WeComCallback.event_key.is_not(None)))
            jobs = connection.scalar(select(func.count()).select_from(Job).where(Job.name == "wecom.handle_callback"))
        engine.dispose()
        expected = callbacks.ok + sum(1 for sample in warm_up if sample.status == 200)
        print(f"inbox rows {stored}, handler jobs {jobs} (expected {expected} each, warm-up included)")
        verdict = "met" if callbacks.p99_ms < 50 else "NOT met"
        print(f"target callback ack p99 < 50 ms at {options.rate:.0f}/s: {verdict}")
        return 0 if stored == jobs == expected and callbacks.ok == callbacks.requests else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        drop_database(options.database_url, name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
