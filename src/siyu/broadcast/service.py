"""Broadcasts: create, preview, dispatch (plan → gate → per-staff WeCom tasks through the outbox),
deferred waves, result application, reminders and cancel."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from siyu.broadcast import repository
from siyu.broadcast.audience import check_audience, check_references, recipients_select
from siyu.broadcast.group_audience import audience_groups, check_group_audience, gate_group
from siyu.content.service import check_attachments
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.jobs import enqueue
from siyu.kit.outbox import add_outbox_message
from siyu.message.personalisation import STAFF_PLACEHOLDERS, render, staff_values, validate_text
from siyu.message.service import check_text
from siyu.models.broadcast import (
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    BroadcastTask,
    BroadcastVariant,
    RecipientStatus,
    TaskStatus,
)
from siyu.models.policy import TouchChannel, TouchPriority, TouchRule, TouchStatus
from siyu.policy import Decision, TouchRequest, admit, mark_sent, readmit
from siyu.policy.bulk import classify
from siyu.policy.settings import load as load_policy

#: the outbox provider of WeCom mass-message calls (``siyu.integrations.wecom.broadcast_outbox``)
PROVIDER = "wecom_broadcast"
#: WeCom takes at most 10 000 external_userids per add_msg_template
TASK_SIZE = 10000
#: … and at most 2 000 chat_ids per group mass message
GROUP_TASK_SIZE = 2000
LABELS = ("A", "B", "C", "D")
#: results sync (``siyu.integrations.wecom.broadcast_sync``), first run this long after dispatch
SYNC_JOB = "broadcast.sync_results"
SYNC_DELAY = timedelta(minutes=10)
_DECISION_STATUS = {TouchStatus.allowed: RecipientStatus.queued, TouchStatus.blocked: RecipientStatus.blocked,
                    TouchStatus.deferred: RecipientStatus.deferred, TouchStatus.expired: RecipientStatus.expired}


@dataclass(frozen=True)
class VariantDraft:
    text: str
    material_ids: list[int] = field(default_factory=list)
    weight: int = 1


@dataclass
class Plan:
    """A broadcast worked out recipient by recipient (``preview`` returns it without writing)."""

    audience: int = 0
    holdout: int = 0
    #: status → count, and (status, rule) → count for blocked / deferred / expired
    by_status: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)
    by_staff: Counter = field(default_factory=Counter)
    by_variant: Counter = field(default_factory=Counter)
    #: (staff id, variant id) → the text that sender will send
    texts: dict = field(default_factory=dict)
    #: group broadcasts: owner staff id → [(group_chat_id, group name, status)] of every group
    groups: dict = field(default_factory=lambda: defaultdict(list))

    @property
    def eligible(self) -> int:
        return self.by_status[RecipientStatus.queued]


def create_broadcast(session: Session, corp_id: int, *, name: str, audience: dict[str, Any],
                     variants: list[VariantDraft], now: datetime, priority: str = TouchPriority.marketing,
                     holdout_percent: int = 0, scheduled_at: datetime | None = None,
                     created_by: int | None = None, kind: str = BroadcastKind.customers) -> Broadcast:
    """A draft broadcast to customers (``kind`` customers) or to group chats (``kind`` groups, see
    ``siyu.broadcast.group_audience``); with ``scheduled_at`` it is scheduled at once."""
    try:
        broadcast_kind = BroadcastKind(kind)
    except ValueError:
        raise InvalidInput("error.broadcast_kind_invalid", field="kind") from None
    if not name.strip():
        raise InvalidInput("error.broadcast_name_required", field="name")
    try:
        touch_priority = TouchPriority(priority)
    except ValueError:
        raise InvalidInput("error.broadcast_priority_invalid", field="priority") from None
    if not 0 <= holdout_percent <= 50:
        raise InvalidInput("error.broadcast_holdout_invalid", field="holdout_percent")
    if not 1 <= len(variants) <= len(LABELS):
        raise InvalidInput("error.broadcast_variants_invalid", field="variants")
    for index, variant in enumerate(variants):
        where = f"variants[{index}].text"
        check_text(variant.text, field=where)
        # WeCom sends one text to all of a member's recipients: only staff facts can vary
        validate_text(variant.text, field=where, allowed=STAFF_PLACEHOLDERS,
                      refusal="error.broadcast_customer_placeholder")
        check_attachments(session, corp_id, variant.material_ids, text=variant.text)
        if not 1 <= variant.weight <= 100:
            raise InvalidInput("error.broadcast_weight_invalid", field=f"variants[{index}].weight")
    if broadcast_kind == BroadcastKind.groups:
        if holdout_percent:
            raise InvalidInput("error.broadcast_group_holdout", field="holdout_percent")
        clean = check_group_audience(session, corp_id, audience)
    else:
        clean = check_audience(audience)
        check_references(session, corp_id, clean)
    broadcast = Broadcast(corp_id=corp_id, name=name.strip()[:100], kind=broadcast_kind,
                          priority=touch_priority, audience=clean, holdout_percent=holdout_percent,
                          status=BroadcastStatus.draft, created_by=created_by)
    session.add(broadcast)
    session.flush()
    for label, variant in zip(LABELS, variants, strict=False):
        session.add(BroadcastVariant(corp_id=corp_id, broadcast_id=broadcast.id, label=label, text=variant.text,
                                     material_ids=list(variant.material_ids), weight=variant.weight))
    session.flush()
    if scheduled_at is not None:
        schedule(session, corp_id, broadcast.id, at=scheduled_at, now=now)
    return broadcast


def get_broadcast(session: Session, corp_id: int, broadcast_id: int) -> Broadcast:
    broadcast = repository.broadcast(session, corp_id, broadcast_id)
    if broadcast is None:
        raise NotFound("error.broadcast_not_found")
    return broadcast


def schedule(session: Session, corp_id: int, broadcast_id: int, *, at: datetime, now: datetime) -> Broadcast:
    """Dispatch at ``at`` (now or later); only a draft can be scheduled."""
    broadcast = get_broadcast(session, corp_id, broadcast_id)
    if broadcast.status != BroadcastStatus.draft:
        raise Conflict("error.broadcast_not_draft")
    if at < now:
        raise InvalidInput("error.broadcast_schedule_past", field="scheduled_at")
    broadcast.status, broadcast.scheduled_at = BroadcastStatus.scheduled, at
    enqueue(session, "broadcast.dispatch", {"corp_id": corp_id, "broadcast_id": broadcast_id}, due_at=at,
            key=f"broadcast:{broadcast_id}:dispatch", corp_id=corp_id)
    session.flush()
    return broadcast


def preview(session: Session, corp_id: int, broadcast_id: int, *, now: datetime) -> Plan:
    """How many the broadcast would reach at its send time, what each rule would block or defer, the
    split per sending staff member and variant, and each sender's text — set-based in SQL (the
    gate's ``policy.bulk.classify``), nothing written, nothing brought into Python per recipient."""
    broadcast = get_broadcast(session, corp_id, broadcast_id)
    at = broadcast.scheduled_at or now
    if broadcast.kind == BroadcastKind.groups:
        return _plan_groups(session, broadcast, at=at)[0]
    variants = repository.variants(session, broadcast_id)
    candidates = recipients_select(session, corp_id, broadcast.audience, ordered=False).subquery()
    bucket = (candidates.c.customer_id * 2654435761 + broadcast_id * 40503) % 10000
    total = sum(v.weight for v in variants)
    point = (bucket * 7919) % total
    cumulative, whens = 0, []
    for variant in variants:
        cumulative += variant.weight
        whens.append((point < cumulative, literal(variant.id)))
    variant_of = case(*whens, else_=literal(variants[-1].id))
    holdout = bucket < broadcast.holdout_percent * 100
    plan = Plan()
    plan.audience = session.scalar(select(func.count()).select_from(candidates)) or 0
    plan.holdout = session.scalar(select(func.count()).select_from(candidates).where(holdout)) or 0
    for contact_deleted, variant_id, count in session.execute(
            select(candidates.c.contact_deleted, variant_of, func.count())
            .where(~holdout, candidates.c.staff_id.is_(None)).group_by(candidates.c.contact_deleted, variant_of)):
        rule = TouchRule.contact_deleted if contact_deleted else TouchRule.no_relation
        plan.by_status[RecipientStatus.blocked] += count
        plan.by_variant[variant_id] += count
        plan.by_rule[(RecipientStatus.blocked, rule)] += count
    requests = (select(candidates.c.customer_id, candidates.c.staff_id, variant_of.label("variant_id"))
                .where(~holdout, candidates.c.staff_id.is_not(None)).subquery())
    classified = classify(session, corp_id, requests, channel=TouchChannel.broadcast,
                          priority=TouchPriority(broadcast.priority), at=at).subquery()
    rows = session.execute(
        select(classified.c.status, classified.c.rule, classified.c.staff_id, classified.c.variant_id, func.count())
        .group_by(classified.c.status, classified.c.rule, classified.c.staff_id, classified.c.variant_id))
    for status, rule, staff_id, variant_id, count in rows:
        recipient_status = _DECISION_STATUS[TouchStatus(status)]
        plan.by_status[recipient_status] += count
        plan.by_variant[variant_id] += count
        if rule is not None:
            plan.by_rule[(recipient_status, TouchRule(rule))] += count
        if recipient_status == RecipientStatus.queued:
            plan.by_staff[staff_id] += count
    plan.by_status[RecipientStatus.holdout] = plan.holdout
    staff = staff_values(session, corp_id, list(plan.by_staff))
    plan.texts = {(staff_id, v.id): render(v.text, staff.get(staff_id, {})) for staff_id in plan.by_staff
                  for v in variants}
    return plan


