"""Ingest tests: a source with its write key, the app served by uvicorn on a loopback port for the
real SDKs, and helpers to expand stored batches and read what was stored."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import uvicorn
from sqlalchemy import func, select

from siyu.ingest.keys import new_write_key
from siyu.kit.db import Database
from siyu.kit.jobs import Worker
from siyu.models import Customer, Event, Identity, IngestBatch, IngestSource, Job


@dataclass(frozen=True)
class SourceFixture:
    source_id: int
    corp_id: int
    write_key: str


def make_source(database: Database, corp_id: int, name: str = "官网", *, enabled: bool = True) -> SourceFixture:
    secret, key_hash, prefix = new_write_key()
    with database.session() as session:
        source = IngestSource(corp_id=corp_id, name=name, kind="web", write_key_hash=key_hash,
                              write_key_prefix=prefix, enabled=enabled)
        session.add(source)
        session.flush()
        return SourceFixture(source.id, corp_id, secret)


@pytest.fixture
def source(database, brand) -> SourceFixture:
    """An enabled source of corp alpha."""
    return make_source(database, brand[0].corp_id)


@pytest.fixture
def now_clock(clock):
    """The test clock set to the wall clock: the SDKs stamp ``sentAt`` with real time, and a clock
    months away would (rightly) be read as client clock skew and shift every event's time."""
    clock.set(datetime.now(UTC).replace(microsecond=0))
    return clock


@dataclass
class Recorded:
    """What the served app saw: (path, Content-Encoding, had Authorization) per request."""

    requests: list[tuple[str, str | None, bool]] = field(default_factory=list)
    #: answer 503 to this many requests *after* the app handled them (a response lost on the way)
    lose_responses: int = 0


class _Recorder:
    """ASGI wrapper: records requests, and can swallow the app's answer to simulate a lost response."""

    def __init__(self, app, recorded: Recorded) -> None:
        self.app, self.recorded = app, recorded

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        encoding = headers.get(b"content-encoding")
        self.recorded.requests.append((scope["path"], encoding.decode() if encoding else None,
                                       b"authorization" in headers))
        if self.recorded.lose_responses <= 0:
            return await self.app(scope, receive, send)
        self.recorded.lose_responses -= 1

        async def swallow(message):
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"code": "unavailable", "message": "lost"}'})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Served:
    url: str
    recorded: Recorded


@pytest.fixture
def served(app) -> Iterator[Served]:
    """The app on a free loopback port (uvicorn in a thread), for clients that speak real HTTP."""
    recorded = Recorded()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(_Recorder(app, recorded), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield Served(f"http://127.0.0.1:{port}", recorded)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def expand(database, clock) -> Callable[[], int]:
    """Run due jobs until none is left; returns how many ran."""

    def run() -> int:
        worker = Worker(database, clock=clock)
        total = 0
        while ran := worker.run_once():
            total += ran
        return total

    return run


def events(database: Database, corp_id: int | None = None) -> list[Event]:
    with database.session() as session:
        statement = select(Event).order_by(Event.id)
        if corp_id is not None:
            statement = statement.where(Event.corp_id == corp_id)
        return list(session.scalars(statement))


def count(database: Database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def stored_nothing(database: Database) -> bool:
    """No batch, no job and no event were written."""
    return (count(database, IngestBatch), count(database, Job), count(database, Event)) == (0, 0, 0)


def identities_of(database: Database, customer_id: int) -> list[tuple[str, str]]:
    with database.session() as session:
        return sorted(session.execute(select(Identity.kind, Identity.value)
                                      .where(Identity.customer_id == customer_id)).all())


def customer(database: Database, customer_id: int) -> Customer:
    with database.session() as session:
        return session.get(Customer, customer_id)
