"""Simulation: a journey (draft or live) run against the current customers over a simulated horizon,
with no side effects.

The simulator enrols the trigger's audience (every current customer the trigger's condition admits,
up to ``limit``; for birthday journeys, each on the day their birthday trigger would fire) and moves
them through the definition on a simulated clock, calling the same ``decide`` half of every node the
engine calls — conditions against today's data, the contact policy's ``decide`` at the simulated
time — and never the ``apply`` half. It runs inside a savepoint that is rolled back, so even a
node that read through a writing helper leaves nothing behind.

What it cannot know: events that have not happened (an event wait takes its timeout branch) —
nothing else: sends are admitted through the policy inside the savepoint, so the caps count the
simulation's own earlier touches too.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from siyu.journey import nodes, ports
from siyu.journey.definition import Flow, check_definition
from siyu.models.customer import Customer

MAX_DAYS = 366
MAX_CUSTOMERS = 20000


@dataclass
class SimulationReport:
    days: int
    start: datetime
    audience: int
    #: node id → enrolments that executed it within the horizon
    reached: dict[str, int] = field(default_factory=dict)
    #: node id → enrolments still waiting there at the end
    waiting: dict[str, int] = field(default_factory=dict)
    #: node id → outcome → count (sent, blocked, branched …)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    #: local date → {"sent", "blocked", "deferred"} of send nodes
    messages: dict[str, dict[str, int]] = field(default_factory=dict)
    #: node id → branch → count
    branches: dict[str, dict[str, int]] = field(default_factory=dict)
    ended: dict[str, int] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "start": self.start.isoformat(), "audience": self.audience,
                "reached": self.reached, "waiting": self.waiting, "outcomes": self.outcomes,
                "messages": self.messages, "branches": self.branches, "ended": self.ended,
                "unavailable": self.unavailable,
                "totals": {key: sum(day.get(key, 0) for day in self.messages.values())
                           for key in ("sent", "blocked", "deferred")}}


def _audience(session: Session, corp_id: int, flow: Flow, start: datetime, end: datetime, limit: int
              ) -> list[tuple[int, datetime]]:
    trigger = flow.trigger
    if trigger["type"] == "date_trait" and trigger.get("trait") == "birthday":
        entries = []
        local_start = start.astimezone(flow.timezone).date()
        hour, minute = (int(p) for p in trigger.get("at", "09:00").split(":"))
        rows = session.execute(select(Customer.id, extract("month", Customer.birthday), extract("day", Customer.birthday))
                               .where(Customer.corp_id == corp_id, Customer.merged_into_id.is_(None),
                                      Customer.birthday.is_not(None)).order_by(Customer.id))
        for customer_id, month, day in rows:
            for offset in range((end.date() - local_start).days + 1):
                fire = local_start + timedelta(days=offset)
                birthday = fire + timedelta(days=trigger.get("days_before", 0))
                if (birthday.month, birthday.day) == (int(month), int(day)):
                    moment = datetime(fire.year, fire.month, fire.day, hour, minute, tzinfo=flow.timezone)
                    if start <= moment <= end:
                        entries.append((customer_id, moment.astimezone(start.tzinfo)))
                    break
            if len(entries) >= limit:
                break
        return entries
    ids = ports.live_customers(corp_id).order_by(Customer.id)
    if trigger.get("condition"):
        matches = ports.condition_select(session, corp_id, trigger["condition"], start).subquery()
        ids = ids.where(Customer.id.in_(select(list(matches.c)[0])))
    return [(customer_id, start) for customer_id in session.scalars(ids.limit(limit))]


def simulate(session: Session, corp_id: int, definition: dict[str, Any], *, start: datetime, days: int = 30,
             limit: int = 5000, journey_id: int = 0) -> SimulationReport:
    """Run ``definition`` for ``days`` from ``start`` against the corp's customers, without effects."""
    flow = Flow(check_definition(definition))
    days = max(1, min(days, MAX_DAYS))
    end = start + timedelta(days=days)
    savepoint = session.begin_nested()
    try:
        return _run(session, corp_id, flow, start, end, days, min(limit, MAX_CUSTOMERS), journey_id)
    finally:
        savepoint.rollback()


def _run(session: Session, corp_id: int, flow: Flow, start: datetime, end: datetime, days: int, limit: int,
         journey_id: int) -> SimulationReport:
    audience = _audience(session, corp_id, flow, start, end, limit)
    report = SimulationReport(days=days, start=start, audience=len(audience))
    # state per simulated enrolment (the customer id stands for the enrolment id)
    at_node: dict[int, tuple[str, datetime, datetime]] = {}
    queue: list[tuple[datetime, int]] = []
    first = flow.node(flow.start)
    for customer_id, entered in audience:
        at_node[customer_id] = (flow.start, entered, entered)
        due = nodes.due_on_entry(flow, first, entered)
        heapq.heappush(queue, (due, customer_id))
    reached: Counter = Counter()
    outcomes: dict[str, Counter] = defaultdict(Counter)
    branches: dict[str, Counter] = defaultdict(Counter)
    messages: dict[str, Counter] = defaultdict(Counter)
    ended: Counter = Counter()
    unavailable: set[str] = set()
    while queue and queue[0][0] <= end:
        now = queue[0][0]
        due_now: list[int] = []
        while queue and queue[0][0] <= now:
            due_now.append(heapq.heappop(queue)[1])
        by_node: dict[str, list[nodes.Visit]] = defaultdict(list)
        for customer_id in due_now:
            node_id, entered, node_entered = at_node[customer_id]
            by_node[node_id].append(nodes.Visit(customer_id, customer_id, entered, node_entered))
        env = nodes.Env(session, corp_id, journey_id, 0, flow, now, simulate=True)
        day = now.astimezone(flow.timezone).date().isoformat()
        for node_id, visits in by_node.items():
            node = flow.node(node_id)
            decided = nodes.decide(env, node, visits)
            for visit in visits:
                outcome = decided[visit.id]
                if node["type"] == "send_message" and outcome.outcome in ("sent", "blocked", "deferred"):
                    messages[day][outcome.outcome] += 1
                if "unavailable" in outcome.detail:
                    unavailable.add(outcome.detail["unavailable"])
                if outcome.defer_until is not None:
                    heapq.heappush(queue, (outcome.defer_until, visit.id))
                    continue
                reached[node_id] += 1
                outcomes[node_id][outcome.outcome] += 1
                if outcome.branch:
                    branches[node_id][outcome.branch] += 1
                if outcome.next is None:
                    ended["converted" if outcome.converts else outcome.end] += 1
                    del at_node[visit.id]
                    continue
                target = flow.node(outcome.next)
                at_node[visit.id] = (outcome.next, visit.entered_at, now)
                heapq.heappush(queue, (nodes.due_on_entry(flow, target, now), visit.id))
    waiting: Counter = Counter(node_id for node_id, _, _ in at_node.values())
    report.reached = {node_id: reached.get(node_id, 0) for node_id in flow.nodes}
    report.waiting = {node_id: waiting.get(node_id, 0) for node_id in flow.nodes}
    report.outcomes = {k: dict(v) for k, v in outcomes.items()}
    report.branches = {k: dict(v) for k, v in branches.items()}
    start_day = start.astimezone(flow.timezone).date()
    report.messages = {(start_day + timedelta(days=i)).isoformat(): dict(messages.get(
        (start_day + timedelta(days=i)).isoformat(), Counter())) for i in range(days + 1)}
    report.ended = dict(ended)
    report.unavailable = sorted(unavailable)
    return report