def dispatch(session: Session, corp_id: int, broadcast_id: int, *, now: datetime) -> Plan | None:
    """The send: gate every recipient (recording touches), write the recipients, create one WeCom
    task per sender and variant through the outbox, and schedule the first deferred wave. A
    broadcast that is no longer scheduled (cancelled, already dispatched) is left alone."""
    broadcast = repository.broadcast(session, corp_id, broadcast_id, for_update=True)
    if broadcast is None or broadcast.status != BroadcastStatus.scheduled:
        return None
    if broadcast.kind == BroadcastKind.groups:
        plan, rows, variants = _plan_groups(session, broadcast, at=now)
    else:
        plan, rows, variants = _plan(session, broadcast, at=now, now=now)
    broadcast.status, broadcast.dispatched_at = BroadcastStatus.sending, now
    _queue_tasks(session, broadcast, rows, variants, wave=0, now=now)
    repository.insert_recipients(session, rows)
    _schedule_wave(session, broadcast, wave=1)
    enqueue(session, SYNC_JOB, {"corp_id": corp_id, "broadcast_id": broadcast_id, "round": 0},
            delay=SYNC_DELAY, key=f"broadcast:{broadcast_id}:sync:0", corp_id=corp_id)
    session.flush()
    return plan


def finish_if_complete(session: Session, broadcast: Broadcast, *, now: datetime) -> bool:
    """A sending broadcast with no task and no recipient left to settle is done."""
    if broadcast.status != BroadcastStatus.sending:
        return broadcast.status in (BroadcastStatus.done, BroadcastStatus.cancelled)
    if repository.pending_tasks(session, broadcast.corp_id, broadcast.id):
        return False
    counts = {status for status, _, _, _ in repository.recipient_counts(session, broadcast.id)}
    if counts & {RecipientStatus.queued, RecipientStatus.awaiting_staff, RecipientStatus.deferred}:
        return False
    broadcast.status, broadcast.updated_at = BroadcastStatus.done, now
    session.flush()
    return True


