"""Coupons: templates, issuing (idempotent, within stock and per-customer limits), redemption
against an order, voiding and expiry.

Caps hold under concurrency without locks taken by hand: the stock is one conditional UPDATE
(``issued_count = issued_count + 1 WHERE stock IS NULL OR issued_count < stock``), the per-customer
limit one conditional upsert of ``coupon_holding``, the idempotency key a unique constraint. All
three run in a savepoint: a refusal rolls back what the earlier steps counted, so a refused issue
leaves no row and no count behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.loyalty import repository
from siyu.loyalty.members import cents, ensure_daily_run, expire_loaded
from siyu.models.loyalty import Coupon, CouponHolding, CouponKind, CouponStatus, CouponTemplate
from siyu.models.order import PURCHASE_STATUSES

#: Unambiguous characters for codes read aloud or typed at a till (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
REFUSALS = ("template_not_found", "template_inactive", "template_ended", "out_of_stock", "limit_reached",
            "customer_not_found")


@dataclass(frozen=True)
class TemplateDraft:
    name: str
    kind: CouponKind
    value: Decimal
    threshold: Decimal = Decimal("0")
    description: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    stock: int | None = None
    per_customer_limit: int | None = None
    active: bool = True


def check_template(draft: TemplateDraft, *, issued_count: int = 0) -> None:
    """Refuse a template that could not be issued or redeemed as written, naming the field."""
    if draft.valid_days is None and draft.valid_until is None:
        raise InvalidInput("error.coupon_validity_missing", field="valid_days")
    if draft.valid_from is not None and draft.valid_until is not None and draft.valid_until <= draft.valid_from:
        raise InvalidInput("error.coupon_window_backwards", field="valid_until")
    if draft.valid_days is not None and draft.valid_days < 1:
        raise InvalidInput("error.loyalty_positive", field="valid_days")
    if draft.value < 0 or (draft.kind != CouponKind.gift and draft.value == 0):
        raise InvalidInput("error.loyalty_positive", field="value")
    if draft.kind == CouponKind.discount and draft.value >= 100:
        raise InvalidInput("error.coupon_discount_range", field="value")
    if draft.threshold < 0:
        raise InvalidInput("error.loyalty_negative", field="threshold")
    if draft.kind == CouponKind.amount_off and draft.threshold and draft.value > draft.threshold:
        raise InvalidInput("error.coupon_value_above_threshold", field="value")
    for name in ("stock", "per_customer_limit"):
        if getattr(draft, name) is not None and getattr(draft, name) < 1:
            raise InvalidInput("error.loyalty_positive", field=name)
    if draft.stock is not None and draft.stock < issued_count:
        raise Conflict("error.coupon_stock_below_issued", field="stock", issued=issued_count)


def create_template(session: Session, corp_id: int, draft: TemplateDraft, *, now: datetime) -> CouponTemplate:
    check_template(draft)
    fields = vars(draft) | {"value": cents(draft.value), "threshold": cents(draft.threshold)}
    template = CouponTemplate(corp_id=corp_id, issued_count=0, created_at=now, updated_at=now, **fields)
    session.add(template)
    session.flush()
    ensure_daily_run(session, now)
    return template


def update_template(session: Session, template: CouponTemplate, changes: dict, *, now: datetime) -> CouponTemplate:
    """Change the fields in ``changes``; kind and value are fixed once coupons were issued."""
    if template.issued_count and any(
            name in changes and changes[name] != getattr(template, name) for name in ("kind", "value")):
        raise Conflict("error.coupon_template_issued", field="kind" if "kind" in changes else "value")
    draft = TemplateDraft(**{name: changes.get(name, getattr(template, name))
                             for name in TemplateDraft.__dataclass_fields__})
    check_template(draft, issued_count=template.issued_count)
    for name, value in vars(draft).items():
        setattr(template, name, value)
    template.updated_at = now
    session.flush()
    return template


# -- issuing --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssueOutcome:
    """``coupon`` is the coupon (new, or the one issued earlier under the same key with
    ``created`` False) or ``None`` with ``refusal``, one of ``REFUSALS``."""

    coupon: Coupon | None
    created: bool
    refusal: str | None = None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def validity(template: CouponTemplate, now: datetime) -> tuple[datetime, datetime] | None:
    """The window of a coupon issued at ``now``: from ``now`` (or the template's start, if later)
    for ``valid_days`` days, never past the template's end. ``None`` when nothing of it is left."""
    start = max(now, template.valid_from) if template.valid_from is not None else now
    ends = [end for end in (template.valid_until,
                            start + timedelta(days=template.valid_days) if template.valid_days else None) if end]
    end = min(ends)
    return (start, end) if end > start else None


def issue_coupon(session: Session, corp_id: int, customer_id: int, template_id: int, *, source: str,
                 idempotency_key: str, now: datetime, source_ref: str | None = None,
                 note: str | None = None) -> IssueOutcome:
    """Issue one coupon of ``template_id`` to ``customer_id`` (see the module docstring)."""
    session.flush()
    existing = repository.coupon_by_key(session, corp_id, idempotency_key)
    if existing is not None:
        return IssueOutcome(existing, False)
    template = repository.template_of_corp(session, corp_id, template_id)
    if template is None:
        return IssueOutcome(None, False, "template_not_found")
    if not repository.live_customer_ids(session, corp_id, [customer_id]):
        return IssueOutcome(None, False, "customer_not_found")
    if not template.active:
        return IssueOutcome(None, False, "template_inactive")
    window = validity(template, now)
    if window is None:
        return IssueOutcome(None, False, "template_ended")
    savepoint = session.begin_nested()
    refusal = _count_issue(session, corp_id, template, customer_id)
    if refusal is None:
        coupon = Coupon(corp_id=corp_id, template_id=template.id, customer_id=customer_id, code=new_code(),
                        status=CouponStatus.issued, issued_at=now, valid_from=window[0], valid_until=window[1],
                        source_kind=source, source_ref=source_ref, idempotency_key=idempotency_key, note=note,
                        created_at=now, updated_at=now)
        session.add(coupon)
        try:
            session.flush()
        except IntegrityError:
            # Another caller issued under this key meanwhile (or, once in 10^17, the code repeated).
            savepoint.rollback()
            expire_loaded(session, CouponTemplate)
            existing = repository.coupon_by_key(session, corp_id, idempotency_key)
            return IssueOutcome(existing, False) if existing else IssueOutcome(None, False, "out_of_stock")
        savepoint.commit()
        expire_loaded(session, CouponTemplate)
        return IssueOutcome(coupon, True)
    savepoint.rollback()
    expire_loaded(session, CouponTemplate)
    # A concurrent caller with the same key may have taken the last unit or the customer's last slot.
    existing = repository.coupon_by_key(session, corp_id, idempotency_key)
    return IssueOutcome(existing, False) if existing else IssueOutcome(None, False, refusal)


def _count_issue(session: Session, corp_id: int, template: CouponTemplate, customer_id: int) -> str | None:
    """Count one more issue against the per-customer limit and the stock; the refusal, if any."""
    if template.per_customer_limit is not None:
        holdings = CouponHolding.__table__
        statement = dialect_insert(session, holdings).values(
            template_id=template.id, customer_id=customer_id, corp_id=corp_id, issued_count=1)
        statement = statement.on_conflict_do_update(
            index_elements=["template_id", "customer_id"],
            set_={"issued_count": holdings.c.issued_count + 1},
            where=holdings.c.issued_count < template.per_customer_limit,
        ).returning(holdings.c.issued_count)
        if session.execute(statement).scalar_one_or_none() is None:
            return "limit_reached"
    counted = session.execute(
        update(CouponTemplate).where(CouponTemplate.id == template.id,
                                     or_(CouponTemplate.stock.is_(None),
                                         CouponTemplate.issued_count < CouponTemplate.stock))
        .values(issued_count=CouponTemplate.issued_count + 1)
        .execution_options(synchronize_session=False)).rowcount
    return None if counted else "out_of_stock"


# -- redemption, voiding, expiry ------------------------------------------------------------------------

def redeem_coupon(session: Session, corp_id: int, coupon_id: int, order_id: int, *, now: datetime) -> Coupon:
    """Redeem an issued, valid coupon against a purchase order of the same customer that meets the
    template's threshold. Raises ``NotFound``/``Conflict`` naming the reason; changes nothing then."""
    coupon = repository.coupon_of_corp(session, corp_id, coupon_id)
    if coupon is None:
        raise NotFound("error.coupon_not_found")
    order = repository.order_of_corp(session, corp_id, order_id)
    if order is None:
        raise NotFound("error.loyalty_order_not_found", field="order_id")
    template = repository.template_of_corp(session, corp_id, coupon.template_id)
    if coupon.status != CouponStatus.issued:
        raise Conflict("error.coupon_not_redeemable", status=coupon.status.value)
    if now < coupon.valid_from:
        raise Conflict("error.coupon_not_yet_valid")
    if now >= coupon.valid_until:
        raise Conflict("error.coupon_expired")
    if order.customer_id != coupon.customer_id:
        raise Conflict("error.coupon_other_customer", field="order_id")
    if order.status not in PURCHASE_STATUSES:
        raise Conflict("error.coupon_order_not_purchase", field="order_id", status=order.status)
    if template is not None and order.amount < template.threshold:
        raise Conflict("error.coupon_below_threshold", field="order_id", threshold=str(template.threshold))
    if repository.coupon_on_order(session, order.id) is not None:
        raise Conflict("error.coupon_order_taken", field="order_id")
    savepoint = session.begin_nested()
    try:
        changed = session.execute(
            update(Coupon).where(Coupon.id == coupon.id, Coupon.status == CouponStatus.issued)
            .values(status=CouponStatus.redeemed, redeemed_at=now, order_id=order.id, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
    except IntegrityError as error:
        savepoint.rollback()
        raise Conflict("error.coupon_order_taken", field="order_id") from error
    if not changed:
        savepoint.rollback()
        raise Conflict("error.coupon_not_redeemable", status="redeemed")
    savepoint.commit()
    session.refresh(coupon)
    return coupon


def void_coupon(session: Session, corp_id: int, coupon_id: int, *, now: datetime) -> Coupon:
    """Void an issued coupon (issued in error, or its purpose withdrawn)."""
    coupon = repository.coupon_of_corp(session, corp_id, coupon_id)
    if coupon is None:
        raise NotFound("error.coupon_not_found")
    changed = session.execute(
        update(Coupon).where(Coupon.id == coupon.id, Coupon.status == CouponStatus.issued)
        .values(status=CouponStatus.void, voided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(coupon)
    if not changed:
        raise Conflict("error.coupon_not_voidable", status=coupon.status.value)
    return coupon


def expire_coupons(session: Session, corp_id: int, *, now: datetime) -> int:
    """Issued coupons whose window has ended become expired. Returns how many."""
    changed = session.execute(
        update(Coupon).where(Coupon.corp_id == corp_id, Coupon.status == CouponStatus.issued,
                             Coupon.valid_until <= now)
        .values(status=CouponStatus.expired, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    expire_loaded(session, Coupon)
    return changed


def coupon_codes(session: Session, corp_id: int, customer_ids: Sequence[int], template_id: int, *,
                 now: datetime) -> dict[int, str]:
    """The newest usable code of ``template_id`` per customer, for message personalisation."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Coupon.customer_id, Coupon.code).where(
            Coupon.corp_id == corp_id, Coupon.template_id == template_id, Coupon.status == CouponStatus.issued,
            Coupon.valid_until > now, repository.among(session, Coupon.customer_id, list(customer_ids)))
        .order_by(Coupon.customer_id, Coupon.issued_at, Coupon.id))
    return {customer_id: code for customer_id, code in rows}
