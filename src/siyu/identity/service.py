"""Identity resolution: which customer a piece of data belongs to — the shared interface.

Ingest, order import, the order API and WeCom sync call ``resolve_customers`` with claims
(identities, optionally profile fields) and get one customer id per claim. A batch is resolved with
a handful of set-based statements, whatever its size:

1. the corp's rules (one query); every identity normalised and checked against them;
2. who holds each (kind, value) — one IN query per kind (and chunk of 5 000 values);
3. only for claims that are not simply "all known, one customer": the customers involved are
   row-locked (``FOR UPDATE``, in id order) and their identities read, then the plan is made in
   memory (``resolution.Plan``: creations, attachments within the caps, merges, skips);
4. new customers in one INSERT … RETURNING, merges (rare) one by one, new identities in one
   INSERT … ON CONFLICT DO NOTHING, profile gaps filled in one executemany.

Concurrency: the unique constraint (corp_id, kind, value) decides who gets an identity. When a
concurrent transaction took a pair first, the claims that wanted it are resolved again against the
committed state — which links them to the winner's customer; a customer this call created moments
before is folded into it (it is unknown to anyone else) rather than merged with history. So two
transactions creating the same person end with one customer. On SQLite writers are serialised:
resolve inside a write transaction (``Database.session(immediate=True)``, as request and job
sessions that write do).

Merges and caps follow the per-corp rules (see ``rules`` and ``resolution``); every merge is
recorded as a ``CustomerMerge`` and can be undone (``merge``). Skips — identities not attached
because of a cap, merges not made because they would break a cap — are returned in
``Resolution.skips``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.identity import merge as merging
from siyu.identity import repository
from siyu.identity.resolution import Pair, Plan
from siyu.identity.rules import RuleBook, normalise_identity
from siyu.kit.clock import Clock
from siyu.kit.errors import NotFound
from siyu.kit.tenancy import Principal

__all__ = ["IdentityClaim", "Resolution", "ResolvedSkip", "normalise_identity", "resolve_claims",
           "resolve_customer", "resolve_customers", "survivor_of"]

#: A race for an identity is settled in one more round; three cover any interleaving we can meet.
_MAX_ROUNDS = 3
_MAX_CHAIN = 100
_PROFILE_LENGTHS = {"name": 100, "gender": 8, "city": 64}


@dataclass
class IdentityClaim:
    """What one piece of data says about a person.

    ``identities``: (kind, value) pairs, raw (they are normalised here); ``profile``: optional
    fields for the customer — name, gender, city, phone, birthday — used when the customer is
    created, and to fill fields an existing customer does not have yet (known values are kept)."""

    identities: list[tuple[str, str]]
    profile: dict | None = field(default=None)


@dataclass(frozen=True)
class ResolvedSkip:
    """An identity of claim ``claim`` that was not attached (see ``resolution.Skip``)."""

    claim: int
    kind: str
    value: str
    reason: str
    customer_id: int
    blocking_kind: str | None = None


@dataclass
class Resolution:
    customer_ids: list[int | None]
    skips: list[ResolvedSkip] = field(default_factory=list)
    merge_ids: list[int] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    #: merged-away customer → survivor, for every merge made by this call
    redirects: dict[int, int] = field(default_factory=dict)


def survivor_of(session: Session, corp_id: int, customer_id: int) -> int:
    """The live customer ``customer_id`` ends up as, following ``merged_into_id`` through chains.
    Raises ``NotFound`` for an id that is not a customer of ``corp_id``."""
    principal = repository.system_principal(corp_id)
    current = customer_id
    for _ in range(_MAX_CHAIN):
        merged_into = repository.merged_into(session, principal, current)
        if merged_into is False:
            raise NotFound("error.customer_not_found", field="customer_id")
        if merged_into is None:
            return current
        current = merged_into
    return current


def resolve_customers(session: Session, corp_id: int, claims: list[IdentityClaim], *, reason: str,
                      clock: Clock) -> list[int | None]:
    """One customer id per claim (``None`` if the claim has no usable identity): creates customers,
    attaches identities within the rules and merges the customers a claim links. Only flushes."""
    return resolve_claims(session, corp_id, claims, reason=reason, clock=clock).customer_ids


def resolve_customer(session: Session, corp_id: int, identities: Iterable[tuple[str, str]], *,
                     profile: dict | None = None, reason: str, clock: Clock) -> int | None:
    """``resolve_customers`` for a single claim."""
    claim = IdentityClaim(list(identities), profile)
    return resolve_customers(session, corp_id, [claim], reason=reason, clock=clock)[0]


def resolve_claims(session: Session, corp_id: int, claims: Sequence[IdentityClaim], *, reason: str,
                   clock: Clock) -> Resolution:
    """``resolve_customers`` with everything it did: skips, merges, created customers."""
    principal = repository.system_principal(corp_id)
    rules = RuleBook.from_stored(repository.stored_rules(session, principal))
    return _resolve(session, principal, rules, list(claims), reason=reason, clock=clock, created=set(), round_=1)


def usable_pairs(rules: RuleBook, identities: Iterable[tuple[str, object]]) -> list[Pair]:
    """The claim's identities normalised, without junk or duplicates, strongest first."""
    pairs = set()
    known = rules.rules
    for kind, value in identities:
        rule = known.get(kind)
        if rule is not None:
            normal = normalise_identity(kind, value)
            if normal is not None and normal not in rule.blocked_values:
                pairs.add((kind, normal))
    return sorted(pairs, key=rules.order) if len(pairs) > 1 else list(pairs)


