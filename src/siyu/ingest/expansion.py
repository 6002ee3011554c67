"""Expanding a stored batch: messages → ``event`` rows, identities → customers, identify traits →
customer profiles. Runs in the ``ingest.expand_batch`` job: a batch, and up to a few other waiting
batches of the same corp, per transaction.

* Dedupe: ``INSERT … ON CONFLICT (corp_id, message_id) DO NOTHING``; a message without ``messageId``
  gets one from a hash of its content and source, so a client's retry of the same message is the same
  event.
* Identities are resolved set-wise through ``identity.service.resolve_customers``: ``userId`` →
  ``user_id``, ``anonymousId`` → ``anonymous_id``, identify traits phone / unionid / openid / member
  number → their kinds. An alias claims ``userId`` together with ``previousId`` (under the kind it is
  already known by, else as an anonymous id), so the two become one customer as the identity rules
  allow.
* An ``Order Completed`` track call also writes an order through the order service (``orders``).
* Times follow Segment: ``timestamp = receivedAt − (sentAt − originalTimestamp)`` corrects a client's
  wrong clock; a skew under ``SKEW_TOLERANCE`` is left alone, since it is mostly network latency and
  correcting it would only add that noise to the client's exact time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.identity.service import IdentityClaim, normalise_identity, resolve_customers
from siyu.ingest import orders, repository
from siyu.ingest.payload import identifier, messages_of, parse_time
from siyu.kit.clock import Clock

SKEW_TOLERANCE = timedelta(seconds=30)
#: identify traits that are identities of the person (Segment's and our names)
TRAIT_IDENTITIES = (("phone", "phone"), ("mobile", "phone"), ("unionid", "unionid"), ("unionId", "unionid"),
                    ("openid", "openid"), ("openId", "openid"), ("member_no", "member_no"),
                    ("memberNo", "member_no"))
_GENDERS = {"male": "male", "m": "male", "man": "male", "男": "male", "1": "male",
            "female": "female", "f": "female", "woman": "female", "女": "female", "2": "female"}
#: an alias's previousId is one of these, whichever the corp already knows it as
_ALIAS_KINDS = ("user_id", "anonymous_id")


@dataclass
class Draft:
    """One message on its way to an ``event`` row."""

    row: dict[str, Any]
    identities: list[tuple[str, str]]
    profile: dict[str, Any] | None = None
    previous_id: str | None = None
    customer_id: int | None = field(default=None)


@dataclass(frozen=True)
class Expansion:
    """What one expansion did: messages read, events inserted (the rest were duplicates), customers."""

    messages: int
    inserted: int
    customers: int


def event_time(message: dict[str, Any], sent_at: datetime | None, received_at: datetime) -> datetime:
    """The event's time: the client's, corrected for the client's clock skew (see the module doc)."""
    original = parse_time(message.get("timestamp")) or parse_time(message.get("originalTimestamp"))
    sent = parse_time(message.get("sentAt")) or sent_at
    if original is None:
        return received_at
    if sent is None:
        return original
    skew = received_at - sent
    return original if abs(skew) <= SKEW_TOLERANCE else original + skew


def content_message_id(message: dict[str, Any], source_id: int) -> str:
    """A stable id for a message that has none: the same message retried hashes the same."""
    content = {key: value for key, value in message.items() if key not in ("sentAt", "writeKey")}
    digest = hashlib.sha256(f"{source_id}:".encode() + json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()).hexdigest()
    return f"sha256:{digest[:48]}"


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text[:limit] or None
    return None


