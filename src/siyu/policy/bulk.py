"""The gate's rules as one SQL expression over a set of requests, for audiences too large to bring
into Python (a broadcast's preview at a million recipients). It decides exactly what ``decide``
decides for requests of one channel and priority at one time, one request per customer (the tests
hold the two to the same answers); it writes nothing.

Time-dependent parts (quiet hours, period starts, deferral targets, expiry) depend only on the time
zone, so they are worked out in Python once per distinct time zone and enter the SQL as constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, exists, literal, null, or_, select
from sqlalchemy.orm import Session

from siyu.kit.db import UtcDateTime
from siyu.models.customer import Relation, RelationStatus
from siyu.models.policy import ContactPreference, TouchChannel, TouchCounter, TouchPriority, TouchRule, TouchStatus
from siyu.models.tag import CustomerTag
from siyu.policy.service import RELATION_CHANNELS, TouchRequest, _caps, _deferral, _Facts
from siyu.policy.settings import PolicySettings, load

BLOCKING = (TouchRule.no_relation, TouchRule.contact_deleted, TouchRule.opted_out, TouchRule.blacklisted)


@dataclass(frozen=True)
class _Outcome:
    status: TouchStatus
    until: datetime | None


def classify(session: Session, corp_id: int, requests, *, channel: TouchChannel, priority: TouchPriority,
             at: datetime) -> Select:
    """``requests`` is a subquery with ``customer_id`` and ``staff_id`` (NULL: any staff member), and
    any other columns, which are carried through. Returns ``SELECT customer_id, staff_id, <other
    columns>, rule, status, deferred_until`` (rule NULL: allowed)."""
    settings = load(session, corp_id)
    customer, staff = requests.c.customer_id, requests.c.staff_id
    zones = [settings.timezone, *sorted(set(session.scalars(
        select(ContactPreference.timezone).where(ContactPreference.corp_id == corp_id,
                                                 ContactPreference.timezone.is_not(None))).all()) - {settings.timezone})]
    preference = (select(ContactPreference.customer_id, ContactPreference.timezone, ContactPreference.opted_out_at)
                  .where(ContactPreference.corp_id == corp_id).subquery())
    zone = case(*[(preference.c.timezone == tz, literal(tz)) for tz in zones[1:]], else_=literal(settings.timezone)) \
        if len(zones) > 1 else literal(settings.timezone)
    rule_checks = []
    if channel in RELATION_CHANNELS:
        def relation(status: RelationStatus):
            return exists().where(Relation.corp_id == corp_id, Relation.customer_id == customer,
                                  Relation.status == status, or_(staff.is_(None), Relation.staff_id == staff))

        rule_checks.append((~relation(RelationStatus.active) & relation(RelationStatus.deleted_by_customer),
                            TouchRule.contact_deleted))
        rule_checks.append((~relation(RelationStatus.active), TouchRule.no_relation))
    if priority == TouchPriority.marketing:
        rule_checks.append((preference.c.opted_out_at.is_not(None), TouchRule.opted_out))
        if settings.blacklist_tag_id is not None:
            rule_checks.append((exists().where(CustomerTag.corp_id == corp_id, CustomerTag.customer_id == customer,
                                               CustomerTag.tag_id == settings.blacklist_tag_id), TouchRule.blacklisted))
    probe = TouchRequest(customer_id=0, channel=channel, priority=priority, at=at)
    outcomes: dict[tuple[TouchRule, str], _Outcome] = {}
    if priority != TouchPriority.service:
        quiet = [tz for tz in zones if settings.quiet_hours.release(at, tz) is not None]
        for tz in quiet:
            outcomes[(TouchRule.quiet_hours, tz)] = _outcome(settings, probe, TouchRule.quiet_hours,
                                                             settings.quiet_hours.release(at, tz), tz, at)
        if quiet:
            rule_checks.append((zone.in_(quiet) if len(zones) > 1 else literal(True), TouchRule.quiet_hours))
    counters = []
    for cap in _caps(settings, probe, at):
        counter = (select(TouchCounter.customer_id, TouchCounter.count)
                   .where(TouchCounter.corp_id == corp_id, TouchCounter.counter == cap.rule.value,
                          TouchCounter.period_start == cap.start).subquery())
        counters.append(counter)
        full = literal(True) if cap.cap <= 0 else and_(counter.c.count.is_not(None), counter.c.count >= cap.cap)
        rule_checks.append((full, cap.rule))
        for tz in zones:
            outcomes[(cap.rule, tz)] = _outcome(settings, probe, cap.rule, cap.release, tz, at)
    rule = case(*[(condition, literal(r.value)) for condition, r in rule_checks], else_=null()) \
        if rule_checks else null()
    carried = [column for column in requests.c if column.name not in ("customer_id", "staff_id")]
    statement = select(customer.label("customer_id"), staff.label("staff_id"), *carried, rule.label("rule"),
                       zone.label("zone"))
    statement = statement.select_from(requests).outerjoin(preference, preference.c.customer_id == customer)
    for counter in counters:
        statement = statement.outerjoin(counter, counter.c.customer_id == customer)
    inner = statement.subquery()
    blocked = [r.value for r in BLOCKING]
    status_cases = [(inner.c.rule.is_(None), literal(TouchStatus.allowed.value)),
                    (inner.c.rule.in_(blocked), literal(TouchStatus.blocked.value))]
    until_cases = []
    for (r, tz), outcome in outcomes.items():
        match = and_(inner.c.rule == r.value, inner.c.zone == tz)
        status_cases.append((match, literal(outcome.status.value)))
        if outcome.until is not None:
            until_cases.append((match, literal(outcome.until, type_=UtcDateTime())))
    status = case(*status_cases, else_=literal(TouchStatus.blocked.value))
    until = case(*until_cases, else_=null()) if until_cases else null()
    return select(inner.c.customer_id, inner.c.staff_id, *[inner.c[column.name] for column in carried],
                  inner.c.rule, status.label("status"), until.label("deferred_until"))


def _outcome(settings: PolicySettings, probe: TouchRequest, rule: TouchRule, until: datetime, tz: str,
             at: datetime) -> _Outcome:
    """The same deferral arithmetic as the per-request gate, for one time zone."""
    facts = _Facts({}, {0: (tz, False)}, set())
    decision = _deferral(settings, facts, probe, rule, until, at + timedelta(days=settings.deferral_days))
    return _Outcome(decision.status, decision.deferred_until)