def send_wave(session: Session, corp_id: int, broadcast_id: int, wave: int, *, now: datetime) -> int:
    """Deferred recipients whose window came: ask the gate again and send the allowed ones."""
    broadcast = repository.broadcast(session, corp_id, broadcast_id, for_update=True)
    if broadcast is None or broadcast.status != BroadcastStatus.sending:
        return 0
    due = repository.deferred_due(session, broadcast_id, now)
    decisions = {d.touch_id: d for d in readmit(session, corp_id, [r.touch_id for r in due if r.touch_id],
                                                now=now)}
    rows = []
    settings = load_policy(session, corp_id) if broadcast.kind == BroadcastKind.groups else None
    for recipient in due:
        if recipient.group_chat_id is not None:
            status, rule, until = gate_group(settings, TouchPriority(broadcast.priority), now)
            rows.append({"id": recipient.id, "staff_id": recipient.staff_id, "variant_id": recipient.variant_id,
                         "status": status, "rule": rule, "deferred_until": until, "task_id": None})
            continue
        decision = decisions.get(recipient.touch_id)
        if decision is None:
            # the touch is no longer deferred (it expired meanwhile): so is the recipient
            rows.append({"id": recipient.id, "staff_id": recipient.staff_id, "variant_id": recipient.variant_id,
                         "status": RecipientStatus.expired, "rule": recipient.rule, "deferred_until": None,
                         "task_id": None})
            continue
        rows.append({"id": recipient.id, "staff_id": recipient.staff_id, "variant_id": recipient.variant_id,
                     "status": _DECISION_STATUS[decision.status], "rule": decision.rule,
                     "deferred_until": decision.deferred_until, "task_id": None})
    _queue_tasks(session, broadcast, rows, repository.variants(session, broadcast_id), wave=wave, now=now)
    repository.update_recipients(session, rows)
    _schedule_wave(session, broadcast, wave=wave + 1)
    session.flush()
    return sum(1 for row in rows if row["status"] == RecipientStatus.queued)


