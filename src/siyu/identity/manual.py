"""What operators do by hand: read and edit a customer's identities, merge two customers, undo a
merge, look a person up by an identity, and edit the corp's identity rules.

Reads and edits are scoped to the principal; merging, undoing and editing rules change the corp's
view of who is who and are for the corp-wide roles that may write (admin, HQ operator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from siyu.customer import repository as customer_repository
from siyu.identity import merge as merging
from siyu.identity import repository
from siyu.identity.rules import KINDS, UNLIMITED, Rule, RuleBook, normalise_identity
from siyu.identity.service import survivor_of
from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from siyu.kit.tenancy import Principal
from siyu.models.customer import Customer, Identity
from siyu.models.identity import CustomerMerge


def _require_corp_admin(principal: Principal) -> None:
    if not (principal.corp_wide and principal.can("customers.write")):
        raise Forbidden("error.identity_admin_only")


def _rules(session: Session, principal: Principal) -> RuleBook:
    return RuleBook.from_stored(repository.stored_rules(session, principal))


def resolve(session: Session, principal: Principal, customer_id: int, *, field: str | None = None) -> Customer:
    """The customer ``customer_id`` is now — itself, or the survivor it was merged into — if the
    principal may see it; ``NotFound`` (naming ``field``) otherwise."""
    customer = customer_repository.get_customer(session, principal, customer_id)
    if customer is None:
        raise NotFound("error.customer_not_found", field=field)
    if customer.merged_into_id is None:
        return customer
    survivor = customer_repository.get_customer(
        session, principal, survivor_of(session, principal.corp_id, customer.merged_into_id))
    if survivor is None:
        raise NotFound("error.customer_not_found", field=field)
    return survivor


def list_identities(session: Session, principal: Principal, customer_id: int) -> list[Identity]:
    return repository.identities_of(session, principal, resolve(session, principal, customer_id).id)


def attach_identity(session: Session, principal: Principal, customer_id: int, kind: str, value: str, *,
                    clock: Clock) -> Identity:
    """Attach an identity by hand, within the corp's rules. Refused (409) if another customer holds
    it — the error names that customer so the operator can merge the two instead — or if the
    customer already holds as many values of the kind as the rule allows."""
    customer = resolve(session, principal, customer_id)
    rules = _rules(session, principal)
    if kind not in rules.rules:
        raise InvalidInput("error.identity_kind_unknown", field="identity_kind", kind=kind)
    normal = rules.usable(kind, value)
    if normal is None:
        raise InvalidInput("error.identity_value_invalid", field="value", kind=kind)
    repository.lock_customers(session, principal, [customer.id])
    holder = repository.holder_anywhere_in_corp(session, principal.corp_id, kind, normal)
    if holder is not None:
        _refuse_held(session, principal, customer.id, holder, kind)
    held = repository.holdings(session, principal, [customer.id])[customer.id]
    rule = rules[kind]
    if not rule.allows_another(len(held.get(kind, ()))):
        raise Conflict("error.identity_cap_reached", field="identity_kind", kind=kind, limit=rule.max_per_customer)
    inserted = repository.insert_identities(session, principal.corp_id, [(kind, normal, customer.id)], clock.now())
    if not inserted:  # another transaction attached it in the meantime
        _refuse_held(session, principal, customer.id,
                     repository.holder_anywhere_in_corp(session, principal.corp_id, kind, normal) or 0, kind)
    identity = repository.identity_by_value(session, principal, kind, normal)
    assert identity is not None
    return identity


def _refuse_held(session: Session, principal: Principal, customer_id: int, holder: int, kind: str) -> None:
    if holder == customer_id:
        raise Conflict("error.identity_already_attached", field="value", kind=kind)
    if customer_repository.get_customer(session, principal, holder) is not None:
        raise Conflict("error.identity_held_by_other", field="value", kind=kind, customer_id=holder)
    raise Conflict("error.identity_held_elsewhere", field="value", kind=kind)


def detach_identity(session: Session, principal: Principal, customer_id: int, identity_id: int) -> Identity:
    """Remove an identity from the customer; returns it as it was."""
    customer = resolve(session, principal, customer_id)
    identity = repository.identity_of(session, principal, customer.id, identity_id)
    if identity is None:
        raise NotFound("error.identity_not_found", field="identity_id")
    session.delete(identity)
    session.flush()
    return identity


def list_merges(session: Session, principal: Principal, customer_id: int) -> list[CustomerMerge]:
    """The merges this customer took part in (as survivor or merged), newest first."""
    if customer_repository.get_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found")
    return repository.merges_of(session, principal, customer_id)


def merge_manually(session: Session, principal: Principal, survivor_id: int, merged_id: int, *,
                   note: str | None, clock: Clock) -> CustomerMerge:
    """Merge ``merged_id`` into ``survivor_id`` as the operator chose (ids merged away earlier
    stand for their survivors). Refused if both are already one customer, or if one customer could
    not hold both sets of identities under the corp's caps (two unionids are two people)."""
    _require_corp_admin(principal)
    survivor = resolve(session, principal, survivor_id, field="survivor_id")
    merged = resolve(session, principal, merged_id, field="merged_id")
    if survivor.id == merged.id:
        raise Conflict("error.merge_same_customer", field="merged_id", customer_id=survivor.id)
    repository.lock_customers(session, principal, [survivor.id, merged.id])
    session.refresh(survivor)
    session.refresh(merged)
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise Conflict("error.merge_not_current", field="merged_id", merge_id=0)
    held = repository.holdings(session, principal, [survivor.id, merged.id])
    blocking = _rules(session, principal).over_cap(held[survivor.id], held[merged.id])
    if blocking:
        raise Conflict("error.merge_exceeds_cap", field="merged_id", kind=blocking)
    [merge_id] = merging.merge_customers(session, principal.corp_id,
                                         [merging.MergeRequest(survivor.id, merged.id, note=note)],
                                         reason="manual", clock=clock)
    return session.get(CustomerMerge, merge_id)