def _birthday(value: Any) -> datetime | None:
    """A birthday is a calendar day: the date as written (``1990-05-01``, or the date part of an ISO
    time whatever its offset), at midnight UTC like every other birthday in the table."""
    if not isinstance(value, str):
        return None
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def profile_of(traits: dict[str, Any]) -> dict[str, Any]:
    """Customer profile fields from identify traits (name, gender, city, birthday, phone)."""
    name = _text(traits.get("name"), 100)
    if name is None:
        parts = [_text(traits.get(key), 50) for key in ("lastName", "firstName")]
        name = "".join(part for part in parts if part) or None
    address = traits.get("address") if isinstance(traits.get("address"), dict) else {}
    gender = _text(traits.get("gender"), 16)
    return {
        "name": name,
        "gender": _GENDERS.get(gender.lower()) if gender else None,
        "city": _text(traits.get("city"), 64) or _text(address.get("city"), 64),
        "birthday": _birthday(traits.get("birthday")),
        "phone": normalise_identity("phone", traits.get("phone") or traits.get("mobile")),
    }


def _draft(message: dict[str, Any], common: dict[str, Any], batch, sent_at: datetime | None) -> Draft:
    kind = message.get("type") if batch.endpoint == "batch" else batch.endpoint
    context = {**common.get("context", {}), **(message.get("context") or {})}
    properties = dict(message.get("properties") or {})
    traits = dict(message.get("traits") or {})
    if kind == "identify" and isinstance(context.get("traits"), dict):
        # RudderStack's SDK sends identify traits only in context.traits (the spec allows both)
        traits = {**context["traits"], **traits}
    user_id, anonymous_id = identifier(message.get("userId")), identifier(message.get("anonymousId"))
    name: str | None = kind if kind in ("identify", "group", "alias") else None
    previous_id = None
    if kind == "track":
        name = message["event"]
    elif kind in ("page", "screen"):
        name = message.get("name") or None
        if message.get("category"):
            properties.setdefault("category", message["category"])
    elif kind == "group":
        properties.setdefault("groupId", identifier(message.get("groupId")))
    elif kind == "alias":
        previous_id = identifier(message.get("previousId"))
        properties.setdefault("previousId", previous_id)
        anonymous_id = None
    message_id = identifier(message.get("messageId")) or content_message_id(message, batch.source_id)
    identities = [pair for pair in (("user_id", user_id), ("anonymous_id", anonymous_id)) if pair[1]]
    profile = None
    if kind == "identify":
        identities += [(kind_, str(traits[key])) for key, kind_ in TRAIT_IDENTITIES
                       if identifier(traits.get(key)) is not None]
        profile = profile_of(traits)
    row = {"corp_id": batch.corp_id, "source_id": batch.source_id, "customer_id": None,
           "message_id": message_id, "type": kind, "name": name, "user_id": user_id,
           "anonymous_id": anonymous_id, "properties": properties, "traits": traits, "context": context,
           "timestamp": event_time(message, sent_at, batch.received_at), "received_at": batch.received_at}
    return Draft(row, identities, profile, previous_id)


def _resolve(session: Session, corp_id: int, drafts: list[Draft], clock: Clock) -> None:
    """Set ``customer_id`` on every draft: one claim per distinct set of identities, resolved
    together; an alias's claims after the others, under their own reason. The claims carry no
    profile: the identify traits are written afterwards, latest first (``update_profiles``), over
    whatever resolution would have filled in."""
    known = repository.identity_kinds(session, corp_id, _ALIAS_KINDS,
                                      [d.previous_id for d in drafts if d.previous_id])
    for draft in drafts:
        if draft.previous_id:
            kinds = [kind for kind in _ALIAS_KINDS if (kind, draft.previous_id) in known] or ["anonymous_id"]
            draft.identities += [(kind, draft.previous_id) for kind in kinds]
    for reason, group in (("event", [d for d in drafts if not d.previous_id]),
                          ("event:alias", [d for d in drafts if d.previous_id])):
        claims: list[IdentityClaim] = []
        index: dict[tuple, int] = {}
        owners: list[int] = []
        for draft in group:
            key = tuple(draft.identities)
            if key not in index:
                index[key] = len(claims)
                claims.append(IdentityClaim(list(draft.identities)))
            owners.append(index[key])
        if not claims:
            continue
        resolved = resolve_customers(session, corp_id, claims, reason=reason, clock=clock)
        for draft, claim_index in zip(group, owners, strict=True):
            draft.customer_id = resolved[claim_index]
    # A later claim may have merged the customer an earlier one resolved to: follow to the survivors.
    survivors = repository.survivors(session, corp_id, {d.customer_id for d in drafts if d.customer_id})
    for draft in drafts:
        if draft.customer_id is not None:
            draft.customer_id = survivors[draft.customer_id]
            draft.row["customer_id"] = draft.customer_id


