"""The inbox under concurrency: batches with duplicates inside and across them, concurrent requests
handed to one ``InboxWriter``, and a failed batch that acknowledges nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from siyu.integrations.wecom.inbox_writer import InboxWriter
from siyu.models import CallbackStatus, Job, WeComCallback
from siyu.wecom import service
from siyu.wecom.service import InboxEntry


def _entry(corp_id: int, key: str, clock) -> InboxEntry:
    now = clock.now()
    return InboxEntry(corp_id, key, dict(
        corp_id=corp_id, status=CallbackStatus.received, event="change_external_contact",
        change_type="add_external_contact", payload_xml=f"<xml>{key}</xml>", remote_address="127.0.0.1",
        received_at=now, replay_count=0, created_at=now, updated_at=now))


def _rows(database) -> list[tuple]:
    with database.session() as session:
        callbacks = session.scalars(select(WeComCallback).order_by(WeComCallback.id))
        return [(c.event_key, c.status, c.reason) for c in callbacks]


def _jobs(database) -> list[tuple]:
    with database.session() as session:
        return [(j.name, j.corp_id, j.args["callback_id"]) for j in session.scalars(select(Job).order_by(Job.id))]


def test_a_batch_stores_each_event_once_and_logs_the_other_deliveries(database, brand, clock):
    alpha, beta = brand[0].corp_id, brand[1].corp_id
    with database.session() as session:
        assert service.store_events(session, [_entry(alpha, "a", clock)], clock) == [CallbackStatus.received]
    # Given a batch with an event already stored, a new one twice, and another corp's event
    batch = [_entry(alpha, "a", clock), _entry(alpha, "b", clock), _entry(alpha, "b", clock),
             _entry(beta, "c", clock)]
    with database.session() as session:
        statuses = service.store_events(session, batch, clock)
    # Then each event is stored once, the repeats are logged, and one job per new event is queued
    assert statuses == [CallbackStatus.duplicate, CallbackStatus.received, CallbackStatus.duplicate,
                        CallbackStatus.received]
    rows = _rows(database)
    with database.session() as session:
        stored = {c.event_key: c.id
                  for c in session.scalars(select(WeComCallback).where(WeComCallback.event_key.is_not(None)))}
    assert sorted((k, s) for k, s, _ in rows if k) == [
        ("a", CallbackStatus.received), ("b", CallbackStatus.received), ("c", CallbackStatus.received)]
    assert sorted(r for k, s, r in rows if s == CallbackStatus.duplicate) == [
        f"duplicate of #{stored['a']}", f"duplicate of #{stored['b']}"]
    assert sorted(_jobs(database)) == sorted([("wecom.handle_callback", alpha, stored["a"]),
                                              ("wecom.handle_callback", alpha, stored["b"]),
                                              ("wecom.handle_callback", beta, stored["c"])])


def test_concurrent_requests_through_the_writer_store_every_event_once(database, brand, clock):
    corp_id = brand[0].corp_id
    writer = InboxWriter(database, clock)
    keys = [f"event-{n % 12}" for n in range(30)]  # 12 events, most of them delivered more than once

    async def deliver_all() -> list[CallbackStatus]:
        return await asyncio.gather(*(writer.store(_entry(corp_id, key, clock)) for key in keys))

    statuses = asyncio.run(deliver_all())
    assert statuses.count(CallbackStatus.received) == 12
    assert statuses.count(CallbackStatus.duplicate) == 18
    # The first delivery of each event is the one stored
    first_deliveries = [keys[i] for i, s in enumerate(statuses) if s == CallbackStatus.received]
    assert first_deliveries == [f"event-{n}" for n in range(12)]
    rows = _rows(database)
    assert sorted(k for k, _, _ in rows if k) == sorted(f"event-{n}" for n in range(12))
    assert len(_jobs(database)) == 12


def test_a_failed_batch_acknowledges_nothing(database, brand, clock, monkeypatch):
    corp_id = brand[0].corp_id

    def unavailable(session, entries, clock):
        raise ConnectionError("database unavailable")

    monkeypatch.setattr(service, "store_events", unavailable)
    writer = InboxWriter(database, clock)

    async def deliver() -> None:
        await writer.store(_entry(corp_id, "lost", clock))

    with pytest.raises(ConnectionError, match="database unavailable"):
        asyncio.run(deliver())
    assert _rows(database) == []
    assert _jobs(database) == []
