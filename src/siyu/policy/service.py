"""The gate: every outbound touch asks here first (see the package docstring for the rules)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from siyu.models.customer import RelationStatus
from siyu.models.policy import (
    CapPeriod,
    ContactPreference,
    Touch,
    TouchChannel,
    TouchPriority,
    TouchRule,
    TouchStatus,
)
from siyu.policy import repository
from siyu.policy.periods import QuietHours, next_period_start, period_start, quota_period
from siyu.policy.settings import PolicySettings, load

#: channels that reach a customer through a staff member's WeCom contact
RELATION_CHANNELS = frozenset(set(TouchChannel) - {TouchChannel.group})
#: the order counters are tried in; the first full one is the recorded rule
COUNTER_ORDER = (TouchRule.wecom_quota, TouchRule.moment_cap, TouchRule.marketing_cap)


@dataclass(frozen=True)
class TouchRequest:
    """One touch a caller wants to make. ``at`` is when it would go out (default: now)."""

    customer_id: int
    channel: TouchChannel
    priority: TouchPriority
    staff_id: int | None = None
    source_kind: str = ""
    source_id: str = ""
    #: asking twice with the same key is one touch (the first decision is returned again)
    dedupe_key: str | None = None
    at: datetime | None = None
    #: a deferred touch not sent by then expires (default: ``at`` + the corp's deferral days)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What the gate decided for one request. ``touch_id`` is set by ``admit``/``readmit``."""

    request: TouchRequest
    status: TouchStatus
    rule: TouchRule | None = None
    deferred_until: datetime | None = None
    expires_at: datetime | None = None
    touch_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.status in (TouchStatus.allowed, TouchStatus.sent)


@dataclass
class _Facts:
    relations: dict[int, list[tuple[int, str]]]
    preferences: dict[int, tuple[str | None, bool]]
    blacklisted: set[int]
    #: per batch: caps by (channel, priority, time) and quiet-hours releases by (time, zone)
    caps: dict = field(default_factory=dict)
    releases: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Cap:
    rule: TouchRule
    start: datetime
    cap: int
    release: datetime


def decide(session: Session, corp_id: int, requests: list[TouchRequest], *, now: datetime) -> list[Decision]:
    """Preview: what ``admit`` would decide for ``requests`` now, without writing anything. Requests
    of one batch count against each other's caps in order."""
    return _evaluate(session, corp_id, requests, now=now, consume=False)


def admit(session: Session, corp_id: int, requests: list[TouchRequest], *, now: datetime) -> list[Decision]:
    """Decide and record: each request becomes a ``touch`` row (allowed, blocked, deferred or expired,
    with the rule), and allowed capped touches take their counter slots atomically."""
    keyed = [r.dedupe_key for r in requests if r.dedupe_key]
    existing = repository.touches_by_key(session, corp_id, list(dict.fromkeys(keyed))) if keyed else {}
    first_of_key: dict[str, int] = {}
    fresh: list[TouchRequest] = []
    #: per request: its index in ``fresh``, or the key whose decision it shares
    origin: list[int | str] = []
    for request in requests:
        key = request.dedupe_key
        if key and (key in existing or key in first_of_key):
            origin.append(key)
            continue
        if key:
            first_of_key[key] = len(fresh)
        origin.append(len(fresh))
        fresh.append(request)
    decisions = _evaluate(session, corp_id, fresh, now=now, consume=True)
    ids = repository.insert_touches(session, [_row(corp_id, d, now) for d in decisions])
    decisions = [replace(d, touch_id=touch_id) for d, touch_id in zip(decisions, ids, strict=True)]
    results: list[Decision] = []
    for request, source in zip(requests, origin, strict=True):
        if isinstance(source, int):
            results.append(decisions[source])
        elif source in existing:
            results.append(_from_touch(request, existing[source]))
        else:
            results.append(replace(decisions[first_of_key[source]], request=request))
    return results