def _schedule_wave(session: Session, broadcast: Broadcast, *, wave: int) -> None:
    due = repository.next_deferral(session, broadcast.id)
    if due is None:
        return
    enqueue(session, "broadcast.wave", {"corp_id": broadcast.corp_id, "broadcast_id": broadcast.id, "wave": wave},
            due_at=due, key=f"broadcast:{broadcast.id}:wave:{wave}", corp_id=broadcast.corp_id)


def _plan(session: Session, broadcast: Broadcast, *, at: datetime, now: datetime
          ) -> tuple[Plan, list[dict[str, Any]], list[BroadcastVariant]]:
    variants = repository.variants(session, broadcast.id)
    candidates = session.execute(recipients_select(session, broadcast.corp_id, broadcast.audience)).all()
    plan = Plan(audience=len(candidates))
    weights = [(v.id, v.weight) for v in variants]
    rows: list[dict[str, Any]] = []
    requests: list[TouchRequest] = []
    reached: list[dict[str, Any]] = []
    for customer_id, staff_id, external_userid, contact_deleted in candidates:
        variant_id = assign_variant(broadcast.id, customer_id, broadcast.holdout_percent, weights)
        row = {"corp_id": broadcast.corp_id, "broadcast_id": broadcast.id, "customer_id": customer_id,
               "staff_id": staff_id, "external_userid": external_userid, "variant_id": variant_id,
               "status": RecipientStatus.holdout, "rule": None, "deferred_until": None, "touch_id": None,
               "task_id": None}
        rows.append(row)
        if variant_id is None:
            plan.holdout += 1
            continue
        if staff_id is None:
            rule = TouchRule.contact_deleted if contact_deleted else TouchRule.no_relation
            row.update(status=RecipientStatus.blocked, rule=rule)
            plan.by_status[RecipientStatus.blocked] += 1
            plan.by_variant[variant_id] += 1
            plan.by_rule[(RecipientStatus.blocked, rule)] += 1
            continue
        requests.append(TouchRequest(customer_id=customer_id, channel=TouchChannel.broadcast,
                                     priority=TouchPriority(broadcast.priority), staff_id=staff_id,
                                     source_kind="broadcast", source_id=str(broadcast.id),
                                     dedupe_key=f"broadcast:{broadcast.id}:customer:{customer_id}", at=at))
        reached.append(row)
    decisions: list[Decision] = admit(session, broadcast.corp_id, requests, now=now)
    for row, decision in zip(reached, decisions, strict=True):
        status = _DECISION_STATUS[decision.status]
        row.update(status=status, rule=decision.rule, deferred_until=decision.deferred_until,
                   touch_id=decision.touch_id)
        plan.by_status[status] += 1
        plan.by_variant[row["variant_id"]] += 1
        if decision.rule is not None:
            plan.by_rule[(status, decision.rule)] += 1
        if status == RecipientStatus.queued:
            plan.by_staff[row["staff_id"]] += 1
    plan.by_status[RecipientStatus.holdout] = plan.holdout
    return plan, rows, variants


def _plan_groups(session: Session, broadcast: Broadcast, *, at: datetime
                 ) -> tuple[Plan, list[dict[str, Any]], list[BroadcastVariant]]:
    """A group broadcast worked out group by group: the owner is the sender, the gate is
    ``gate_group`` (one touch per group, see ``siyu.broadcast.group_audience``)."""
    variants = repository.variants(session, broadcast.id)
    weights = [(v.id, v.weight) for v in variants]
    settings = load_policy(session, broadcast.corp_id)
    priority = TouchPriority(broadcast.priority)
    groups = audience_groups(session, broadcast.corp_id, broadcast.audience)
    plan, rows = Plan(audience=len(groups)), []
    for group_chat_id, chat_id, owner_id, name in groups:
        variant_id = assign_variant(broadcast.id, group_chat_id, 0, weights)
        if owner_id is None:
            status, rule, until = RecipientStatus.blocked, TouchRule.no_relation, None
        else:
            status, rule, until = gate_group(settings, priority, at)
            plan.groups[owner_id].append((group_chat_id, name, status))
        rows.append({"corp_id": broadcast.corp_id, "broadcast_id": broadcast.id, "customer_id": None,
                     "group_chat_id": group_chat_id, "staff_id": owner_id, "external_userid": chat_id,
                     "variant_id": variant_id, "status": status, "rule": rule, "deferred_until": until,
                     "touch_id": None, "task_id": None})
        plan.by_status[status] += 1
        plan.by_variant[variant_id] += 1
        if rule is not None:
            plan.by_rule[(status, rule)] += 1
        if status == RecipientStatus.queued:
            plan.by_staff[owner_id] += 1
    staff = staff_values(session, broadcast.corp_id, list(plan.groups))
    plan.texts = {(staff_id, v.id): render(v.text, staff.get(staff_id, {})) for staff_id in plan.groups
                  for v in variants}
    return plan, rows, variants