def undo_merge(session: Session, principal: Principal, customer_id: int, merge_id: int, *,
               clock: Clock) -> CustomerMerge:
    """Split a merge: move back exactly what it moved. ``customer_id`` is either party."""
    _require_corp_admin(principal)
    if customer_repository.get_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found", field="customer_id")
    merge = repository.merge_of(session, principal, merge_id, lock=True)
    if merge is None or customer_id not in (merge.survivor_id, merge.merged_id):
        raise NotFound("error.merge_not_found", field="merge_id")
    repository.lock_customers(session, principal, [merge.survivor_id, merge.merged_id])
    survivor = session.get(Customer, merge.survivor_id, populate_existing=True)
    merged = session.get(Customer, merge.merged_id, populate_existing=True)
    merging.check_undo(session, principal, merge, survivor, merged)
    merging.undo_merge(session, principal, merge, survivor, merged, clock=clock, now=clock.now())
    return merge


def lookup(session: Session, principal: Principal, kind: str, value: str) -> Customer:
    """The (live) customer holding an identity, if the principal may see it."""
    if kind not in KINDS:
        raise InvalidInput("error.identity_kind_unknown", field="kind", kind=kind)
    normal = normalise_identity(kind, value)
    if normal is None:
        raise InvalidInput("error.identity_value_invalid", field="value", kind=kind)
    identity = repository.identity_by_value(session, principal, kind, normal)
    if identity is None:
        raise NotFound("error.identity_not_found", field="value")
    return resolve(session, principal, identity.customer_id)


@dataclass(frozen=True)
class RuleChange:
    kind: str
    max_per_customer: int | None
    priority: int
    merge_key: bool
    blocked_values: list[str]


def list_rules(session: Session, principal: Principal) -> list[Rule]:
    """The effective rule of every kind, strongest first."""
    if not principal.corp_wide:
        raise Forbidden("error.identity_admin_only")
    book = _rules(session, principal)
    return sorted(book.rules.values(), key=lambda rule: (rule.priority, rule.kind))


def update_rules(session: Session, principal: Principal, changes: list[RuleChange], *, clock: Clock) -> list[Rule]:
    """Store the given kinds' rules (others keep theirs); effective for the next resolution."""
    _require_corp_admin(principal)
    now = clock.now()
    for change in changes:
        blocked: list[str] = []
        for raw in change.blocked_values:
            normal = normalise_identity(change.kind, raw)
            if normal is not None and normal not in blocked:
                blocked.append(normal)
        values: dict[str, Any] = {
            "kind": change.kind, "priority": change.priority, "merge_key": change.merge_key,
            "max_per_customer": UNLIMITED if change.max_per_customer is None else change.max_per_customer,
            "blocked_values": blocked,
        }
        repository.save_rule(session, principal, values, now)
    session.flush()
    return list_rules(session, principal)
