"""Orders: the set-wise upsert every order goes through (file imports and the REST API alike), the
rules of the REST API, and order imports as records.

An order is unique per (corp, platform, shop, order number). Writing a batch of orders:

1. orders already stored and unchanged (same status, amount and refund) are left alone — so a file
   imported twice changes nothing the second time;
2. new orders link their buyer (platform account, phone, member number, unionid) to a customer
   through identity resolution, which creates or merges customers as the corp's rules allow;
3. one ``INSERT … ON CONFLICT (corp_id, platform, shop, order_no) DO UPDATE … WHERE`` writes the
   new and the changed orders; the ``WHERE`` updates a stored row only when status, amount or
   refund differ, so two imports racing on the same orders cannot undo each other;
4. the traits of every customer whose orders were inserted or changed are refreshed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from siyu.customer.traits import mark_customers_changed
from siyu.identity.service import IdentityClaim, resolve_customers
from siyu.kit.clock import Clock
from siyu.kit.errors import Forbidden, NotFound
from siyu.kit.i18n import translate
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.models.order import OrderImport
from siyu.order import repository, schemas
from siyu.order.presets import Preset, check_mapping, preset_for
from siyu.order.validation import OrderDraft

IMPORT_JOB = "order.import"
#: why identity resolution ran, as recorded in merge history
RESOLUTION_REASON = "order"
#: problems kept on the import row for the report (the rejects file has them all)
SAMPLE_SIZE = 50

Key = tuple[str, str, str]


@dataclass
class UpsertOutcome:
    """What a batch of orders did: counts, the outcome per order, the customers touched."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    outcomes: dict[Key, str] = field(default_factory=dict)
    customer_ids: set[int] = field(default_factory=set)


def _claim(draft: OrderDraft) -> IdentityClaim:
    identities = [(kind, value) for kind, value in (
        (draft.buyer_kind, draft.buyer_value), ("phone", draft.phone), ("member_no", draft.member_no),
        ("unionid", draft.unionid)) if kind and value]
    profile = {key: value for key, value in (("name", draft.name), ("phone", draft.phone)) if value}
    return IdentityClaim(identities=identities, profile=profile or None)


def _row(corp_id: int, draft: OrderDraft, customer_id: int | None, source: str, now: datetime) -> tuple:
    """The order as a row in ``repository.ORDER_COLUMNS`` order."""
    return (corp_id, customer_id, draft.platform, draft.shop, draft.order_no, draft.store_id, draft.staff_id,
            draft.status, draft.category, draft.amount, draft.item_count, draft.paid_at, draft.refund_amount,
            draft.buyer_kind, draft.buyer_value, draft.phone, draft.items, draft.shipped_at, source, now, now)


def upsert_orders(session: Session, corp_id: int, drafts: list[OrderDraft], *, source: str,
                  clock: Clock, refresh_statistics: bool = False, refresh_traits: bool = True) -> UpsertOutcome:
    """Write ``drafts`` (see the module docstring). An order number given twice: the last wins and
    the earlier one counts as unchanged. ``refresh_statistics``: a bulk load grew the tables a lot;
    let the planner know. ``refresh_traits=False``: the caller refreshes the traits of
    ``outcome.customer_ids`` itself (a file import does it once for all its chunks). Only flushes."""
    latest: dict[Key, OrderDraft] = {}
    for draft in drafts:
        latest[(draft.platform, draft.shop, draft.order_no)] = draft
    outcome = UpsertOutcome(unchanged=len(drafts) - len(latest))
    by_shop: dict[tuple[str, str], list[OrderDraft]] = defaultdict(list)
    for draft in latest.values():
        by_shop[(draft.platform, draft.shop)].append(draft)
    new: list[OrderDraft] = []
    changed: list[tuple[OrderDraft, int | None]] = []
    for (platform, shop), group in by_shop.items():
        stored = repository.existing_orders(session, corp_id, platform, shop, [d.order_no for d in group])
        for draft in group:
            key = (platform, shop, draft.order_no)
            before = stored.get(draft.order_no)
            if before is None:
                new.append(draft)
                outcome.outcomes[key] = "inserted"
            elif (before.status, before.amount, before.refund_amount) != (
                    draft.status, draft.amount, draft.refund_amount):
                changed.append((draft, before.customer_id))
                outcome.outcomes[key] = "updated"
            else:
                outcome.unchanged += 1
                outcome.outcomes[key] = "unchanged"
    if not new and not changed:
        return outcome
    customer_ids = resolve_customers(session, corp_id, [_claim(d) for d in new], reason=RESOLUTION_REASON,
                                     clock=clock) if new else []
    now = clock.now()
    rows = [_row(corp_id, d, c, source, now) for d, c in zip(new, customer_ids, strict=True)]
    rows += [_row(corp_id, d, c, source, now) for d, c in changed]
    repository.write_orders(session, rows)
    outcome.inserted, outcome.updated = len(new), len(changed)
    outcome.customer_ids = {c for c in customer_ids if c is not None} | {c for _, c in changed if c is not None}
    if refresh_statistics:
        repository.refresh_statistics(session)
    if refresh_traits and outcome.customer_ids:
        mark_customers_changed(session, corp_id, outcome.customer_ids, clock=clock)
    return outcome


