"""Placeholders in message text and the facts they are filled from (set-based, one query per kind)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.kit.errors import InvalidInput
from siyu.models import Customer, Department, Order, Relation, RelationStatus, Staff

CUSTOMER_PLACEHOLDERS = ("customer_name", "coupon_code", "points", "level", "order_count", "last_order_at",
                         "last_order_amount")
STAFF_PLACEHOLDERS = ("staff_name", "store")
PLACEHOLDERS = CUSTOMER_PLACEHOLDERS + STAFF_PLACEHOLDERS
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
CHUNK = 5000


def placeholders_in(text: str) -> list[str]:
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def validate_text(text: str, *, field: str, allowed: Sequence[str] = PLACEHOLDERS,
                  refusal: str = "error.message_placeholder_unknown") -> None:
    """Refuse a placeholder that is not ``allowed``, naming it and the field."""
    for name in placeholders_in(text):
        if name not in allowed:
            raise InvalidInput(refusal, field=field, placeholder=name)


def render(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), text)


def staff_values(session: Session, corp_id: int, staff_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """``staff_name`` and ``store`` (the staff member's department) per staff member."""
    rows = session.execute(select(Staff.id, Staff.name, Department.name)
                           .outerjoin(Department, Department.id == Staff.department_id)
                           .where(Staff.corp_id == corp_id, Staff.id.in_(list(staff_ids))))
    return {staff_id: {"staff_name": name, "store": store or ""} for staff_id, name, store in rows}


def values_for(session: Session, corp_id: int, customer_ids: Sequence[int], *, now: datetime,
               staff_id: int | None = None, coupon_template_id: int | None = None) -> dict[int, dict[str, str]]:
    """Every placeholder's value per customer. ``staff_id`` picks whose remark and name are used;
    without it, the customer's most recently added active relation."""
    ids = sorted(set(customer_ids))
    values: dict[int, dict[str, str]] = {customer_id: {} for customer_id in ids}
    serving: dict[int, tuple[int, str | None]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for customer_id, name, store in session.execute(
                select(Customer.id, Customer.name, Department.name)
                .outerjoin(Department, Department.id == Customer.home_store_id)
                .where(Customer.corp_id == corp_id, Customer.id.in_(chunk))):
            values[customer_id].update(customer_name=name or "", store=store or "")
        relations = (select(Relation.customer_id, Relation.staff_id, Relation.remark)
                     .where(Relation.corp_id == corp_id, Relation.customer_id.in_(chunk),
                            Relation.status == RelationStatus.active)
                     .order_by(Relation.added_at, Relation.id))
        if staff_id is not None:
            relations = relations.where(Relation.staff_id == staff_id)
        for customer_id, relation_staff, remark in session.execute(relations):
            serving[customer_id] = (relation_staff, remark)
        for customer_id, count, last_at, last_amount in session.execute(_order_facts(corp_id, chunk)):
            values[customer_id].update(order_count=str(count), last_order_at=_date(last_at),
                                       last_order_amount=f"{last_amount:.2f}" if last_amount is not None else "")
    staff = staff_values(session, corp_id, {s for s, _ in serving.values()})
    for customer_id, (relation_staff, remark) in serving.items():
        if remark:
            values[customer_id]["customer_name"] = remark
        values[customer_id].update({k: v for k, v in staff.get(relation_staff, {}).items() if v})
    for customer_id, facts in _loyalty_values(session, corp_id, ids, now, coupon_template_id).items():
        values[customer_id].update(facts)
    return values


def preview(session: Session, corp_id: int, text: str, customer_id: int, *, now: datetime,
            staff_id: int | None = None) -> str:
    """The text as ``customer_id`` would read it."""
    return render(text, values_for(session, corp_id, [customer_id], now=now, staff_id=staff_id)
                  .get(customer_id, {}))


def _order_facts(corp_id: int, customer_ids: Sequence[int]):
    last = (select(Order.customer_id, func.count().label("n"), func.max(Order.paid_at).label("last_at"))
            .where(Order.corp_id == corp_id, Order.customer_id.in_(customer_ids))
            .group_by(Order.customer_id).subquery())
    amount = (select(func.max(Order.amount)).where(Order.corp_id == corp_id, Order.customer_id == last.c.customer_id,
                                                   Order.paid_at == last.c.last_at).scalar_subquery())
    return select(last.c.customer_id, last.c.n, last.c.last_at, amount)


def _date(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def _loyalty_values(session: Session, corp_id: int, customer_ids: list[int], now: datetime,
                    coupon_template_id: int | None) -> dict[int, dict[str, str]]:
    """Points, level and coupon codes come from the loyalty domain; without it they render empty."""
    found: dict[int, dict[str, str]] = {}
    try:
        from siyu.loyalty.members import member_facts
    except ImportError:  # the loyalty domain is optional at this layer
        return found
    for customer_id, facts in member_facts(session, corp_id, customer_ids, now=now).items():
        found.setdefault(customer_id, {}).update(points=str(facts.points_balance), level=facts.level_name or "")
    if coupon_template_id is not None:
        try:
            from siyu.loyalty.coupons import coupon_codes
        except ImportError:
            return found
        for customer_id, code in coupon_codes(session, corp_id, customer_ids, coupon_template_id).items():
            found.setdefault(customer_id, {})["coupon_code"] = code
    return found
