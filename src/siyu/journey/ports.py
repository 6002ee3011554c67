"""The journey engine's seams to the domains its nodes call — one small function each.

Segments (conditions, segment triggers), the contact policy (the gate every send passes), loyalty
(coupons, points, member levels), staff tasks and acquisition (channel codes, group codes) are built
by their own domains; the engine reaches them only here. A capability whose domain is not installed
reports itself with ``Unavailable`` and the node records a ``failed`` step naming it — it never
pretends to have sent, issued or created anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, extract, select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.models.customer import Customer, Relation

#: the outbox provider of journeys' 1:1 messages (delivered, write-ahead, by
#: ``siyu.integrations.wecom.journey_outbox``)
ONE_TO_ONE_PROVIDER = "wecom_journey"


class Unavailable(Exception):
    """The domain a node needs is not installed (its module or function does not exist yet)."""

    def __init__(self, capability: str) -> None:
        super().__init__(capability)
        self.capability = capability


def _function(module: str, name: str) -> Any:
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        found = None
    if found is None:
        raise Unavailable(f"{module}.{name}")
    return found


# -- segments -----------------------------------------------------------------------------------------

def check_condition(check, node: str | None, field: str, condition: Any) -> None:
    """Record the problems of a segment ``condition`` (the segment language) on ``check``."""
    try:
        from siyu.segment.language import DefinitionInvalid, parse_definition
    except ImportError:
        check.add(node, field, "condition", detail="siyu.segment not installed")
        return
    try:
        parse_definition({"version": 1, "condition": condition})
    except DefinitionInvalid as problems:
        for problem in problems.problems:
            path = problem.path.removeprefix("condition").lstrip(".")
            check.add(node, f"{field}.{path}" if path else field, "condition", detail=problem.key,
                      detail_params=tuple(sorted((problem.params or {}).items())))


def condition_select(session: Session, corp_id: int, condition: dict[str, Any], now: datetime,
                     candidates: Sequence[int] | None = None) -> Select:
    """The ids of the corp's customers matching a segment condition, compiled by the segment domain."""
    compile_condition = _function("siyu.segment", "compile_condition")
    return compile_condition(session, corp_id, {"version": 1, "condition": condition}, now=now,
                             candidates=list(candidates) if candidates is not None else None)


def matching(session: Session, corp_id: int, condition: dict[str, Any], customer_ids: Sequence[int],
             now: datetime) -> set[int]:
    """Which of ``customer_ids`` match ``condition`` — one query per 5 000 of the batch."""
    found: set[int] = set()
    for start in range(0, len(customer_ids), 5000):
        chunk = list(customer_ids[start:start + 5000])
        found.update(session.scalars(condition_select(session, corp_id, condition, now, chunk)))
    return found


def segment_members(session: Session, corp_id: int, segment_id: int) -> Select:
    """The current members of a saved segment (customer ids)."""
    return _function("siyu.segment", "members_select")(session, corp_id, segment_id)


def segment_changes(session: Session, corp_id: int, segment_id: int, after_id: int, entered: bool,
                    limit: int) -> list[tuple[int, int]]:
    """(change id, customer id) of customers who entered (or left) a segment after ``after_id``.
    Every change of the corp is read past, so the returned ids advance the cursor even when none of
    them is of this segment."""
    changes = _function("siyu.segment", "changes_after")(session, corp_id, after_id, segment_ids=[segment_id],
                                                        limit=limit)
    wanted = "entered" if entered else "exited"
    return [(change.id, change.customer_id) for change in changes if str(change.change) == wanted
            or getattr(change.change, "value", None) == wanted]


# -- contact policy and sending -----------------------------------------------------------------------

@dataclass(frozen=True)
class GateDecision:
    """What the contact policy says about one intended touch."""

    customer_id: int
    verdict: str  # allowed / blocked / deferred
    reason: str | None = None
    until: datetime | None = None
    touch_id: int | None = None


def _requests(corp_id: int, touches: Sequence[dict[str, Any]], priority: str, now: datetime) -> list[Any]:
    from siyu.models.policy import TouchChannel, TouchPriority

    request = _function("siyu.policy", "TouchRequest")
    return [request(customer_id=t["customer_id"], channel=TouchChannel.journey, priority=TouchPriority(priority),
                    staff_id=t.get("staff_id"), source_kind="journey_enrolment", source_id=str(t["enrolment_id"]),
                    dedupe_key=t["key"], at=now) for t in touches]


def _decisions(decisions: Sequence[Any]) -> dict[int, GateDecision]:
    out: dict[int, GateDecision] = {}
    for decision in decisions:
        status = str(getattr(decision.status, "value", decision.status))
        verdict = "allowed" if decision.allowed else ("deferred" if status == "deferred" else "blocked")
        rule = decision.rule
        out[decision.request.customer_id] = GateDecision(
            decision.request.customer_id, verdict, str(getattr(rule, "value", rule)) if rule else status,
            decision.deferred_until, decision.touch_id)
    return out


def gate_decide(session: Session, corp_id: int, touches: Sequence[dict[str, Any]], *, priority: str,
                now: datetime) -> dict[int, GateDecision]:
    """The gate's verdict for each journey touch (customer_id, staff_id, enrolment_id, key), writing
    nothing (``siyu.policy.decide``)."""
    decide = _function("siyu.policy", "decide")
    return _decisions(decide(session, corp_id, _requests(corp_id, touches, priority, now), now=now))