def assign_variant(broadcast_id: int, customer_id: int, holdout_percent: int,
                   weights: list[tuple[int, int]]) -> int | None:
    """A stable pseudo-random split: the same customer always lands in the same group of a
    broadcast. ``None`` is the holdout."""
    bucket = (customer_id * 2654435761 + broadcast_id * 40503) % 10000
    if bucket < holdout_percent * 100:
        return None
    total = sum(weight for _, weight in weights)
    point = (bucket * 7919) % total
    for variant_id, weight in weights:
        if point < weight:
            return variant_id
        point -= weight
    return weights[-1][0]


def _queue_tasks(session: Session, broadcast: Broadcast, rows: list[dict[str, Any]],
                 variants: list[BroadcastVariant], *, wave: int, now: datetime) -> None:
    """Group allowed recipients by sender and variant into ≤ 10 000-recipient tasks, each created in
    WeCom by its own outbox message (idempotency key ``broadcast-task:<task id>``)."""
    groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["status"] == RecipientStatus.queued:
            groups[(row["staff_id"], row["variant_id"])].append(row)
    if not groups:
        return
    texts = {v.id: v.text for v in variants}
    staff = staff_values(session, broadcast.corp_id, {staff_id for staff_id, _ in groups})
    task_rows, members = [], []
    size = GROUP_TASK_SIZE if broadcast.kind == BroadcastKind.groups else TASK_SIZE
    for (staff_id, variant_id), group in sorted(groups.items()):
        for part, start in enumerate(range(0, len(group), size)):
            members.append(group[start:start + size])
            task_rows.append({"corp_id": broadcast.corp_id, "broadcast_id": broadcast.id, "staff_id": staff_id,
                              "variant_id": variant_id, "wave": wave, "part": part,
                              "text": render(texts[variant_id], staff.get(staff_id, {})),
                              "status": TaskStatus.creating, "recipients": len(members[-1]), "reminders": 0,
                              "created_at": now, "updated_at": now})
    task_ids = repository.insert_tasks(session, task_rows)
    for task_id, group in zip(task_ids, members, strict=True):
        for row in group:
            row["task_id"] = task_id
        add_outbox_message(session, provider=PROVIDER, operation="add_msg_template", payload={"task_id": task_id},
                           idempotency_key=f"broadcast-task:{task_id}", corp_id=broadcast.corp_id)


# -- what WeCom reports ------------------------------------------------------------------------------
def task_created(session: Session, task: BroadcastTask, *, msgid: str, fail_list: list[str], now: datetime) -> None:
    """add_msg_template answered (or reconciliation found the message): the task waits for its sender."""
    task.msgid, task.status, task.updated_at = msgid, TaskStatus.awaiting_staff, now
    if fail_list:
        repository.set_recipients(session, task.broadcast_id, {"status": RecipientStatus.failed, "wecom_status": 2},
                                  task_id=task.id, external_userids=fail_list)
    repository.set_recipients(session, task.broadcast_id, {"status": RecipientStatus.awaiting_staff},
                              task_id=task.id, statuses=[RecipientStatus.queued])
    session.flush()


def task_refused(session: Session, task: BroadcastTask, *, error: str, now: datetime) -> None:
    task.status, task.error, task.updated_at = TaskStatus.failed, error[:500], now
    repository.set_recipients(session, task.broadcast_id, {"status": RecipientStatus.failed}, task_id=task.id,
                              statuses=[RecipientStatus.queued, RecipientStatus.awaiting_staff])
    session.flush()


