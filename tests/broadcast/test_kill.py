"""A real ``siyu worker`` killed with SIGKILL in the middle of a broadcast — while WeCom has just
created a task whose answer the worker never committed — and a WeCom answer lost to a 502: the
broadcast still ends with exactly one WeCom task per sender and every recipient in exactly one.

Wall time is used (worker processes, leases); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from siyu.broadcast import service
from siyu.broadcast.service import VariantDraft
from siyu.emulator.wecom.app import close_emulator, create_emulator_app, get_emulator, get_simulator
from siyu.models import Corp, Customer, Relation, Staff
from siyu.models.broadcast import BroadcastTask
from siyu.models.job import OutboxMessage, OutboxStatus
from siyu.policy.settings import save
from tests.broadcast.conftest import mirror
from tests.integrations.wecom.conftest import EMULATOR_CORP, WeComEmulator, _RequestLog, _serve
from tests.kit.test_worker_processes import ROOT, SIYU, wait_until

pytestmark = pytest.mark.slow
CREATE = "/cgi-bin/externalcontact/add_msg_template"


class FaultyWeCom(_RequestLog):
    """The emulator behind faults on ``add_msg_template``: every call is slowed down; call 3 is
    processed but answered 502; call 5 is processed and its answer held until ``release``."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.calls = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != CREATE:
            await super().__call__(scope, receive, send)
            return
        self.calls += 1
        number = self.calls
        await asyncio.sleep(0.15)
        if number not in (3, 5):
            await super().__call__(scope, receive, send)
            return
        answered: list[dict] = []

        async def capture(message) -> None:
            answered.append(message)

        await super().__call__(scope, receive, capture)
        if number == 5:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"bad gateway"})


@pytest.fixture
def faulty_emulator(clock):
    app = create_emulator_app(clock=clock)
    wrapper = FaultyWeCom(app)
    server, thread, port = _serve(wrapper)
    credentials = get_simulator(app).create_corp(EMULATOR_CORP, "模拟品牌")
    url = f"http://127.0.0.1:{port}"
    emulator = WeComEmulator(url=url, base_url=f"{url}/cgi-bin/", app=app, state=get_emulator(app),
                             simulator=get_simulator(app), corp_id=EMULATOR_CORP, credentials=credentials,
                             _log=wrapper)
    yield emulator, wrapper
    wrapper.release.set()
    server.should_exit = True
    thread.join(timeout=10)
    close_emulator(app)


def _worker(database_url: str, secret_key: str, log_path) -> subprocess.Popen:
    environment = dict(os.environ, SIYU_DATABASE_URL=database_url, SIYU_SECRET_KEY=secret_key,
                       SIYU_JOB_LEASE_SECONDS="2", SIYU_WORKER_IDLE_SECONDS="0.05", SIYU_LOG_LEVEL="INFO",
                       PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    with log_path.open("w") as log:
        return subprocess.Popen([str(SIYU), "worker"], cwd=ROOT, env=environment, stdout=log,
                                stderr=subprocess.STDOUT)


def test_a_worker_killed_mid_broadcast_never_sends_twice_and_loses_no_recipient(
        database, database_url, clock, brand, settings, faulty_emulator, tmp_path):
    emulator, wecom = faulty_emulator
    clock.set(datetime.now(UTC))  # the workers use wall time (quiet hours are switched off below)
    corp_id = brand[0].corp_id
    # given 12 staff members serving 2 customers each, mirrored into WeCom
    with database.session() as session:
        for index in range(4, 13):
            staff = Staff(corp_id=corp_id, userid=f"alpha-s{index}", name=f"导购{index}")
            session.add(staff)
            session.flush()
            for n in range(2):
                customer = Customer(corp_id=corp_id, name=f"客户{index}-{n}")
                session.add(customer)
                session.flush()
                session.add(Relation(corp_id=corp_id, staff_id=staff.id, customer_id=customer.id,
                                     external_userid=f"wmkill{customer.id}", added_at=clock.now()))
        session.flush()
        emulator.connect(session, corp=session.get(Corp, corp_id), secret_key=settings.secret_key)
        external, _ = mirror(session, emulator, corp_id)
        save(session, corp_id, wecom_quota_rule="daily", marketing_cap=5, marketing_period="week",
             moments_per_day=3, quiet_start="00:00", quiet_end="00:00", opt_out_keywords=[], blacklist_tag_id=None,
             deferral_days=7)
        broadcast = service.create_broadcast(session, corp_id, name="年货节", audience={},
                                             variants=[VariantDraft("年货节开始啦")], now=clock.now())
        service.schedule(session, corp_id, broadcast.id, at=clock.now(), now=clock.now())
    with database.session() as session:
        service.dispatch(session, corp_id, broadcast.id, now=clock.now())
    with database.session() as session:
        task_count = len(session.scalars(select(BroadcastTask)).all())
    assert task_count == 12

    # when the worker is killed while WeCom holds the answer to a task it has already created
    first = _worker(database_url, settings.secret_key, tmp_path / "first.log")
    try:
        assert wecom.holding.wait(timeout=60), (tmp_path / "first.log").read_text()
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=15) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    wecom.release.set()
    second = _worker(database_url, settings.secret_key, tmp_path / "second.log")
    try:
        def settled() -> bool:
            with database.session() as session:
                statuses = session.scalars(select(OutboxMessage.status)).all()
            return len(statuses) == task_count and set(statuses) == {OutboxStatus.sent}

        def describe() -> str:
            with database.session() as session:
                rows = session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status,
                                              OutboxMessage.attempts, OutboxMessage.last_error)).all()
            return f"outbox: {rows}\n{(tmp_path / 'second.log').read_text()[-3000:]}"

        wait_until(settled, "every task to be created in WeCom", describe=describe, timeout=90)
    finally:
        second.terminate()
        second.wait(timeout=15)

    # then WeCom holds one message per task, and every recipient is in exactly one of them
    messages = list(emulator.state.corps[EMULATOR_CORP].mass_messages.values())
    received = Counter(r.external_userid for m in messages for rows in m.recipients.values() for r in rows)
    with database.session() as session:
        msgids = session.scalars(select(BroadcastTask.msgid)).all()
        reconciled = session.scalars(select(OutboxMessage.result)).all()
    assert wecom.calls >= task_count
    assert len(messages) == task_count
    assert sorted(msgids) == sorted(m.msgid for m in messages)
    assert received == Counter({external_userid: 1 for external_userid in external.values()})
    # the held call and the 502 were both settled by reconciliation, not by a second send
    assert sum(1 for result in reconciled if result.get("reconciled")) >= 2