#: customers per transaction when an import refreshes the traits it owes
TRAIT_BATCH = 20_000


def refresh_traits(sessions, corp_id: int, customer_ids: set[int], clock: Clock) -> None:
    """Refresh the traits of ``customer_ids`` in transactions of ``TRAIT_BATCH`` customers (a long
    import owes many; on SQLite one transaction would hold the write lock for all of them)."""
    ordered = sorted(customer_ids)
    for start in range(0, len(ordered), TRAIT_BATCH):
        with sessions() as session:
            mark_customers_changed(session, corp_id, ordered[start:start + TRAIT_BATCH], clock=clock)


# --- the REST API ---------------------------------------------------------------------------------

def _resolve_places(session: Session, principal: Principal, orders: list[schemas.OrderIn]
                    ) -> tuple[list[int | None], list[int | None], list[str]]:
    """Store id, staff id and shop of each order, all within the principal's scope. A store
    manager's every order must name one of their stores; a store or staff member outside the
    principal's scope is refused as not found (it is, to them), naming the order's field."""
    store_ids = repository.stores_in_scope(session, principal, [o.store_id for o in orders if o.store_id])
    store_codes = repository.stores_in_scope_by_code(session, principal,
                                                     [o.store_code for o in orders if o.store_code])
    staff_ids = repository.staff_in_scope(session, principal, [o.staff_id for o in orders if o.staff_id])
    staff_userids = repository.staff_in_scope_by_userid(session, principal,
                                                        [o.staff_userid for o in orders if o.staff_userid])
    stores: list[int | None] = []
    staff: list[int | None] = []
    shops: list[str] = []
    for index, order in enumerate(orders):
        prefix = f"orders.{index}."
        store_id = order.store_id
        if store_id is not None and store_id not in store_ids:
            raise NotFound("order.error.store_not_found", field=prefix + "store_id")
        if order.store_code is not None:
            if order.store_code not in store_codes:
                raise NotFound("order.error.store_not_found", field=prefix + "store_code")
            if store_id is not None and store_id != store_codes[order.store_code]:
                raise NotFound("order.error.store_not_found", field=prefix + "store_code")
            store_id = store_codes[order.store_code]
        if store_id is None and not principal.corp_wide:
            raise Forbidden("order.error.store_required", field=prefix + "store_id")
        staff_id = order.staff_id
        if staff_id is not None and staff_id not in staff_ids:
            raise NotFound("order.error.staff_not_found", field=prefix + "staff_id")
        if order.staff_userid is not None:
            if order.staff_userid not in staff_userids:
                raise NotFound("order.error.staff_not_found", field=prefix + "staff_userid")
            staff_id = staff_userids[order.staff_userid]
        stores.append(store_id)
        staff.append(staff_id)
        # a till's order numbers are unique per store: a POS order's blank shop is its store code
        shop = order.shop
        if not shop and order.platform == "pos" and order.store_code:
            shop = order.store_code
        shops.append(shop)
    return stores, staff, shops


def _draft(order: schemas.OrderIn, shop: str, store_id: int | None, staff_id: int | None) -> OrderDraft:
    from siyu.identity.service import normalise_identity

    refund, status = order.refund_amount, order.status
    if status == "refunded" and refund == 0:
        refund = order.amount
    elif refund == order.amount and order.amount > 0:
        status = "refunded"
    buyer = normalise_identity(order.buyer_kind, order.buyer_value) if order.buyer_kind else None
    return OrderDraft(
        platform=order.platform, shop=shop, order_no=order.order_no, amount=order.amount, refund_amount=refund,
        status=status, paid_at=order.paid_at, shipped_at=order.shipped_at, category=order.category,
        item_count=order.item_count, items=order.items, buyer_kind=order.buyer_kind if buyer else None,
        buyer_value=buyer, phone=normalise_identity("phone", order.phone) if order.phone else None,
        name=order.name, member_no=normalise_identity("member_no", order.member_no) if order.member_no else None,
        unionid=normalise_identity("unionid", order.unionid) if order.unionid else None,
        store_id=store_id, staff_id=staff_id,
    )


