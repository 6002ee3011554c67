"""The outbox: calls to providers decided inside a transaction and delivered after it commits.

A domain calls ``add_outbox_message`` in its transaction; that writes the message and enqueues the
``outbox.deliver`` job in the same transaction. The deliverer looks up the provider's ``Deliverer``
by name. Delivery outcomes:

* success → ``sent`` with the provider's result;
* ``ProviderRetryable`` (network error, 5xx, rate limit) → the job retries with backoff;
* ``ProviderRefused`` (a bad request) → ``failed`` at once, no retry;
* ``ProviderOutcomeUnknown`` (timeout after sending) → ``unknown``, committed, and a follow-up job is
  due after the backoff; it first asks the provider's ``reconcile`` what happened instead of resending
  blindly (a provider without ``reconcile`` must honour the idempotency key, because it is resent).
  After ``job_max_attempts`` deliveries whose outcome stayed unknown, the follow-up job goes dead with
  the message still ``unknown``, for an operator to look at.

``OutboxMessage.attempts`` counts deliveries whose outcome was recorded on the message (sent, refused,
unknown). A transient failure rolls the handler's transaction back, so it is counted on the job, whose
attempts, backoff and dead-letter state apply as for any job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock, get_clock
from siyu.kit.db import dialect_insert
from siyu.kit.jobs import JobContext, PermanentJobError, backoff_seconds, enqueue, job_handler
from siyu.models.job import OutboxMessage, OutboxStatus


class ProviderRetryable(Exception):
    """Transient: try again later."""


class ProviderRefused(Exception):
    """The provider refused the request; retrying cannot help."""


class ProviderOutcomeUnknown(Exception):
    """The request may have taken effect; reconcile before doing anything else."""


@dataclass
class Deliverer:
    """How to deliver (and reconcile) one provider's messages."""

    deliver: Callable[[JobContext, OutboxMessage], dict[str, Any]]
    #: Returns the result if the provider shows the call took effect, ``None`` if it did not.
    reconcile: Callable[[JobContext, OutboxMessage], dict[str, Any] | None] | None = None


_deliverers: dict[str, Deliverer] = {}


def register_deliverer(provider: str, deliverer: Deliverer) -> None:
    """Deliver messages whose ``provider`` is ``provider`` with ``deliverer`` (the last one wins)."""
    _deliverers[provider] = deliverer


def add_outbox_message(
    session: Session,
    *,
    provider: str,
    operation: str,
    payload: dict[str, Any],
    idempotency_key: str,
    corp_id: int | None = None,
    clock: Clock | None = None,
) -> None:
    """Record the intent to call ``provider`` and enqueue its delivery, both in the caller's
    transaction. Idempotent on ``idempotency_key``: the same key twice is one message and one job."""
    clock = clock or get_clock()
    now = clock.now()
    session.execute(
        dialect_insert(session, OutboxMessage.__table__)
        .values(corp_id=corp_id, provider=provider, operation=operation, payload=payload,
                idempotency_key=idempotency_key, status=OutboxStatus.pending, attempts=0,
                created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    enqueue(session, "outbox.deliver", {"idempotency_key": idempotency_key},
            key=f"outbox:{idempotency_key}", corp_id=corp_id, clock=clock)


@job_handler("outbox.deliver")
def deliver_outbox_message(ctx: JobContext, idempotency_key: str) -> None:
    """Deliver one outbox message (or reconcile it when an earlier outcome is unknown)."""
    message = ctx.session.scalars(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key).with_for_update()
    ).one_or_none()
    if message is None or message.status in (OutboxStatus.sent, OutboxStatus.failed):
        return
    deliverer = _deliverers.get(message.provider)
    if deliverer is None:
        raise PermanentJobError(f"no deliverer registered for provider {message.provider!r}")
    if message.status == OutboxStatus.unknown:
        if deliverer.reconcile is not None:
            found = deliverer.reconcile(ctx, message)
            if found is not None:
                _mark_sent(ctx, message, found)
                return
        if message.attempts >= _max_deliveries():
            raise PermanentJobError(
                f"outcome of outbox message {idempotency_key!r} still unknown after "
                f"{message.attempts} deliveries: {message.last_error}"
            )
    message.attempts += 1
    try:
        result = deliverer.deliver(ctx, message)
    except ProviderRefused as exc:
        message.status = OutboxStatus.failed
        message.last_error = str(exc)[:4000]
        return
    except ProviderOutcomeUnknown as exc:
        # Completing this job commits the doubt; raising would roll it back and resend blindly.
        # The follow-up job reconciles first, after the same backoff a failed job would get.
        message.status = OutboxStatus.unknown
        message.last_error = str(exc)[:4000]
        ctx.session.flush()
        enqueue(ctx.session, "outbox.deliver", {"idempotency_key": idempotency_key},
                key=f"outbox:{idempotency_key}:reconcile:{message.attempts}", corp_id=message.corp_id,
                delay=timedelta(seconds=backoff_seconds(message.attempts)), clock=ctx.clock)
        return
    _mark_sent(ctx, message, result)


def _max_deliveries() -> int:
    from siyu.kit.settings import get_settings

    return get_settings().job_max_attempts


def _mark_sent(ctx: JobContext, message: OutboxMessage, result: dict[str, Any]) -> None:
    message.status = OutboxStatus.sent
    message.result = result
    message.sent_at = ctx.clock.now()
    message.last_error = None
