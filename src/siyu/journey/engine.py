"""The journey engine: enrolments are rows with a current node and ``due_at``; a worker claims a
batch of due enrolments and carries them through their nodes set-wise.

One batch is one transaction. On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP LOCKED``, so
any number of workers share the due rows without meeting; on SQLite the transaction starts with
``BEGIN IMMEDIATE``. The row locks are the lease: a worker that dies mid-batch rolls back with its
connection, the rows unlock, and another worker claims them again — with none of the dead batch's
effects, because every effect (steps, tags, touches, outbox rows) is a row of the same transaction.

Within a batch, enrolments at the same (version, node) are executed together: the node decides for
all of them with a few queries, the step log is written with one multi-row ``INSERT … ON CONFLICT DO
NOTHING RETURNING`` (the unique (enrolment, node) row is the idempotency key: only the enrolments it
returns get the node's side effects), and the moves to the next nodes are one ``UPDATE`` per target.
Enrolments whose next node is due at once go on in the same batch, up to ``max_hops`` nodes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, exists, func, literal, select, true, update
from sqlalchemy.orm import Session

from siyu.journey import bulk, nodes
from siyu.journey.definition import Flow
from siyu.kit.clock import Clock, get_clock
from siyu.kit.db import dialect_insert
from siyu.models.journey import Journey, JourneyEnrolment, JourneyStep, JourneyVersion

E = JourneyEnrolment
CHUNK = 5000


def flow_of(session: Session, version_id: int, cache: dict[int, Flow] | None = None) -> Flow:
    """The flow of a published version (``cache``: the flows one batch has read already)."""
    flow = cache.get(version_id) if cache is not None else None
    if flow is None:
        definition = session.scalar(select(JourneyVersion.definition).where(JourneyVersion.id == version_id))
        flow = Flow(definition)
        if cache is not None:
            cache[version_id] = flow
    return flow


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class BatchResult:
    """What one batch did."""

    claimed: int = 0
    executions: int = 0
    #: how late each claimed enrolment was against its due time, in seconds
    lateness: list[float] = field(default_factory=list)


@dataclass
class _Row:
    visit: nodes.Visit
    corp_id: int
    journey_id: int
    version_id: int
    node: str


def anything_due(session: Session, now: datetime) -> bool:
    """Whether any enrolment of a live journey is due (a cheap read before a claim)."""
    return session.scalar(select(E.id).join(Journey, Journey.id == E.journey_id)
                          .where(E.status == "active", E.due_at <= now, Journey.status == "live").limit(1)) is not None


def run_due(session: Session, now: datetime, *, batch_size: int = 1000, max_hops: int = 20,
            is_sqlite: bool | None = None, clock: Clock | None = None) -> BatchResult:
    """Claim up to ``batch_size`` due enrolments of live journeys and carry them as far as they go now
    (``clock``: the worker's, which the jobs the effects queue are timed by; default the process clock)."""
    if is_sqlite is None:
        is_sqlite = session.get_bind().dialect.name == "sqlite"
    clock = clock or get_clock()
    claim = (select(E.id, E.customer_id, E.entered_at, E.node_entered_at, E.context, E.corp_id, E.journey_id,
                    E.version_id, E.node, E.due_at)
             .join(Journey, Journey.id == E.journey_id)
             .where(E.status == "active", E.due_at <= now, Journey.status == "live")
             .order_by(E.due_at).limit(batch_size))
    if not is_sqlite:
        claim = claim.with_for_update(skip_locked=True, of=E)
    rows = session.execute(claim).all()
    result = BatchResult(claimed=len(rows))
    pending: list[_Row] = []
    flows: dict[int, Flow] = {}
    for r in rows:
        result.lateness.append((now - r.due_at).total_seconds())
        pending.append(_Row(nodes.Visit(r.id, r.customer_id, r.entered_at, r.node_entered_at, r.context or {}),
                            r.corp_id, r.journey_id, r.version_id, r.node))
    for _ in range(max_hops):
        if not pending:
            break
        groups: dict[tuple[int, str], list[_Row]] = defaultdict(list)
        for row in pending:
            groups[(row.version_id, row.node)].append(row)
        pending = []
        for (version_id, node_id), members in groups.items():
            first = members[0]
            flow = flow_of(session, version_id, flows)
            env = nodes.Env(session, first.corp_id, first.journey_id, version_id, flow, now, clock=clock)
            pending.extend(execute_node(env, node_id, members))
            result.executions += len(members)
    session.flush()
    return result


def execute_node(env: nodes.Env, node_id: str, members: list[_Row]) -> list[_Row]:
    """Run one node for enrolments at it; returns those now at a node that is due at once."""
    flow = env.flow
    node = flow.node(node_id)
    visits = [row.visit for row in members]
    outcomes = nodes.decide(env, node, visits)
    logged = [visit for visit in visits if outcomes[visit.id].defer_until is None]
    fresh = set(log_steps(env, node_id, logged, outcomes))
    # A step already in the log (a replay) moves on as it went the first time, without effects.
    replayed = [visit for visit in logged if visit.id not in fresh]
    if replayed:
        previous = dict(env.session.execute(select(JourneyStep.enrolment_id, JourneyStep.branch).where(
            JourneyStep.enrolment_id.in_([v.id for v in replayed]), JourneyStep.node == node_id)).all())
        outcomes.update({v.id: _replay(node, previous.get(v.id), outcomes[v.id]) for v in replayed})
    nodes.apply(env, node, [visit for visit in logged if visit.id in fresh], outcomes)
    return transition(env, members, outcomes)


def _replay(node: dict[str, Any], branch: str | None, decided: nodes.Outcome) -> nodes.Outcome:
    targets = {"yes": node.get("yes"), "no": node.get("no"), "matched": node.get("next"),
               "timeout": node.get("timeout_next")}
    for item in node.get("branches") or []:
        targets[item.get("key") or item.get("when")] = item.get("next")
    targets["default"] = node.get("default")
    if branch in targets:
        return nodes.Outcome("replayed", targets[branch], branch=branch)
    return nodes.Outcome("replayed", decided.next, end=decided.end)


def log_steps(env: nodes.Env, node_id: str, visits: list[nodes.Visit], outcomes: dict[int, nodes.Outcome]
              ) -> list[int]:
    """Insert the step rows; returns the enrolment ids whose row is new (the ones to run effects for)."""
    if not visits:
        return []
    inserted: list[int] = []
    for chunk in _chunks(visits):
        inserted.extend(bulk.insert_rows(env.session, JourneyStep.__table__, [
            dict(corp_id=env.corp_id, journey_id=env.journey_id, enrolment_id=v.id, node=node_id,
                 outcome=outcomes[v.id].outcome, branch=outcomes[v.id].branch, detail=outcomes[v.id].detail,
                 executed_at=env.now) for v in chunk], conflict=["enrolment_id", "node"], returning="enrolment_id"))
    return inserted


def transition(env: nodes.Env, members: list[_Row], outcomes: dict[int, nodes.Outcome]) -> list[_Row]:
    """Move each enrolment as its outcome says, one UPDATE per target; returns those due at once."""
    flow, now = env.flow, env.now
    moves: dict[str, list[_Row]] = defaultdict(list)
    defers: dict[datetime, list[int]] = defaultdict(list)
    ends: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    converts: list[int] = []
    for row in members:
        outcome = outcomes[row.visit.id]
        if outcome.converts:
            converts.append(row.visit.id)
        if outcome.defer_until is not None:
            defers[outcome.defer_until].append(row.visit.id)
        elif outcome.next is None:
            reason = "exit_node" if outcome.end == "exited" and outcome.outcome == "exited" else (
                outcome.detail.get("unavailable") and "unavailable") or None
            ends[(outcome.end, reason)].append(row.visit.id)
        else:
            moves[outcome.next].append(row)
    session = env.session
    if converts:
        for chunk in _chunks(converts):
            session.execute(update(E).where(bulk.ids_match(session, E.id, chunk), E.converted_at.is_(None))
                            .values(converted_at=now)
                            .execution_options(synchronize_session=False))
    for until, ids in defers.items():
        for chunk in _chunks(ids):
            session.execute(update(E).where(bulk.ids_match(session, E.id, chunk)).values(due_at=until)
                            .execution_options(synchronize_session=False))
    for (status, reason), ids in ends.items():
        for chunk in _chunks(ids):
            end_enrolments(session, chunk, flow, now, status=status, reason=reason)
    carried: list[_Row] = []
    for target, rows in moves.items():
        due = nodes.due_on_entry(flow, flow.node(target), now)
        for chunk in _chunks(rows):
            session.execute(update(E).where(bulk.ids_match(session, E.id, [r.visit.id for r in chunk]))
                            .values(node=target, node_entered_at=now, due_at=due)
                            .execution_options(synchronize_session=False))
        if due <= now:
            carried.extend(_Row(nodes.Visit(r.visit.id, r.visit.customer_id, r.visit.entered_at, now, r.visit.context),
                                r.corp_id, r.journey_id, r.version_id, target) for r in rows)
    return carried


def end_enrolments(session: Session, ids: Sequence[int], flow: Flow, now: datetime, *, status: str,
                   reason: str | None) -> None:
    """End enrolments; unless the journey is entered once, free their re-entry slot."""
    values: dict[str, Any] = dict(status=status, ended_at=now, due_at=None, exit_reason=reason)
    if flow.reentry.get("mode", "once") != "once":
        values["entry_slot"] = literal("ended:") + cast(E.id, String)
    session.execute(update(E).where(bulk.ids_match(session, E.id, ids), E.status == "active").values(**values)
                    .execution_options(synchronize_session=False))


# -- enrolment ------------------------------------------------------------------------------------------

def entry_slot(flow: Flow) -> str:
    return "once" if flow.reentry.get("mode", "once") == "once" else "active"


def enrol(session: Session, journey: Journey, version: JourneyVersion, customers: Sequence[tuple[int, dict]],
          *, source: str, now: datetime) -> list[int]:
    """Enrol (customer id, context) pairs, honouring the re-entry rule; returns the customers enrolled.

    The unique (journey, customer, entry_slot) makes this safe under races: a customer already
    inside (or, for once-only journeys, ever inside) is skipped by ``ON CONFLICT DO NOTHING``."""
    if not customers:
        return []
    flow = flow_of(session, version.id)
    first = flow.node(flow.start)
    due = nodes.due_on_entry(flow, first, now)
    customer_ids = [c for c, _ in customers]
    if flow.reentry.get("mode") == "after_days":
        since = now - timedelta(days=flow.reentry["days"])
        recent = set(session.scalars(select(E.customer_id).where(
            E.journey_id == journey.id, E.customer_id.in_(customer_ids), E.entered_at > since)))
        customers = [(c, ctx) for c, ctx in customers if c not in recent]
    table = E.__table__
    statement = (dialect_insert(session, table)
                 .on_conflict_do_nothing(index_elements=["journey_id", "customer_id", "entry_slot"])
                 .returning(table.c.customer_id))
    slot = entry_slot(flow)
    enrolled: list[int] = []
    for chunk in _chunks(list(customers)):
        enrolled.extend(session.execute(statement, [
            dict(corp_id=journey.corp_id, journey_id=journey.id, version_id=version.id, customer_id=c,
                 status="active", node=flow.start, due_at=due, entry_slot=slot, source=source, context=ctx,
                 entered_at=now, node_entered_at=now) for c, ctx in chunk]).scalars())
    return enrolled


def enrol_select(session: Session, journey: Journey, version: JourneyVersion, customer_ids: Select, *,
                 source: str, now: datetime) -> int:
    """Enrol every customer of a SELECT of ids in one ``INSERT … SELECT`` (large audiences)."""
    flow = flow_of(session, version.id)
    due = nodes.due_on_entry(flow, flow.node(flow.start), now)
    ids = customer_ids.subquery()
    column = list(ids.c)[0]
    # once / after_exit are held by the unique (journey, customer, entry_slot): ON CONFLICT skips
    # those inside (or, for once, ever inside). Only after_days needs to look at earlier entries.
    condition = and_(true())
    if flow.reentry.get("mode") == "after_days":
        since = now - timedelta(days=flow.reentry["days"])
        condition = ~exists().where(E.journey_id == journey.id, E.customer_id == column, E.entered_at > since)
    rows = select(literal(journey.corp_id), literal(journey.id), literal(version.id), column, literal("active"),
                  literal(flow.start), literal(due, E.due_at.type), literal(entry_slot(flow)), literal(source),
                  literal({}, E.context.type), literal(now, E.entered_at.type),
                  literal(now, E.node_entered_at.type)).where(condition)
    statement = dialect_insert(session, E.__table__).from_select(
        ["corp_id", "journey_id", "version_id", "customer_id", "status", "node", "due_at", "entry_slot", "source",
         "context", "entered_at", "node_entered_at"], rows)
    count = select(func.count()).where(E.journey_id == journey.id)
    before = session.scalar(count)
    session.execute(statement.on_conflict_do_nothing(index_elements=["journey_id", "customer_id", "entry_slot"]))
    return session.scalar(count) - before


def migrate_enrolments(session: Session, journey: Journey, from_version: JourneyVersion, to_version: JourneyVersion,
                       now: datetime) -> int:
    """Move the active enrolments of one version onto another; those at a node the new version does
    not have stay where they are. Returns how many moved."""
    target = flow_of(session, to_version.id)
    nodes_there = list(target.nodes)
    return session.execute(
        update(E).where(E.journey_id == journey.id, E.version_id == from_version.id, E.status == "active",
                        E.node.in_(nodes_there))
        .values(version_id=to_version.id).execution_options(synchronize_session=False)).rowcount


def wake_event_waits(session: Session, journey_id: int, flow: Flow, now: datetime) -> int:
    """Make enrolments waiting for an event due now when their event has arrived."""
    from siyu.models.event import Event

    woken = 0
    for node in flow.nodes.values():
        if node["type"] != "wait_event" or not node.get("event"):
            continue
        arrived = exists().where(Event.customer_id == E.customer_id, Event.corp_id == E.corp_id,
                                 Event.name == node["event"], Event.received_at >= E.node_entered_at)
        woken += session.execute(
            update(E).where(E.journey_id == journey_id, E.node == node["id"], E.status == "active",
                            E.due_at > now, arrived)
            .values(due_at=now).execution_options(synchronize_session=False)).rowcount
    return woken


def record_goal(session: Session, journey_id: int, flow: Flow, now: datetime) -> int:
    """Mark enrolments whose customer reached the journey's goal within its window as converted (and
    end them when the goal says ``exit``)."""
    from siyu.models.event import Event
    from siyu.models.order import PURCHASE_STATUSES, Order

    goal = flow.goal
    if not goal:
        return 0
    since = now - timedelta(days=goal["within_days"])
    if goal["type"] == "order_placed":
        reached = exists().where(Order.customer_id == E.customer_id, Order.corp_id == E.corp_id,
                                 Order.status.in_(PURCHASE_STATUSES), Order.paid_at >= E.entered_at,
                                 Order.paid_at <= now)
    else:
        reached = exists().where(Event.customer_id == E.customer_id, Event.corp_id == E.corp_id,
                                 Event.name == goal["name"], Event.received_at >= E.entered_at)
    values: dict[str, Any] = {"converted_at": now}
    if goal.get("exit"):
        values.update(status=case((E.status == "active", literal("converted")), else_=E.status),
                      due_at=case((E.status == "active", literal(None, E.due_at.type)), else_=E.due_at),
                      ended_at=case((E.status == "active", literal(now, E.ended_at.type)), else_=E.ended_at),
                      exit_reason=case((E.status == "active", literal("goal")), else_=E.exit_reason))
        if flow.reentry.get("mode", "once") != "once":
            values["entry_slot"] = case((E.status == "active", literal("ended:") + cast(E.id, String)),
                                        else_=E.entry_slot)
    return session.execute(
        update(E).where(E.journey_id == journey_id, E.converted_at.is_(None), E.entered_at >= since, reached)
        .values(**values).execution_options(synchronize_session=False)).rowcount
