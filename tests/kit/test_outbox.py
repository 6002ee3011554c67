"""The provider outbox: one message and one delivery job per idempotency key, and what each kind of
provider outcome does. The provider is a scripted test deliverer (not a stand-in for WeCom)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu.kit.jobs import JobContext, Worker
from siyu.kit.outbox import (
    Deliverer,
    ProviderOutcomeUnknown,
    ProviderRefused,
    ProviderRetryable,
    add_outbox_message,
    register_deliverer,
)
from siyu.kit.settings import get_settings
from siyu.models.job import Job, JobStatus, OutboxMessage, OutboxStatus


@dataclass
class ScriptedProvider:
    """Answers each delivery with the next scripted outcome: a result dict or an exception."""

    outcomes: list[Any] = field(default_factory=list)
    #: what reconcile reports: the result if the earlier call took effect, else None
    reconciled: dict[str, Any] | None = None
    deliveries: list[tuple[str, dict]] = field(default_factory=list)
    reconciliations: list[str] = field(default_factory=list)

    def deliver(self, ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
        self.deliveries.append((message.idempotency_key, dict(message.payload)))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def reconcile(self, ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
        self.reconciliations.append(message.idempotency_key)
        return self.reconciled


@pytest.fixture
def provider() -> ScriptedProvider:
    scripted = ScriptedProvider()
    register_deliverer("scripted", Deliverer(deliver=scripted.deliver, reconcile=scripted.reconcile))
    return scripted


@pytest.fixture
def worker(database, clock) -> Worker:
    return Worker(database, clock=clock, worker_id="worker-a", lease_seconds=30)


def add_message(database, key: str = "welcome:42", provider: str = "scripted") -> None:
    with database.session() as session:
        add_outbox_message(session, provider=provider, operation="send_welcome", payload={"text": "你好"},
                           idempotency_key=key, corp_id=7)


def message_row(database, key: str = "welcome:42") -> OutboxMessage:
    with database.session() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


def jobs(database) -> list[tuple[str, dict, JobStatus, int]]:
    with database.session() as session:
        rows = session.execute(select(Job.key, Job.args, Job.status, Job.attempts).order_by(Job.id)).all()
    return [tuple(row) for row in rows]


def test_same_idempotency_key_twice_is_one_message_and_one_job(database, clock):
    # when the same call is decided twice
    add_message(database)
    add_message(database)
    # then one message and one delivery job exist
    with database.session() as session:
        messages = session.execute(select(OutboxMessage.provider, OutboxMessage.operation,
                                          OutboxMessage.payload, OutboxMessage.status,
                                          OutboxMessage.corp_id)).all()
    assert messages == [("scripted", "send_welcome", {"text": "你好"}, OutboxStatus.pending, 7)]
    assert jobs(database) == [("outbox:welcome:42", {"idempotency_key": "welcome:42"}, JobStatus.queued, 0)]


def test_message_of_a_rolled_back_transaction_is_never_delivered(database, clock, provider, worker):
    with pytest.raises(RuntimeError), database.session() as session:
        add_outbox_message(session, provider="scripted", operation="send_welcome", payload={},
                           idempotency_key="welcome:42")
        raise RuntimeError("the business change failed")
    assert worker.run_once() == 0
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert provider.deliveries == []


def test_delivered_message_is_sent_with_the_provider_result(database, clock, provider, worker):
    provider.outcomes = [{"msgid": "m-1"}]
    add_message(database)
    assert worker.run_once() == 1
    message = message_row(database)
    assert (message.status, message.result, message.sent_at, message.attempts, message.last_error) == (
        OutboxStatus.sent, {"msgid": "m-1"}, clock.now(), 1, None)
    assert provider.deliveries == [("welcome:42", {"text": "你好"})]
    assert jobs(database) == [("outbox:welcome:42", {"idempotency_key": "welcome:42"}, JobStatus.done, 1)]


def test_retryable_failure_is_retried_with_backoff_then_sent(database, clock, provider, worker):
    # given a provider that is down twice, then answers
    provider.outcomes = [ProviderRetryable("HTTP 503"), ProviderRetryable("rate limited"), {"msgid": "m-1"}]
    add_message(database)
    # when the worker runs the delivery each time it is due
    waits = []
    for _ in range(2):
        assert worker.run_once() == 1
        with database.session() as session:
            job = session.scalars(select(Job)).one()
            waits.append((job.status, job.attempts, job.due_at - clock.now(), job.last_error))
        assert message_row(database).status == OutboxStatus.pending
        clock.advance(job.due_at - clock.now())
    assert worker.run_once() == 1
    # then it waited 2 s then 4 s, and was sent on the third delivery
    assert waits == [
        (JobStatus.queued, 1, timedelta(seconds=2), "siyu.kit.outbox.ProviderRetryable: HTTP 503"),
        (JobStatus.queued, 2, timedelta(seconds=4), "siyu.kit.outbox.ProviderRetryable: rate limited"),
    ]
    message = message_row(database)
    assert (message.status, message.result, message.sent_at, message.last_error) == (
        OutboxStatus.sent, {"msgid": "m-1"}, clock.now(), None)
    assert len(provider.deliveries) == 3
    assert jobs(database) == [("outbox:welcome:42", {"idempotency_key": "welcome:42"}, JobStatus.done, 3)]


def test_refused_message_fails_at_once_and_is_not_retried(database, clock, provider, worker):
    provider.outcomes = [ProviderRefused("errcode 40003: invalid external_userid")]
    add_message(database)
    assert worker.run_once() == 1
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    message = message_row(database)
    assert (message.status, message.last_error, message.result, message.sent_at, message.attempts) == (
        OutboxStatus.failed, "errcode 40003: invalid external_userid", None, None, 1)
    assert len(provider.deliveries) == 1
    assert jobs(database) == [("outbox:welcome:42", {"idempotency_key": "welcome:42"}, JobStatus.done, 1)]


def test_unknown_outcome_is_reconciled_without_a_second_delivery(database, clock, provider, worker):
    # given a delivery that timed out after the provider may have acted on it
    provider.outcomes = [ProviderOutcomeUnknown("read timeout after 10 s")]
    provider.reconciled = {"msgid": "m-1", "found_by": "reconcile"}
    add_message(database)
    assert worker.run_once() == 1
    # then the message is unknown and a reconciliation is due after the backoff, not before
    message = message_row(database)
    assert (message.status, message.last_error, message.attempts) == (
        OutboxStatus.unknown, "read timeout after 10 s", 1)
    assert jobs(database) == [
        ("outbox:welcome:42", {"idempotency_key": "welcome:42"}, JobStatus.done, 1),
        ("outbox:welcome:42:reconcile:1", {"idempotency_key": "welcome:42"}, JobStatus.queued, 0),
    ]
    clock.advance(timedelta(seconds=2) - timedelta(microseconds=1))
    assert worker.run_once() == 0
    # when it is due and the provider shows the call took effect
    clock.advance(timedelta(microseconds=1))
    assert worker.run_once() == 1
    # then the message is sent with what reconcile found, and the provider was called once
    message = message_row(database)
    assert (message.status, message.result, message.sent_at, message.last_error, message.attempts) == (
        OutboxStatus.sent, {"msgid": "m-1", "found_by": "reconcile"}, clock.now(), None, 1)
    assert len(provider.deliveries) == 1
    assert provider.reconciliations == ["welcome:42"]


def test_unknown_outcome_that_did_not_take_effect_is_delivered_again(database, clock, provider, worker):
    provider.outcomes = [ProviderOutcomeUnknown("connection reset"), {"msgid": "m-2"}]
    provider.reconciled = None
    add_message(database)
    assert worker.run_once() == 1
    clock.advance(2)
    assert worker.run_once() == 1
    message = message_row(database)
    assert (message.status, message.result, message.attempts) == (OutboxStatus.sent, {"msgid": "m-2"}, 2)
    assert (len(provider.deliveries), provider.reconciliations) == (2, ["welcome:42"])


def test_outcome_that_stays_unknown_ends_in_a_dead_job_and_an_unknown_message(database, clock, provider,
                                                                              worker):
    # given a provider whose every answer is lost and which never shows the call took effect
    limit = get_settings().job_max_attempts
    provider.outcomes = [ProviderOutcomeUnknown(f"timeout {n}") for n in range(1, limit + 1)]
    add_message(database)
    # when every follow-up runs when due
    for _ in range(limit + 1):
        assert worker.run_once() == 1
        clock.advance(timedelta(hours=1))
    assert worker.run_once() == 0
    # then it was delivered `limit` times, backing off, and the last follow-up is dead with the doubt
    with database.session() as session:
        follow_ups = session.execute(select(Job.key, Job.due_at, Job.created_at, Job.status)
                                     .where(Job.key.like("%:reconcile:%")).order_by(Job.id)).all()
    assert [(key, due - created) for key, due, created, _ in follow_ups] == [
        (f"outbox:welcome:42:reconcile:{n}", timedelta(seconds=min(2 ** n, 3600)))
        for n in range(1, limit + 1)]
    last = session_job(database, f"outbox:welcome:42:reconcile:{limit}")
    assert (last.status, last.last_error) == (
        JobStatus.dead,
        f"siyu.kit.jobs.PermanentJobError: outcome of outbox message 'welcome:42' still unknown after "
        f"{limit} deliveries: timeout {limit}")
    message = message_row(database)
    assert (message.status, message.attempts, message.last_error) == (
        OutboxStatus.unknown, limit, f"timeout {limit}")
    assert len(provider.deliveries) == limit


def session_job(database, key: str) -> Job:
    with database.session() as session:
        return session.scalars(select(Job).where(Job.key == key)).one()


def test_message_for_an_unregistered_provider_is_a_dead_job(database, clock, provider, worker):
    add_message(database, provider="nobody")
    assert worker.run_once() == 1
    assert jobs(database) == [("outbox:welcome:42", {"idempotency_key": "welcome:42"}, JobStatus.dead, 1)]
    assert session_job(database, "outbox:welcome:42").last_error == (
        "siyu.kit.jobs.PermanentJobError: no deliverer registered for provider 'nobody'")
    assert message_row(database).status == OutboxStatus.pending