def readmit(session: Session, corp_id: int, touch_ids: list[int], *, now: datetime) -> list[Decision]:
    """Decide again, now, for deferred touches whose window came; the rows are updated in place (a
    touch can be deferred again, or expire). Touches that are no longer deferred are left alone."""
    rows = [t for t in repository.touches(session, corp_id, touch_ids) if t.status == TouchStatus.deferred]
    requests = [TouchRequest(customer_id=t.customer_id, channel=TouchChannel(t.channel),
                             priority=TouchPriority(t.priority), staff_id=t.staff_id, source_kind=t.source_kind,
                             source_id=t.source_id, dedupe_key=t.dedupe_key, at=now, expires_at=t.expires_at)
                for t in rows]
    decisions = _evaluate(session, corp_id, requests, now=now, consume=True)
    repository.update_touches(session, [
        {"id": t.id, "status": d.status, "rule": d.rule, "deferred_until": d.deferred_until,
         "occurred_at": now, "updated_at": now} for t, d in zip(rows, decisions, strict=True)])
    return [replace(d, touch_id=t.id) for t, d in zip(rows, decisions, strict=True)]


def due_deferred(session: Session, corp_id: int, *, now: datetime, limit: int = 10000) -> list[int]:
    """Ids of deferred touches whose window has come and that have not expired."""
    return repository.due_deferred_ids(session, corp_id, now, limit)


def expire_deferred(session: Session, corp_id: int, *, now: datetime) -> int:
    """Deferred touches past their expiry become ``expired``; returns how many."""
    return repository.expire_deferred(session, corp_id, now)


def mark_sent(session: Session, corp_id: int, touch_ids: list[int], *, now: datetime) -> int:
    """Allowed touches that reached the customer."""
    return repository.set_status(session, corp_id, touch_ids, TouchStatus.sent, now,
                                 only_from=[TouchStatus.allowed])


# -- opt-outs --------------------------------------------------------------------------------------
def is_opt_out_reply(settings: PolicySettings, text: str) -> bool:
    """A reply that is exactly one of the corp's keywords (退订, TD …), ignoring case and spaces."""
    normalised = text.strip().casefold()
    return any(normalised == word.casefold() for word in settings.opt_out_keywords)


def record_reply(session: Session, corp_id: int, customer_id: int, text: str, *, now: datetime) -> bool:
    """Feed a customer's reply (archive, callbacks); a keyword reply opts them out. Returns whether it did."""
    if not is_opt_out_reply(load(session, corp_id), text):
        return False
    opt_out(session, corp_id, customer_id, source="reply", text=text.strip()[:200], now=now)
    return True


def opt_out(session: Session, corp_id: int, customer_id: int, *, source: str, now: datetime,
            text: str | None = None) -> None:
    """The customer receives no more marketing (service and transactional touches still pass)."""
    row = _preference(session, corp_id, customer_id)
    if row.opted_out_at is None:
        row.opted_out_at, row.opt_out_source, row.opt_out_text = now, source, text
    session.flush()


def opt_in(session: Session, corp_id: int, customer_id: int) -> None:
    row = repository.preference(session, corp_id, customer_id)
    if row is not None:
        row.opted_out_at = row.opt_out_source = row.opt_out_text = None
        session.flush()


def set_timezone(session: Session, corp_id: int, customer_id: int, timezone: str | None) -> None:
    """Quiet hours follow the customer's own time zone when we know it (else the corp's)."""
    _preference(session, corp_id, customer_id).timezone = timezone
    session.flush()


def _preference(session: Session, corp_id: int, customer_id: int) -> ContactPreference:
    row = repository.preference(session, corp_id, customer_id)
    if row is None:
        row = ContactPreference(corp_id=corp_id, customer_id=customer_id)
        session.add(row)
    return row