@dataclass(frozen=True)
class SendResult:
    external_userid: str
    #: WeCom: 0 unsent, 1 sent, 2 not a friend, 3 receive quota reached
    status: int
    send_time: datetime | None = None


def apply_results(session: Session, task: BroadcastTask, *, confirmed_at: datetime | None,
                  results: list[SendResult], now: datetime, unlisted_unsent: bool = False) -> dict[str, int]:
    """Per-recipient outcomes from get_groupmsg_task / get_groupmsg_send_result. Delivered touches are
    marked sent in the ledger; WeCom's refusals (2, 3) fail the recipient with WeCom's status kept.
    With ``unlisted_unsent`` (group tasks: WeCom lists sent groups only) a confirmed task's recipients
    that WeCom did not list fail with ``wecom_status`` 0 (the owner did not send to that group)."""
    if confirmed_at is not None and task.status == TaskStatus.awaiting_staff:
        task.status, task.confirmed_at = TaskStatus.confirmed, confirmed_at
    task.synced_at = now
    by_status: dict[int, list[SendResult]] = defaultdict(list)
    for result in results:
        by_status[result.status].append(result)
    outcome = {"delivered": 0, "failed": 0}
    pending = [RecipientStatus.awaiting_staff, RecipientStatus.queued]
    for result in by_status.get(1, []):
        outcome["delivered"] += repository.set_recipients(
            session, task.broadcast_id, {"status": RecipientStatus.delivered, "wecom_status": 1,
                                         "delivered_at": result.send_time or now},
            task_id=task.id, statuses=pending, external_userids=[result.external_userid])
    for status in (2, 3):
        userids = [r.external_userid for r in by_status.get(status, [])]
        if userids:
            outcome["failed"] += repository.set_recipients(
                session, task.broadcast_id, {"status": RecipientStatus.failed, "wecom_status": status},
                task_id=task.id, statuses=pending, external_userids=userids)
    if unlisted_unsent and task.confirmed_at is not None:
        outcome["failed"] += repository.set_recipients(
            session, task.broadcast_id, {"status": RecipientStatus.failed, "wecom_status": 0},
            task_id=task.id, statuses=pending)
    delivered = [r.touch_id for r in repository.task_recipients(session, task.id)
                 if r.status == RecipientStatus.delivered and r.touch_id]
    mark_sent(session, task.corp_id, delivered, now=now)
    session.flush()
    return outcome


def request_reminders(session: Session, corp_id: int, broadcast_id: int, *, now: datetime) -> int:
    """Remind every sender who has not confirmed (WeCom allows three reminders a day per message)."""
    reminded = 0
    for task in repository.pending_tasks(session, corp_id, broadcast_id):
        if task.status != TaskStatus.awaiting_staff or task.reminders >= 3:
            continue
        task.reminders += 1
        add_outbox_message(session, provider=PROVIDER, operation="remind", payload={"task_id": task.id},
                           idempotency_key=f"broadcast-task:{task.id}:remind:{task.reminders}", corp_id=corp_id)
        reminded += 1
    session.flush()
    return reminded


def cancel(session: Session, corp_id: int, broadcast_id: int, *, now: datetime) -> Broadcast:
    """Stop a broadcast: a scheduled one never goes out; a sending one stops in WeCom (what was
    delivered stays delivered) and its waiting recipients are cancelled."""
    broadcast = repository.broadcast(session, corp_id, broadcast_id, for_update=True)
    if broadcast is None:
        raise NotFound("error.broadcast_not_found")
    if broadcast.status in (BroadcastStatus.done, BroadcastStatus.cancelled):
        raise Conflict("error.broadcast_not_cancellable")
    if broadcast.status == BroadcastStatus.sending:
        for task in repository.pending_tasks(session, corp_id, broadcast_id):
            add_outbox_message(session, provider=PROVIDER, operation="cancel", payload={"task_id": task.id},
                               idempotency_key=f"broadcast-task:{task.id}:cancel", corp_id=corp_id)
        repository.set_recipients(session, broadcast_id, {"status": RecipientStatus.cancelled},
                                  statuses=[RecipientStatus.queued, RecipientStatus.awaiting_staff,
                                            RecipientStatus.deferred])
    broadcast.status, broadcast.cancelled_at = BroadcastStatus.cancelled, now
    session.flush()
    return broadcast


def task_cancelled(session: Session, task: BroadcastTask, *, now: datetime) -> None:
    if task.status in (TaskStatus.creating, TaskStatus.awaiting_staff):
        task.status, task.updated_at = TaskStatus.cancelled, now
    session.flush()
