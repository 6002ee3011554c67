"""REST: a customer's identities and merge history, manual merge and undo, lookup by identity and
the corp's identity rules."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.customer import schemas as customer_schemas
from siyu.identity import manual, schemas

router = APIRouter(tags=["identities"])


@router.get("/customers/{customer_id}/identities", response_model=list[schemas.Identity],
            dependencies=[require("customers.read")])
def list_identities(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    return manual.list_identities(session, principal, customer_id)


@router.post("/customers/{customer_id}/identities", response_model=schemas.Identity, status_code=201,
             dependencies=[require("customers.write")])
def attach_identity(customer_id: int, body: schemas.IdentityAttach, session: DbSession,
                    principal: CurrentPrincipal, clock: AppClock):
    return manual.attach_identity(session, principal, customer_id, body.identity_kind.value, body.value, clock=clock)


@router.delete("/customers/{customer_id}/identities/{identity_id}", response_model=schemas.Identity,
               dependencies=[require("customers.write")])
def detach_identity(customer_id: int, identity_id: int, session: DbSession, principal: CurrentPrincipal):
    return schemas.Identity.model_validate(manual.detach_identity(session, principal, customer_id, identity_id))


@router.get("/customers/{customer_id}/merges", response_model=list[schemas.CustomerMerge],
            dependencies=[require("customers.read")])
def list_merges(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    return manual.list_merges(session, principal, customer_id)


@router.post("/customers/merge", response_model=schemas.CustomerMerge, status_code=201,
             dependencies=[require("customers.write")])
def merge_customers(body: schemas.MergeRequest, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return manual.merge_manually(session, principal, body.survivor_id, body.merged_id, note=body.note, clock=clock)


@router.post("/customers/{customer_id}/merges/{merge_id}/undo", response_model=schemas.CustomerMerge,
             dependencies=[require("customers.write")])
def undo_merge(customer_id: int, merge_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return manual.undo_merge(session, principal, customer_id, merge_id, clock=clock)


@router.get("/identities/lookup", response_model=customer_schemas.Customer, dependencies=[require("customers.read")])
def lookup(kind: str, value: str, session: DbSession, principal: CurrentPrincipal):
    return manual.lookup(session, principal, kind, value)


@router.get("/identity-rules", response_model=list[schemas.IdentityRule], dependencies=[require("customers.read")])
def list_rules(session: DbSession, principal: CurrentPrincipal):
    return [schemas.IdentityRule.of(rule) for rule in manual.list_rules(session, principal)]


@router.put("/identity-rules", response_model=list[schemas.IdentityRule], dependencies=[require("customers.write")])
def update_rules(body: schemas.IdentityRulesUpdate, session: DbSession, principal: CurrentPrincipal,
                 clock: AppClock):
    changes = [manual.RuleChange(rule.kind.value, rule.max_per_customer, rule.priority, rule.merge_key,
                                 rule.blocked_values) for rule in body.rules]
    return [schemas.IdentityRule.of(rule) for rule in manual.update_rules(session, principal, changes, clock=clock)]