def _resolve(session: Session, principal: Principal, rules: RuleBook, claims: list[IdentityClaim], *, reason: str,
             clock: Clock, created: set[int], round_: int) -> Resolution:
    corp_id = principal.corp_id
    now = clock.now()
    pairs = [usable_pairs(rules, claim.identities) for claim in claims]
    owner = repository.owners(session, principal, {pair for claim_pairs in pairs for pair in claim_pairs})
    simple: dict[int, int] = {}
    involved: set[int] = set()
    for index, claim_pairs in enumerate(pairs):
        holders = {owner.get(pair) for pair in claim_pairs}
        if len(holders) == 1 and None not in holders:
            simple[index] = holders.pop()
        else:
            involved |= {holder for holder in holders if holder is not None}
    parent, live = _lock_and_follow(session, principal, involved)
    plan = Plan(rules, owner, repository.holdings(session, principal, live), parent)
    refs: list[int | None] = []
    for index, claim in enumerate(claims):
        if not pairs[index]:
            refs.append(None)
        elif index in simple:
            refs.append(simple[index])
            plan.note_profile(simple[index], _clean_profile(claim.profile))
        else:
            refs.append(plan.place(index, pairs[index], _clean_profile(claim.profile)))

    profiles = _profiles_by_root(plan)
    roots = [ref for ref in plan.fresh if plan.find(ref) == ref]
    new_ids = repository.insert_customers(session, corp_id, [profiles.get(ref, {}) for ref in roots], now)
    real = dict(zip(roots, new_ids, strict=True))
    created.update(new_ids)
    outcome = Resolution(customer_ids=[], created_ids=list(new_ids))
    changed = _execute_merges(session, corp_id, plan, real, created, reason, clock, outcome)

    def real_id(ref: int) -> int:
        root = plan.find(ref)
        return real.get(root, root)

    attach = [(kind, value, real_id(ref)) for (kind, value), ref in plan.new_pairs.items()]
    lost = {(kind, value) for kind, value, _ in attach} - repository.insert_identities(session, corp_id, attach, now)
    repository.fill_profiles(session, corp_id, {root: profile for root, profile in profiles.items() if root > 0})
    if changed:
        merging.mark_changed(session, corp_id, sorted(changed), clock)
    outcome.customer_ids = [None if ref is None else real_id(ref) for ref in refs]
    outcome.skips = [ResolvedSkip(s.claim, s.kind, s.value, s.reason, real_id(s.customer_ref), s.blocking_kind)
                     for s in plan.skips]
    if lost:
        _settle_races(session, principal, rules, claims, pairs, lost, reason=reason, clock=clock, created=created,
                      round_=round_, outcome=outcome)
    outcome.customer_ids = [None if c is None else _follow(outcome.redirects, c) for c in outcome.customer_ids]
    return outcome