def submit_orders(session: Session, principal: Principal, orders: list[schemas.OrderIn],
                  clock: Clock) -> schemas.OrderSubmissionResult:
    """Orders in real time (a till, the mini program): idempotent on (platform, shop, order
    number), refunds and status changes applied. Refused as a whole if any order is refused."""
    stores, staff, shops = _resolve_places(session, principal, orders)
    drafts = [_draft(o, shop, store, person) for o, shop, store, person in zip(orders, shops, stores, staff,
                                                                                strict=True)]
    outcome = upsert_orders(session, principal.corp_id, drafts, source="api", clock=clock)
    session.flush()
    by_shop: dict[tuple[str, str], list[str]] = defaultdict(list)
    for draft in drafts:
        by_shop[(draft.platform, draft.shop)].append(draft.order_no)
    stored = {(platform, shop, order_no): ids for (platform, shop), numbers in by_shop.items()
              for order_no, ids in repository.order_ids(session, principal.corp_id, platform, shop,
                                                        numbers).items()}
    results = []
    for draft in drafts:
        key = (draft.platform, draft.shop, draft.order_no)
        order_id, customer_id = stored[key]
        results.append(schemas.OrderOutcome(id=order_id, platform=draft.platform, shop=draft.shop,
                                            order_no=draft.order_no, customer_id=customer_id,
                                            outcome=outcome.outcomes[key]))
    return schemas.OrderSubmissionResult(inserted=outcome.inserted, updated=outcome.updated,
                                         unchanged=outcome.unchanged, orders=results)


# --- imports --------------------------------------------------------------------------------------

def check_import_request(principal: Principal, platform: str, mapping: object) -> tuple[Preset, dict[str, str]]:
    """Refuse an import before its file is stored: only corp-wide roles import (an import reaches
    the whole corp), the platform needs a preset, the mapping must name known fields."""
    if not principal.corp_wide or not principal.can("customers.write"):
        raise Forbidden("order.error.import_corp_wide")
    return preset_for(platform), check_mapping(mapping)


def create_import(session: Session, principal: Principal | None, corp_id: int, *, preset: Preset, shop: str,
                  filename: str, stored_path: Path, mapping: dict[str, str], clock: Clock,
                  enqueue_job: bool = True, rejects_dir: Path | None = None) -> OrderImport:
    """The import record (and, unless the caller runs it itself, its job); its rejects file goes
    to ``rejects_dir`` (default: next to the stored file). Only flushes."""
    record = OrderImport(corp_id=corp_id, platform=preset.platform, shop=shop, filename=filename[:255],
                         stored_path=str(stored_path), mapping=mapping, status="queued", rejects_sample=[],
                         created_by_user_id=principal.user_id if principal else None)
    session.add(record)
    session.flush()
    record.rejects_path = str((rejects_dir or stored_path.parent) / f"{record.id}-rejects.csv")
    if enqueue_job:
        enqueue(session, IMPORT_JOB, {"import_id": record.id}, corp_id=corp_id, key=f"{IMPORT_JOB}:{record.id}",
                clock=clock)
    return record


def encode_error(key: str, **params: object) -> str:
    """An import's failure as stored: a catalogue key and its parameters (shown in the reader's
    language)."""
    return json.dumps({"key": key, "params": params}, ensure_ascii=False)


def error_message(record: OrderImport, language: str) -> str | None:
    if not record.error:
        return None
    try:
        stored = json.loads(record.error)
        return translate(stored["key"], language, **stored.get("params", {}))
    except (ValueError, KeyError, TypeError):
        return record.error


def describe_import(record: OrderImport, language: str) -> schemas.OrderImportReport:
    """The import's report in ``language``."""
    sample = [schemas.RejectedValue(row=item["row"], column=item["column"], reason_key=item["reason_key"],
                                    reason=translate(item["reason_key"], language), value=item["value"])
              for item in record.rejects_sample or []]
    return schemas.OrderImportReport(
        id=record.id, platform=record.platform, shop=record.shop, filename=record.filename, status=record.status,
        mapping=record.mapping or {}, total_rows=record.total_rows, inserted_rows=record.inserted_rows,
        updated_rows=record.updated_rows, unchanged_rows=record.unchanged_rows,
        rejected_rows=record.rejected_rows, rejects_sample=sample, error=error_message(record, language),
        has_rejects=bool(record.rejected_rows and record.rejects_path), created_at=record.created_at,
        started_at=record.started_at, finished_at=record.finished_at,
    )


def rejects_file(record: OrderImport) -> Path:
    """The rejects CSV of a finished import with rejects; 404 otherwise."""
    path = Path(record.rejects_path) if record.rejects_path else None
    if record.status != "done" or not record.rejected_rows or path is None or not path.exists():
        raise NotFound("order.error.no_rejects")
    return path
