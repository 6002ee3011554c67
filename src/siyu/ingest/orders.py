"""Orders carried by events: a Segment e-commerce ``Order Completed`` track call becomes an order,
written through the order service's set-wise upsert like any imported or API order (so a resent
event, or the same order arriving through the order API under the same platform, changes nothing).

Mapping (Segment e-commerce spec v2): ``order_id`` → order number; ``total`` (else ``revenue``) →
amount; ``products`` → items (``quantity`` summed into the item count, the first product's
``category`` as the order's category); ``affiliation`` → shop; ``platform`` (our extension) → platform,
else the source's kind; the event's time → paid time; its ``userId`` (else ``anonymousId``) → buyer.
An event that does not describe a valid order is kept as an event and makes no order."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.order.service import upsert_orders
from siyu.order.validation import OrderDraft

ORDER_EVENTS = frozenset({"order completed"})
_PLATFORM = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_MAX_AMOUNT = Decimal("9999999999.99")
_MAX_ITEMS = 200
ORDER_SOURCE = "ingest"


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return amount if Decimal(0) <= amount <= _MAX_AMOUNT else None


def _quantity(product: dict[str, Any]) -> int:
    quantity = product.get("quantity", 1)
    return quantity if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0 else 1


def is_order_event(row: dict[str, Any]) -> bool:
    return row["type"] == "track" and (row["name"] or "").strip().lower() in ORDER_EVENTS


def order_of(row: dict[str, Any], source_kind: str) -> OrderDraft | None:
    """The order an event row describes, or ``None``."""
    if not is_order_event(row):
        return None
    properties = row["properties"]
    order_no = properties.get("order_id") if properties.get("order_id") is not None else properties.get("orderId")
    if isinstance(order_no, bool) or not isinstance(order_no, str | int) or not 1 <= len(str(order_no)) <= 64:
        return None
    amount = _amount(properties["total"] if properties.get("total") is not None else properties.get("revenue"))
    if amount is None:
        return None
    products = [p for p in properties.get("products") or [] if isinstance(p, dict)][:_MAX_ITEMS]
    platform = properties.get("platform")
    category = next((p["category"] for p in products if isinstance(p.get("category"), str)), None)
    shop = properties.get("affiliation")
    buyer_kind, buyer = ("user_id", row["user_id"]) if row["user_id"] else ("anonymous_id", row["anonymous_id"])
    return OrderDraft(
        platform=platform if isinstance(platform, str) and _PLATFORM.match(platform) else source_kind,
        shop=shop[:64] if isinstance(shop, str) else "", order_no=str(order_no), amount=amount,
        refund_amount=Decimal(0), status="paid", paid_at=row["timestamp"],
        category=category[:64] if category else None,
        item_count=sum(_quantity(p) for p in products) or 1, items=products or None,
        buyer_kind=buyer_kind, buyer_value=buyer)


def write_orders(session: Session, corp_id: int, rows: list[dict[str, Any]], source_kind: str,
                 clock: Clock) -> int:
    """Upsert the orders among ``rows``; returns how many were inserted."""
    orders = [order for order in (order_of(row, source_kind) for row in rows) if order is not None]
    if not orders:
        return 0
    return upsert_orders(session, corp_id, orders, source=ORDER_SOURCE, clock=clock).inserted
