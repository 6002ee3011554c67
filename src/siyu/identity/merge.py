"""Merging one customer into another, and undoing it (a split).

A merge re-points every row that hangs off the merged customer — identities, relations (with their
tags), orders, events, customer tags, tag history, group memberships and any table added later with
a ``customer_id`` foreign key — to the survivor, and records in ``CustomerMerge.moved`` exactly
which row ids moved, table by table. Where the survivor already has the row a unique constraint
allows once (a relation to the same staff member, the same customer tag), the merged customer's row
stays where it is and is listed under ``<table>:kept`` so the history shows it. Per-customer
aggregates (``customer_trait``) are deleted for the merged customer and recomputed for the survivor.
Profile fields the survivor lacks are copied from the merged customer (``customer:filled``).

An undo moves back exactly the listed rows that are still on the survivor — rows created on the
survivor after the merge stay there — restores the copied profile fields and clears
``merged_into_id``. It is refused while the survivor has itself been merged into a third customer
(that later merge holds the moved rows and must be undone first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from siyu.identity import repository
from siyu.kit.clock import Clock
from siyu.kit.db import Base
from siyu.kit.errors import Conflict
from siyu.kit.tenancy import Principal
from siyu.models.customer import Customer
from siyu.models.identity import CustomerMerge

#: Tables whose customer_id is not "a row of the customer": the merge history itself, and
#: per-customer aggregates keyed by customer_id, which are recomputed instead of moved.
_NOT_MOVED = {"customer", "customer_merge"}
_AGGREGATES = {"customer_trait"}
FILLED_KEY = "customer:filled"
KEPT_SUFFIX = ":kept"
#: Profile fields a survivor without them takes from the merged customer.
_FILLABLE = ("name", "gender", "phone", "city", "birthday", "home_store_id", "first_seen_at")


@dataclass(frozen=True)
class MovableTable:
    table: Table
    #: columns that, with customer_id, must stay unique (rows that would collide are kept)
    dedupe: tuple[str, ...]


@lru_cache
def movable_tables() -> tuple[MovableTable, ...]:
    """Every table with a ``customer_id`` referencing customer.id and its own ``id``, found from the
    schema so a table added later moves with a merge without a change here."""
    import siyu.models  # noqa: F401  (registers every table)

    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_MOVED | _AGGREGATES or "customer_id" not in table.c or "id" not in table.c:
            continue
        if not any(fk.column.table.name == "customer" for fk in table.c.customer_id.foreign_keys):
            continue
        dedupe: tuple[str, ...] = ()
        for constraint in table.constraints:
            names = [c.name for c in getattr(constraint, "columns", [])]
            if constraint.__class__.__name__ == "UniqueConstraint" and "customer_id" in names:
                dedupe = tuple(n for n in names if n != "customer_id")
        found.append(MovableTable(table, dedupe))
    return tuple(found)


def _aggregate_tables() -> list[Table]:
    return [table for table in Base.metadata.sorted_tables if table.name in _AGGREGATES]


def mark_changed(session: Session, corp_id: int, customer_ids: list[int], clock: Clock) -> None:
    """Ask trait maintenance to recompute these customers (if that module is installed)."""
    try:
        from siyu.customer.traits import mark_customers_changed
    except ImportError:  # trait maintenance is optional for identity resolution
        return
    mark_customers_changed(session, corp_id, customer_ids, clock=clock)


@dataclass(frozen=True)
class MergeRequest:
    """Merge ``merged_id`` into ``survivor_id`` (both live customers of the corp)."""

    survivor_id: int
    merged_id: int
    kind: str | None = None
    value: str | None = None
    note: str | None = None


def merge_customers(session: Session, corp_id: int, requests: list[MergeRequest], *, reason: str, clock: Clock,
                    refresh_traits: bool = True) -> list[int]:
    """Carry out ``requests`` in order and record each; returns the ``CustomerMerge`` ids.

    Set-based: the requests are cut into waves in which no customer appears twice (a later request
    involving a customer of an earlier one goes to a later wave, so chains keep their order), and
    each wave moves every table's rows with one UPDATE."""
    last_wave: dict[int, int] = {}
    waves: list[list[int]] = []
    for position, request in enumerate(requests):
        wave = 1 + max(last_wave.get(request.survivor_id, -1), last_wave.get(request.merged_id, -1))
        last_wave[request.survivor_id] = last_wave[request.merged_id] = wave
        if wave == len(waves):
            waves.append([])
        waves[wave].append(position)
    merge_ids: dict[int, int] = {}
    for wave in waves:
        for start in range(0, len(wave), _WAVE):
            chunk = [requests[position] for position in wave[start:start + _WAVE]]
            for position, merge_id in zip(wave[start:start + _WAVE], _merge_wave(session, corp_id, chunk, reason, clock),
                                          strict=True):
                merge_ids[position] = merge_id
    if refresh_traits and requests:
        mark_changed(session, corp_id, sorted({c for r in requests for c in (r.survivor_id, r.merged_id)}), clock)
    return [merge_ids[position] for position in range(len(requests))]


