"""What a broadcast did: the delivery funnel, what each rule blocked or deferred, results by variant
against the holdout (orders within 7 days of the send attributed to the broadcast), and touches per
customer this week next to it (不打扰: every report shows how often customers were reached)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from siyu.broadcast import repository
from siyu.broadcast.service import get_broadcast
from siyu.models.broadcast import RecipientStatus, TaskStatus
from siyu.models.policy import CapPeriod, TouchRule
from siyu.policy import repository as policy_repository
from siyu.policy.periods import period_start
from siyu.policy.settings import load

ATTRIBUTION_WINDOW = timedelta(days=7)
HANDED_TO_WECOM = (RecipientStatus.awaiting_staff, RecipientStatus.delivered, RecipientStatus.failed,
                   RecipientStatus.cancelled)


@dataclass
class VariantResult:
    label: str
    recipients: int = 0
    delivered: int = 0
    buyers: int = 0
    revenue: Decimal = Decimal("0")
    #: replies need the session archive (issue of compliance); ``None`` until it exists
    replies: int | None = None

    @property
    def conversion(self) -> float:
        return self.buyers / self.recipients if self.recipients else 0.0


@dataclass
class Report:
    audience: int = 0
    #: recipients handed to WeCom in a task
    sent: int = 0
    tasks: int = 0
    tasks_confirmed: int = 0
    delivered: int = 0
    blocked_by_quota: int = 0
    deferred: int = 0
    blocked: int = 0
    expired: int = 0
    failed: int = 0
    by_rule: Counter = field(default_factory=Counter)
    variants: list[VariantResult] = field(default_factory=list)
    holdout: VariantResult = field(default_factory=lambda: VariantResult("holdout"))
    #: touches this week → how many customers got that many
    touches_this_week: dict[int, int] = field(default_factory=dict)

    def uplift(self, variant: VariantResult) -> float:
        """Conversion of the variant minus the holdout's, in percentage points."""
        return (variant.conversion - self.holdout.conversion) * 100


def report(session: Session, corp_id: int, broadcast_id: int, *, now: datetime) -> Report:
    broadcast = get_broadcast(session, corp_id, broadcast_id)
    labels = {v.id: v.label for v in repository.variants(session, broadcast_id)}
    results = {variant_id: VariantResult(label) for variant_id, label in labels.items()}
    result = Report(variants=[results[v] for v in sorted(results, key=lambda v: labels[v])])
    for status, rule, variant_id, count in repository.recipient_counts(session, broadcast_id):
        result.audience += count
        group = results.get(variant_id, result.holdout)
        group.recipients += count
        if status in HANDED_TO_WECOM:
            result.sent += count
        if status == RecipientStatus.delivered:
            result.delivered += count
            group.delivered += count
        if status in (RecipientStatus.deferred, RecipientStatus.blocked, RecipientStatus.expired,
                      RecipientStatus.failed):
            setattr(result, str(status), getattr(result, str(status)) + count)
        if rule is not None:
            result.by_rule[(status, rule)] += count
        if rule == TouchRule.wecom_quota:
            result.blocked_by_quota += count
    tasks = repository.task_counts(session, broadcast_id)
    result.tasks = sum(tasks.values())
    result.tasks_confirmed = tasks.get(TaskStatus.confirmed, 0)
    if broadcast.dispatched_at is not None:
        since = broadcast.dispatched_at
        for variant_id, _, buyers, amount in repository.orders_after(session, corp_id, broadcast_id, since,
                                                                      since + ATTRIBUTION_WINDOW):
            group = results.get(variant_id, result.holdout)
            group.buyers += buyers
            group.revenue += Decimal(str(amount))
    settings = load(session, corp_id)
    week = period_start(CapPeriod.week, now, settings.timezone)
    result.touches_this_week = policy_repository.touches_per_customer(session, corp_id, week)
    return result