# -- evaluation ------------------------------------------------------------------------------------
def _evaluate(session: Session, corp_id: int, requests: list[TouchRequest], *, now: datetime,
              consume: bool) -> list[Decision]:
    if not requests:
        return []
    settings = load(session, corp_id)
    customer_ids = list({r.customer_id for r in requests})
    facts = _Facts(repository.relations_of(session, corp_id, customer_ids),
                   repository.preferences_of(session, corp_id, customer_ids),
                   repository.tagged_with(session, corp_id, settings.blacklist_tag_id, customer_ids))
    decisions: list[Decision | None] = []
    capped: list[tuple[int, tuple[_Cap, ...]]] = []
    for index, request in enumerate(requests):
        decision, caps = _classify(settings, facts, request, now)
        decisions.append(decision)
        if decision is None:
            capped.append((index, caps))
    refused = (_take(session, corp_id, requests, capped) if consume
               else _project(session, corp_id, requests, capped))
    for index, caps in capped:
        request = requests[index]
        expires = _expiry(settings, request, now)
        cap = refused.get(index)
        if cap is None:
            decisions[index] = Decision(request, TouchStatus.allowed, expires_at=expires)
        else:
            decisions[index] = _deferral(settings, facts, request, cap.rule, cap.release, expires)
    return [d for d in decisions if d is not None]


_ACTIVE, _DELETED = RelationStatus.active.value, RelationStatus.deleted_by_customer.value
_UNKNOWN = object()
_MARKETING, _SERVICE = TouchPriority.marketing, TouchPriority.service


def _classify(settings: PolicySettings, facts: _Facts, request: TouchRequest, now: datetime
              ) -> tuple[Decision | None, tuple[_Cap, ...]]:
    """Every rule but the counters; ``None`` means: allowed if the counters have room."""
    at = request.at or now
    if request.channel in RELATION_CHANNELS:
        staff_id = request.staff_id
        relations = [status for staff, status in facts.relations.get(request.customer_id, ())
                     if staff_id is None or staff == staff_id]
        if _ACTIVE not in relations:
            rule = TouchRule.contact_deleted if _DELETED in relations else TouchRule.no_relation
            return Decision(request, TouchStatus.blocked, rule), ()
    timezone, opted_out = facts.preferences.get(request.customer_id, (None, False))
    priority = request.priority
    if priority == _MARKETING:
        if opted_out:
            return Decision(request, TouchStatus.blocked, TouchRule.opted_out), ()
        if request.customer_id in facts.blacklisted:
            return Decision(request, TouchStatus.blocked, TouchRule.blacklisted), ()
    if priority != _SERVICE:
        zone_key = (at, timezone or settings.timezone)
        release = facts.releases.get(zone_key, _UNKNOWN)
        if release is _UNKNOWN:
            release = facts.releases[zone_key] = settings.quiet_hours.release(*zone_key)
        if release is not None:
            return _deferral(settings, facts, request, TouchRule.quiet_hours, release,
                             _expiry(settings, request, now)), ()
    key = (request.channel, priority, at)
    caps = facts.caps.get(key)
    if caps is None:
        caps = facts.caps[key] = _caps_for(settings, request.channel, priority, at)
    return None, caps


def _caps(settings: PolicySettings, request: TouchRequest, at: datetime) -> tuple[_Cap, ...]:
    return _caps_for(settings, request.channel, request.priority, at)


@lru_cache(maxsize=1024)
def _caps_for(settings: PolicySettings, channel: TouchChannel, priority: TouchPriority, at: datetime
              ) -> tuple[_Cap, ...]:
    # Requests of one batch mostly share channel, priority and time: the calendar work is done once.
    caps: list[_Cap] = []
    tz = settings.timezone
    request = TouchRequest(customer_id=0, channel=channel, priority=priority)
    if request.channel == TouchChannel.broadcast:
        period, allowed = quota_period(settings.wecom_quota_rule, at, tz)
        caps.append(_cap(TouchRule.wecom_quota, period, allowed, at, tz))
    if request.channel == TouchChannel.moment:
        caps.append(_cap(TouchRule.moment_cap, CapPeriod.day, settings.moments_per_day, at, tz))
    if request.priority == TouchPriority.marketing:
        caps.append(_cap(TouchRule.marketing_cap, settings.marketing_period, settings.marketing_cap, at, tz))
    return tuple(caps)


def _cap(rule: TouchRule, period: CapPeriod, allowed: int, at: datetime, tz: str) -> _Cap:
    return _Cap(rule, period_start(period, at, tz), allowed, next_period_start(period, at, tz))