def _lock_and_follow(session: Session, principal: Principal, involved: set[int]) -> tuple[dict[int, int], set[int]]:
    """Lock the customers involved; a customer merged away since its identities were read is
    replaced by its survivor (also locked)."""
    parent: dict[int, int] = {}
    live: set[int] = set()
    pending = set(involved)
    while pending:
        state = repository.lock_customers(session, principal, pending)
        pending = set()
        for customer_id, merged_into_id in state.items():
            if merged_into_id is None:
                live.add(customer_id)
            else:
                parent[customer_id] = merged_into_id
                if merged_into_id not in live and merged_into_id not in parent:
                    pending.add(merged_into_id)
    return parent, live


def _execute_merges(session: Session, corp_id: int, plan: Plan, real: dict[int, int], created: set[int],
                    reason: str, clock: Clock, outcome: Resolution) -> set[int]:
    """Carry out the planned merges in order; returns the customers whose traits changed."""
    changed: set[int] = set()
    pending: list[merging.MergeRequest] = []

    def flush_pending() -> None:
        outcome.merge_ids.extend(merging.merge_customers(session, corp_id, pending, reason=reason, clock=clock,
                                                         refresh_traits=False))
        pending.clear()

    for planned in plan.merges:
        if planned.merged < 0:
            continue  # a customer planned in this batch is simply never created
        survivor_ref = planned.survivor if planned.survivor > 0 else plan.find(planned.survivor)
        survivor_id = real.get(survivor_ref, survivor_ref)
        if planned.merged in created:
            flush_pending()  # the merges before it may move rows it is about to receive
            merging.absorb_fresh(session, corp_id, survivor_id, planned.merged)
        else:
            pending.append(merging.MergeRequest(survivor_id, planned.merged, planned.kind, planned.value))
            changed |= {survivor_id, planned.merged}
        outcome.redirects[planned.merged] = survivor_id
    flush_pending()
    return changed


def _settle_races(session: Session, principal: Principal, rules: RuleBook, claims: list[IdentityClaim],
                  pairs: list[list[Pair]], lost: set[Pair], *, reason: str, clock: Clock, created: set[int],
                  round_: int, outcome: Resolution) -> None:
    """Another transaction committed some of our new identities first: resolve the claims that
    wanted them again, against the committed state."""
    if round_ >= _MAX_ROUNDS:
        raise RuntimeError(f"identity resolution did not settle after {round_} rounds")
    again = [index for index, claim_pairs in enumerate(pairs) if lost.intersection(claim_pairs)]
    retry = _resolve(session, principal, rules, [claims[index] for index in again], reason=reason, clock=clock,
                     created=created, round_=round_ + 1)
    for position, index in enumerate(again):
        outcome.customer_ids[index] = retry.customer_ids[position]
    outcome.skips = [s for s in outcome.skips if s.claim not in set(again)] + [
        ResolvedSkip(again[s.claim], s.kind, s.value, s.reason, s.customer_id, s.blocking_kind) for s in retry.skips]
    outcome.merge_ids += retry.merge_ids
    outcome.created_ids += retry.created_ids
    outcome.redirects.update(retry.redirects)
    # customers created for identities that all went to the other transaction hold nothing
    removed = set(repository.delete_unused_customers(session, principal.corp_id, outcome.created_ids))
    outcome.created_ids = [c for c in outcome.created_ids if c not in removed and c not in outcome.redirects]


def _follow(redirects: dict[int, int], customer_id: int) -> int:
    for _ in range(_MAX_CHAIN):
        if customer_id not in redirects:
            break
        customer_id = redirects[customer_id]
    return customer_id


def _profiles_by_root(plan: Plan) -> dict[int, dict[str, Any]]:
    profiles: dict[int, dict[str, Any]] = {}
    for ref, profile in plan.profiles.items():
        known = profiles.setdefault(plan.find(ref), {})
        for name, value in profile.items():
            known.setdefault(name, value)
    return profiles


def _clean_profile(profile: dict | None) -> dict[str, Any] | None:
    """The profile fields a customer row can take, in its column types; anything else is dropped."""
    if not profile:
        return None
    clean: dict[str, Any] = {}
    for name, limit in _PROFILE_LENGTHS.items():
        value = profile.get(name)
        if value is None:
            continue
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            clean[name] = str(value).strip()[:limit]
    if profile.get("phone") is not None:
        phone = normalise_identity("phone", profile["phone"])
        if phone:
            clean["phone"] = phone
    if profile.get("birthday") is not None:
        birthday = _birthday(profile["birthday"])
        if birthday:
            clean["birthday"] = birthday
    return clean or None


def _birthday(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()[:10]):
        try:
            day = date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return None
