"""What each node type does, in two halves the engine calls for a whole batch at once.

* ``decide`` reads (never writes) and says, per enrolment, what the node's outcome is and where the
  enrolment goes next. The simulator calls only this half.
* ``apply`` performs the side effects, only for the enrolments whose step-log row was just inserted
  (the unique (enrolment, node) row is the idempotency key), in the same transaction.

``due_on_entry`` says when an enrolment arriving at a node is due there: at once for most nodes, at
the end of the wait for waits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.journey import actions, context, ports
from siyu.journey.definition import Flow, duration_of
from siyu.kit.clock import Clock, get_clock
from siyu.models.event import Event


@dataclass(frozen=True)
class Visit:
    """An enrolment at a node, as the engine hands it to the node."""

    id: int
    customer_id: int
    entered_at: datetime
    node_entered_at: datetime
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What happened at a node: the step's outcome and branch, and where to go next.

    ``next`` None ends the enrolment (``end`` says how: completed or exited); ``defer_until`` keeps
    it at the node without a step (a deferred send, an event wait woken early)."""

    outcome: str
    next: str | None = None
    branch: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    defer_until: datetime | None = None
    end: str = "completed"
    converts: bool = False


@dataclass
class Env:
    """What a node needs: the transaction, the corp, the journey's flow and the (maybe simulated) time;
    ``clock`` is the worker's, for the effects that queue jobs (outbox messages)."""

    session: Session
    corp_id: int
    journey_id: int
    version_id: int
    flow: Flow
    now: datetime
    simulate: bool = False
    clock: Clock = field(default_factory=get_clock)


Decide = Callable[[Env, dict[str, Any], list[Visit]], dict[int, Outcome]]


def _all(visits: list[Visit], outcome: Outcome) -> dict[int, Outcome]:
    return {visit.id: outcome for visit in visits}


def due_on_entry(flow: Flow, node: dict[str, Any], now: datetime) -> datetime:
    kind = node["type"]
    if kind == "wait":
        return now + duration_of(node["duration"])
    if kind == "wait_event":
        return now + duration_of(node["timeout"])
    if kind == "wait_until":
        return next_local_time(now, flow, node["time"], node.get("weekdays"))
    return now


def next_local_time(now: datetime, flow: Flow, time_of_day: str, weekdays: list[int] | None) -> datetime:
    """The first moment at or after ``now`` that is ``time_of_day`` on an allowed ISO weekday, in the
    journey's time zone."""
    hour, minute = (int(part) for part in time_of_day.split(":"))
    local = now.astimezone(flow.timezone)
    for offset in range(8):
        day = local + timedelta(days=offset)
        candidate = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate >= local and (not weekdays or candidate.isoweekday() in weekdays):
            return candidate.astimezone(now.tzinfo)
    raise AssertionError("a weekday list always matches within a week")


def _passes(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    return _all(visits, Outcome("passed", node.get("next")))


def _wait_event(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    customer_ids = [visit.customer_id for visit in visits]
    since = min(visit.node_entered_at for visit in visits)
    arrived: dict[int, datetime] = {}
    if env.simulate:
        arrived = {}  # the future's events are unknown: a simulation takes every timeout branch
    elif node.get("event"):
        rows = env.session.execute(
            select(Event.customer_id, Event.received_at).where(
                Event.corp_id == env.corp_id, Event.name == node["event"], Event.customer_id.in_(customer_ids),
                Event.received_at >= since))
        for customer_id, at in rows:
            arrived[customer_id] = min(at, arrived.get(customer_id, at))
    else:
        members = ports.segment_members(env.session, env.corp_id, node["segment_id"]).subquery()
        column = list(members.c)[0]
        for customer_id in env.session.scalars(select(column).where(column.in_(customer_ids))):
            arrived[customer_id] = env.now
    timeout = duration_of(node["timeout"])
    outcomes = {}
    for visit in visits:
        at = arrived.get(visit.customer_id)
        if at is not None and at >= visit.node_entered_at:
            outcomes[visit.id] = Outcome("passed", node.get("next"), branch="matched")
        elif env.now >= visit.node_entered_at + timeout:
            outcomes[visit.id] = Outcome("passed", node.get("timeout_next"), branch="timeout")
        else:
            outcomes[visit.id] = Outcome("waiting", defer_until=visit.node_entered_at + timeout)
    return outcomes


def _condition(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    try:
        matched = ports.matching(env.session, env.corp_id, node["condition"], [v.customer_id for v in visits],
                                 env.now)
    except ports.Unavailable as missing:
        return _all(visits, Outcome("failed", None, detail={"unavailable": missing.capability}, end="exited"))
    return {visit.id: Outcome("branched", node.get("yes"), branch="yes") if visit.customer_id in matched
            else Outcome("branched", node.get("no"), branch="no") for visit in visits}


def split_bucket(journey_id: int, node_id: str, customer_id: int) -> int:
    """A customer's stable bucket 0–99 for a split: the same customer always takes the same branch."""
    digest = hashlib.blake2b(f"{journey_id}:{node_id}:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def _split(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    outcomes = {}
    for visit in visits:
        bucket, upper = split_bucket(env.journey_id, node["id"], visit.customer_id), 0
        for branch in node["branches"]:
            upper += branch["weight"]
            if bucket < upper:
                outcomes[visit.id] = Outcome("branched", branch.get("next"), branch=branch["key"])
                break
    return outcomes


def _goal(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    return _all(visits, Outcome("converted", node.get("next"), converts=True))


def _exit(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    return _all(visits, Outcome("exited", None, end="exited"))


DECIDERS: dict[str, Decide] = {
    "wait": _passes, "wait_until": _passes, "wait_event": _wait_event, "condition": _condition,
    "split": _split, "context_branch": context.decide_context_branch, "goal": _goal, "exit": _exit,
    "send_message": actions.decide_send, "add_tag": actions.decide_tag, "remove_tag": actions.decide_tag,
    "issue_coupon": actions.decide_capability, "invite_group": actions.decide_capability,
    "staff_task": actions.decide_capability, "webhook": _passes, "update_trait": _passes,
}


def decide(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    """The outcome of ``node`` for each of ``visits`` (read-only)."""
    return DECIDERS[node["type"]](env, node, visits)


def apply(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    """The side effects of ``node`` for ``visits`` whose step was just logged."""
    applier = actions.APPLIERS.get(node["type"])
    if applier is not None:
        effective = [visit for visit in visits if outcomes[visit.id].outcome in ("passed", "sent")]
        if effective:
            applier(env, node, effective, outcomes)