def _project(session: Session, corp_id: int, requests: list[TouchRequest],
             capped: list[tuple[int, tuple[_Cap, ...]]]) -> dict[int, _Cap]:
    """Counters as they stand plus this batch's own earlier requests, without writing."""
    keys = [(requests[i].customer_id, cap.rule.value, cap.start) for i, caps in capped for cap in caps]
    counts = defaultdict(int, repository.counts_of(session, corp_id, keys))
    refused: dict[int, _Cap] = {}
    for index, caps in capped:
        customer_id = requests[index].customer_id
        full = next((cap for cap in caps if counts[(customer_id, cap.rule.value, cap.start)] >= cap.cap), None)
        if full is not None:
            refused[index] = full
            continue
        for cap in caps:
            counts[(customer_id, cap.rule.value, cap.start)] += 1
    return refused


def _take(session: Session, corp_id: int, requests: list[TouchRequest],
          capped: list[tuple[int, tuple[_Cap, ...]]]) -> dict[int, _Cap]:
    """Take slots counter by counter; a request one counter refuses gives back what it took."""
    refused: dict[int, _Cap] = {}
    taken: dict[int, list[_Cap]] = defaultdict(list)
    for rule in COUNTER_ORDER:
        wanting = [(index, cap) for index, caps in capped if index not in refused
                   for cap in caps if cap.rule == rule]
        # One row per key and statement: a customer asked for twice waits for the next round.
        while wanting:
            round_rows: dict[tuple[int, datetime], tuple[int, _Cap]] = {}
            later: list[tuple[int, _Cap]] = []
            for index, cap in wanting:
                key = (requests[index].customer_id, cap.start)
                if key in round_rows:
                    later.append((index, cap))
                elif cap.cap <= 0:
                    refused[index] = cap
                else:
                    round_rows[key] = (index, cap)
            got = repository.take_slots(session, corp_id, rule.value,
                                        [(key[0], key[1], cap.cap) for key, (_, cap) in round_rows.items()])
            for key, (index, cap) in round_rows.items():
                if key in got:
                    taken[index].append(cap)
                else:
                    refused[index] = cap
            wanting = later
    back: dict[TouchRule, list[tuple[int, datetime]]] = defaultdict(list)
    for index in refused:
        for cap in taken.get(index, ()):
            back[cap.rule].append((requests[index].customer_id, cap.start))
    for rule, keys in back.items():
        repository.give_back_slots(session, corp_id, rule.value, keys)
    return refused


@lru_cache(maxsize=4096)
def _release(quiet_hours: QuietHours, at: datetime, tz: str) -> datetime | None:
    return quiet_hours.release(at, tz)


def _expiry(settings: PolicySettings, request: TouchRequest, now: datetime) -> datetime:
    return request.expires_at or (request.at or now) + timedelta(days=settings.deferral_days)


def _deferral(settings: PolicySettings, facts: _Facts, request: TouchRequest, rule: TouchRule,
              until: datetime, expires: datetime) -> Decision:
    """Deferred to ``until`` (moved out of the customer's quiet hours), or expired if that is too late."""
    timezone = facts.preferences.get(request.customer_id, (None, False))[0] or settings.timezone
    if request.priority != TouchPriority.service:
        until = _release(settings.quiet_hours, until, timezone) or until
    if until >= expires:
        return Decision(request, TouchStatus.expired, rule, expires_at=expires)
    return Decision(request, TouchStatus.deferred, rule, deferred_until=until, expires_at=expires)


def _row(corp_id: int, decision: Decision, now: datetime) -> dict:
    request = decision.request
    return {"corp_id": corp_id, "customer_id": request.customer_id, "staff_id": request.staff_id,
            "channel": request.channel, "priority": request.priority, "status": decision.status,
            "rule": decision.rule, "source_kind": request.source_kind, "source_id": request.source_id,
            "dedupe_key": request.dedupe_key, "occurred_at": request.at or now,
            "deferred_until": decision.deferred_until, "expires_at": decision.expires_at,
            "created_at": now, "updated_at": now}


def _from_touch(request: TouchRequest, touch: Touch) -> Decision:
    return Decision(request, TouchStatus(touch.status), TouchRule(touch.rule) if touch.rule else None,
                    touch.deferred_until, touch.expires_at, touch.id)