class BatchBusy(Exception):
    """Another transaction is expanding the batch right now (it took it along with its own)."""


def _drafts_of(batch, failed: list[tuple[int, str]]) -> list[Draft]:
    """The drafts of one batch's messages; a body that cannot be read is noted in ``failed``."""
    try:
        document = json.loads(batch.body)
        common = {"context": document.get("context") or {}} if batch.endpoint == "batch" else {}
        sent_at = parse_time(document.get("sentAt"))
        return [_draft(message, common, batch, sent_at) for message in messages_of(batch.endpoint, document)]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        failed.append((batch.id, f"{type(exc).__name__}: {exc}"[:2000]))
        return []


def expand_batches(session: Session, batch_id: int, clock: Clock, *, siblings: int = 0) -> Expansion | None:
    """Turn batch ``batch_id`` — and up to ``siblings`` other received batches of its corp that no
    other worker holds — into events and customers, in one transaction: identity resolution and
    the inserts are set-wise, so a larger set costs less per event. ``None`` if the batch was
    already expanded. A batch whose body cannot be read is marked failed; the others go on."""
    first = repository.batch_to_expand(session, batch_id)
    if first is None:
        if repository.batch_state(session, batch_id) == "received":
            raise BatchBusy(batch_id)
        return None
    if first.status != "received":
        return None
    batches = sorted([first, *repository.sibling_batches(session, first.corp_id, first.id, siblings)],
                     key=lambda batch: batch.id)  # events in the order their batches arrived
    failed: list[tuple[int, str]] = []
    drafts: list[Draft] = []
    seen: set[str] = set()
    for batch in batches:
        for draft in _drafts_of(batch, failed):
            if draft.row["message_id"] not in seen:  # a message repeated (in or across batches) is one event
                seen.add(draft.row["message_id"])
                drafts.append(draft)
    corp_id = first.corp_id
    _resolve(session, corp_id, drafts, clock)
    profiles: dict[int, dict[str, Any]] = {}
    # by the time the events happened, not the order batches arrive in: the latest identify wins
    for draft in sorted(drafts, key=lambda d: d.row["timestamp"]):
        if draft.profile and draft.customer_id is not None:
            merged = profiles.setdefault(draft.customer_id, {})
            merged.update({k: v for k, v in draft.profile.items() if v is not None})
    now = clock.now()
    repository.update_profiles(session, corp_id, profiles, now)
    inserted = repository.insert_events(session, [draft.row for draft in drafts])
    by_source: dict[int, list[dict[str, Any]]] = {}
    for draft in drafts:
        if orders.is_order_event(draft.row):
            by_source.setdefault(draft.row["source_id"], []).append(draft.row)
    for source_id, rows in by_source.items():
        orders.write_orders(session, corp_id, rows, repository.source_kind(session, source_id), clock)
    latest: dict[int, datetime] = {}
    for batch in batches:
        latest[batch.source_id] = max(latest.get(batch.source_id, batch.received_at), batch.received_at)
    for source_id, received_at in latest.items():
        repository.touch_source(session, source_id, received_at)
    bad = dict(failed)
    for batch in batches:
        repository.finish_batch(session, batch.id, status="failed" if batch.id in bad else "processed", at=now,
                                error=bad.get(batch.id))
    customers = {d.customer_id for d in drafts if d.customer_id is not None}
    return Expansion(len(drafts), inserted, len(customers))