#: merges per statement: bounds the parameters of the CASE that maps merged → survivor
_WAVE = 500


def _merge_wave(session: Session, corp_id: int, requests: list[MergeRequest], reason: str, clock: Clock) -> list[int]:
    survivor_of = {r.merged_id: r.survivor_id for r in requests}
    merged_of = {r.survivor_id: r.merged_id for r in requests}
    moved: dict[int, dict[str, Any]] = {r.merged_id: {} for r in requests}
    for movable in movable_tables():
        for row_id, survivor_id in repository.move_rows_of(session, movable.table, corp_id, survivor_of,
                                                           movable.dedupe):
            moved[merged_of[survivor_id]].setdefault(movable.table.name, []).append(row_id)
        if movable.dedupe:
            for row_id, merged_id in repository.rows_of(session, movable.table, corp_id, list(survivor_of)):
                moved[merged_id].setdefault(movable.table.name + KEPT_SUFFIX, []).append(row_id)
    for table in _aggregate_tables():
        repository.delete_rows_of(session, table, corp_id, list(survivor_of))
    profiles = repository.profile_fields(session, corp_id, [*survivor_of, *merged_of], _FILLABLE)
    fills: dict[int, dict[str, Any]] = {}
    for request in requests:
        survivor, merged = profiles[request.survivor_id], profiles[request.merged_id]
        filled = [name for name in _FILLABLE if survivor[name] is None and merged[name] is not None]
        if filled:
            fills[request.survivor_id] = {name: merged[name] for name in filled}
            moved[request.merged_id][FILLED_KEY] = filled
    repository.set_customer_fields(session, corp_id, fills)
    repository.mark_merged(session, corp_id, survivor_of)
    now = clock.now()
    records = [CustomerMerge(corp_id=corp_id, survivor_id=r.survivor_id, merged_id=r.merged_id, reason=reason[:64],
                             identity_kind=r.kind, identity_value=r.value, note=r.note, merged_at=now,
                             moved={table: sorted(ids) if table != FILLED_KEY else ids
                                    for table, ids in moved[r.merged_id].items()})
               for r in requests]
    merge_ids = repository.add_merges(session, records)
    # Customer objects this session holds were changed behind the ORM's back
    for customer in [o for o in session.identity_map.values() if isinstance(o, Customer)]:
        if customer.id in survivor_of or customer.id in merged_of:
            session.expire(customer)
    return merge_ids


def absorb_fresh(session: Session, corp_id: int, survivor_id: int, fresh_id: int) -> None:
    """Fold a customer created moments ago in this transaction (it lost a race for an identity)
    into ``survivor_id``: nothing else knows it yet, so it is removed instead of merged."""
    identity_table = Base.metadata.tables["identity"]
    repository.move_rows(session, identity_table, corp_id, fresh_id, survivor_id, ())
    repository.delete_unused_customers(session, corp_id, [fresh_id])


def undo_merge(session: Session, principal: Principal, merge: CustomerMerge, survivor: Customer, merged: Customer,
               *, clock: Clock, now: datetime) -> dict[str, list[int]]:
    """Move back what ``merge`` moved; returns the ids moved back per table. The caller has locked
    the merge and both customers and checked that the undo is allowed (``check_undo``)."""
    restored: dict[str, list[int]] = {}
    tables = {movable.table.name: movable.table for movable in movable_tables()}
    for name, ids in (merge.moved or {}).items():
        if name not in tables or not ids:
            continue
        back = repository.move_back(session, tables[name], principal.corp_id, ids, survivor.id, merged.id)
        if back:
            restored[name] = back
    for name in (merge.moved or {}).get(FILLED_KEY, []):
        # the field came from the merged customer: if the survivor still has that value, it goes back
        if name in _FILLABLE and getattr(survivor, name) == getattr(merged, name):
            setattr(survivor, name, None)
    merged.merged_into_id = None
    merge.undone_at = now
    merge.undone_by_user_id = principal.user_id or None
    session.flush()
    mark_changed(session, principal.corp_id, [survivor.id, merged.id], clock)
    return restored


def check_undo(session: Session, principal: Principal, merge: CustomerMerge, survivor: Customer,
               merged: Customer) -> None:
    """Refuse an undo that is done already or that a later merge depends on."""
    if merge.undone_at is not None:
        raise Conflict("error.merge_already_undone", merge_id=merge.id)
    if survivor.merged_into_id is not None:
        later = repository.open_merge_of(session, principal, survivor.id)
        raise Conflict("error.merge_has_later_merge", merge_id=merge.id,
                       later_merge_id=later.id if later else 0, customer_id=survivor.id)
    if merged.merged_into_id != survivor.id:
        raise Conflict("error.merge_not_current", merge_id=merge.id)