def gate_admit(session: Session, corp_id: int, touches: Sequence[dict[str, Any]], *, priority: str,
               now: datetime) -> dict[int, GateDecision]:
    """Pass the gate for real: each touch is recorded in the touch ledger, once per key
    (``siyu.policy.admit``)."""
    admit = _function("siyu.policy", "admit")
    return _decisions(admit(session, corp_id, _requests(corp_id, touches, priority, now), now=now))


def serving_staff(session: Session, corp_id: int, customer_ids: Sequence[int]) -> dict[int, tuple[int, str, str]]:
    """The staff member serving each customer: (staff id, WeCom userid, external userid) of the most
    recent active relation."""
    from siyu.models.customer import RelationStatus
    from siyu.models.org import Staff

    rows = session.execute(
        select(Relation.customer_id, Relation.staff_id, Staff.userid, Relation.external_userid)
        .join(Staff, Staff.id == Relation.staff_id)
        .where(Relation.corp_id == corp_id, Relation.customer_id.in_(list(customer_ids)),
               Relation.status == RelationStatus.active)
        .order_by(Relation.customer_id, Relation.added_at.desc(), Relation.id.desc()))
    serving: dict[int, tuple[int, str, str]] = {}
    for customer_id, staff_id, userid, external_userid in rows:
        serving.setdefault(customer_id, (staff_id, userid, external_userid))
    return serving


def send_one_to_one(session: Session, corp_id: int, sends: list[dict[str, Any]], clock: Clock) -> None:
    """Queue 1:1 messages from the serving staff member through the outbox: WeCom's
    ``externalcontact/add_msg_template`` with ``chat_type`` single (the staff member confirms the send
    in WeCom), one outbox message per touch key. The deliverer marks the touch sent when WeCom has the
    message."""
    from siyu.kit.outbox import add_outbox_message

    for send in sends:
        add_outbox_message(session, provider=ONE_TO_ONE_PROVIDER, operation="add_msg_template", corp_id=corp_id,
                           idempotency_key=send["key"], clock=clock,
                           payload={"chat_type": "single", "sender": send["userid"],
                                    "external_userid": [send["external_userid"]],
                                    "text": {"content": send["text"]}, "customer_id": send["customer_id"],
                                    "touch_id": send.get("touch_id")})


# -- loyalty, staff tasks, acquisition ----------------------------------------------------------------

def issue_coupons(session: Session, corp_id: int, template_id: int, grants: list[tuple[int, str]], now: datetime
                  ) -> dict[int, str | None]:
    """Issue a coupon of ``template_id`` to each (customer id, idempotency key); returns the refusal
    code per customer (None: issued, or issued before under the same key)."""
    issue = _function("siyu.loyalty.coupons", "issue_coupon")
    refusals: dict[int, str | None] = {}
    for customer_id, key in grants:
        outcome = issue(session, corp_id, customer_id, template_id, source="journey", idempotency_key=key, now=now,
                        source_ref=key)
        refusals[customer_id] = outcome.refusal
    return refusals


def create_staff_tasks(session: Session, corp_id: int, tasks: list[dict[str, Any]], now: datetime) -> int:
    """Create staff tasks (staff_id, customer_id, kind, title, content, due_at, key) in one insert."""
    service = importlib.import_module("siyu.staff_task.service")
    drafts = [service.TaskDraft(staff_id=t["staff_id"], kind=t.get("kind", "custom"), title=t["title"],
                                customer_id=t["customer_id"], content=t.get("content"), due_at=t.get("due_at"),
                                idempotency_key=t["key"]) for t in tasks]
    return service.create_tasks(session, corp_id, drafts, source_kind="journey", now=now) if drafts else 0


def invite_to_group(session: Session, corp_id: int, group_code_id: int, invites: list[tuple[int, str]],
                    now: datetime) -> None:
    """Invite each (customer id, key) into a group through a group code (sent by the serving staff)."""
    _function("siyu.acquisition", "invite_to_group")(session, corp_id, group_code_id, invites, now=now)


def channel_code_state(session: Session, corp_id: int, channel_code_id: int) -> str:
    """The ``state`` a customer carries on ``relation.state`` when added through a channel code."""
    try:
        from siyu.models.acquisition import ChannelCode
    except ImportError as exc:
        raise Unavailable("siyu.models.acquisition.ChannelCode") from exc
    state = session.scalar(select(ChannelCode.state).where(ChannelCode.corp_id == corp_id,
                                                           ChannelCode.id == channel_code_id))
    if state is None:
        raise Unavailable(f"channel code {channel_code_id}")
    return state


def date_trait_customers(session: Session, corp_id: int, trait: str, day: str, days_before: int) -> Select:
    """Customers whose membership anniversary is ``days_before`` days after ``day`` (members who
    joined in an earlier year), or whose points expire within ``days_before`` days of ``day`` —
    read from the loyalty domain."""
    start = datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
    if trait == "points_expiring":
        query = _function("siyu.loyalty.points", "expiring_points_query")
        expiring = query(corp_id, now=start, within_days=max(days_before, 1)).subquery()
        return select(expiring.c.customer_id)
    try:
        from siyu.models.loyalty import Member
    except ImportError as exc:
        raise Unavailable("siyu.models.loyalty.Member") from exc
    target = start + timedelta(days=days_before)
    return select(Member.customer_id).where(
        Member.corp_id == corp_id, extract("month", Member.joined_at) == target.month,
        extract("day", Member.joined_at) == target.day,
        Member.joined_at < datetime(target.year, 1, 1, tzinfo=UTC))


def live_customers(corp_id: int) -> Select:
    """The corp's customers that were not merged into another."""
    return select(Customer.id).where(Customer.corp_id == corp_id, Customer.merged_into_id.is_(None))
