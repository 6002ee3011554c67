"""Order binding (订单绑定): a customer proves an order is theirs — the order number plus the last four
digits of the receiver's phone — and siyu links the buyer to the customer and rewards them.

The number arrives in a chat message (``bind_from_message``: the session-archive feed, or the staff
member's sidebar), or in the public H5 form (``h5``). Matching: the corp's order with that number
(and platform, when given; a number found on two platforms must name it), whose phone ends with the
digits given. Then the buyer identity of the order (``taobao_buyer``, ``jd_pin`` …) is resolved
together with the customer's WeCom identity through ``identity.service`` — which merges the buyer's
customer into this one when the corp's rules allow — and the order points at the survivor. An order
binds once (a unique constraint; a second customer is refused). The reward is a red packet for
``order_binding:<order id>`` within the limits; a reward refused by a limit leaves the binding and no
ledger entry. A new binding is also recorded as the customer's event ``Order Bound`` (``BOUND_EVENT``),
which journeys wait for (the welcome series) and segments can count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.identity.service import resolve_customer, survivor_of
from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.models.acquisition import OrderBinding
from siyu.models.customer import Identity, IdentityKind, Relation, RelationStatus
from siyu.models.event import Event
from siyu.models.order import Order
from siyu.red_packet import service as red_packets

VIA = ("chat", "sidebar", "h5")
_ORDER_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?=[0-9A-Za-z-]*\d{6})[0-9A-Za-z-]{8,40}(?![0-9A-Za-z])")
_PHONE_TAIL = re.compile(r"(?:尾号|后四位|手机|电话|tail)\D{0,4}(\d{4})(?!\d)", re.IGNORECASE)


@dataclass
class BindingResult:
    binding: OrderBinding
    order: Order
    customer_id: int
    #: the reward, when one was granted (or granted before)
    red_packet_id: int | None
    #: the limit that refused the reward, if any
    reward_refused: str | None = None
    created: bool = True


def order_numbers_in(text: str) -> list[str]:
    """Candidate order numbers in a message: 8–40 letters, digits or dashes with six digits in a row."""
    return [m for m in _ORDER_NUMBER.findall(text or "") if not (m.isdigit() and len(m) == 11 and m[0] == "1")]


def phone_tail_in(text: str) -> str | None:
    found = _PHONE_TAIL.search(text or "")
    return found.group(1) if found else None


def _order(session: Session, corp_id: int, order_no: str, platform: str | None) -> Order:
    statement = select(Order).where(Order.corp_id == corp_id, Order.order_no == order_no)
    if platform:
        statement = statement.where(Order.platform == platform)
    found = list(session.scalars(statement.limit(3)))
    if not found:
        raise NotFound("acquisition.error.order_not_found", field="order_no")
    if len({order.platform for order in found}) > 1:
        raise Conflict("acquisition.error.order_ambiguous", field="platform")
    if len(found) > 1:
        raise Conflict("acquisition.error.order_ambiguous_shop", field="order_no")
    return found[0]


def _serving_staff(session: Session, corp_id: int, customer_id: int) -> int | None:
    return session.scalar(select(Relation.staff_id).where(
        Relation.corp_id == corp_id, Relation.customer_id == customer_id, Relation.status == RelationStatus.active)
        .order_by(Relation.added_at.desc()).limit(1))


def _link_buyer(session: Session, corp_id: int, customer_id: int, order: Order, clock: Clock) -> int:
    wecom_ids = list(session.scalars(select(Identity.value).where(
        Identity.corp_id == corp_id, Identity.customer_id == customer_id,
        Identity.kind == IdentityKind.wecom_external_userid.value).limit(1)))
    if not wecom_ids or not order.buyer_kind or not order.buyer_value:
        return customer_id
    survivor = resolve_customer(session, corp_id, [(IdentityKind.wecom_external_userid.value, wecom_ids[0]),
                                                   (order.buyer_kind, order.buyer_value)],
                                reason="order_binding", clock=clock)
    return survivor or customer_id


#: The event a new binding records for the customer (Segment-spec ``track``).
BOUND_EVENT = "Order Bound"


def _record_bound_event(session: Session, binding: OrderBinding, order: Order) -> None:
    session.add(Event(corp_id=binding.corp_id, customer_id=binding.customer_id, type="track", name=BOUND_EVENT,
                      message_id=f"order-binding-{binding.id}", traits={}, context={"source": "siyu"},
                      properties={"order_no": order.order_no, "platform": order.platform, "via": binding.via,
                                  "amount": str(order.amount)},
                      timestamp=binding.bound_at, received_at=binding.bound_at))


def bind_order(session: Session, corp_id: int, *, customer_id: int, order_no: str, phone_tail: str,
               via: str, clock: Clock, platform: str | None = None, staff_id: int | None = None) -> BindingResult:
    """Bind the order and reward the customer (see the module docstring). Only flushes."""
    order_no, phone_tail = (order_no or "").strip(), (phone_tail or "").strip()
    if via not in VIA:
        raise InvalidInput("acquisition.error.via_invalid", field="via")
    if not order_no or len(order_no) > 64:
        raise InvalidInput("acquisition.error.order_no_invalid", field="order_no")
    if not re.fullmatch(r"\d{4}", phone_tail):
        raise InvalidInput("acquisition.error.phone_tail_invalid", field="phone_tail")
    customer_id = survivor_of(session, corp_id, customer_id)
    order = _order(session, corp_id, order_no, platform)
    if not order.phone:
        raise Conflict("acquisition.error.order_without_phone", field="order_no")
    if not order.phone.endswith(phone_tail):
        raise Conflict("acquisition.error.phone_mismatch", field="phone_tail")
    existing = session.scalars(select(OrderBinding).where(OrderBinding.order_id == order.id)).one_or_none()
    if existing is not None:
        if survivor_of(session, corp_id, existing.customer_id) != customer_id:
            raise Conflict("acquisition.error.order_bound_elsewhere", field="order_no")
        packet = red_packets.existing_packet(session, corp_id, f"order_binding:{order.id}")
        return BindingResult(existing, order, customer_id, packet.id if packet else None, created=False)
    survivor = _link_buyer(session, corp_id, customer_id, order, clock)
    order.customer_id = survivor
    staff_id = staff_id or _serving_staff(session, corp_id, survivor)
    binding = OrderBinding(corp_id=corp_id, order_id=order.id, customer_id=survivor, staff_id=staff_id, via=via,
                           bound_at=clock.now())
    try:
        with session.begin_nested():
            session.add(binding)
            session.flush()
    except IntegrityError:
        raise Conflict("acquisition.error.order_bound_elsewhere", field="order_no") from None
    _record_bound_event(session, binding, order)
    result = BindingResult(binding, order, survivor, None)
    reward = red_packets.budget_of(session, corp_id).binding_reward
    if reward > 0:
        try:
            packet = red_packets.grant(session, corp_id, customer_id=survivor, amount=reward, staff_id=staff_id,
                                       order_id=order.id, reason_key=f"order_binding:{order.id}", clock=clock)
            result.red_packet_id = packet.id
        except red_packets.LimitReached as refused:
            result.reward_refused = refused.field
    return result


def bind_from_message(session: Session, corp_id: int, *, customer_id: int, text: str, clock: Clock,
                      via: str = "chat", staff_id: int | None = None) -> BindingResult | None:
    """A chat message that names an order number and a phone tail binds that order; None when the
    message names neither. The first number that matches an order wins."""
    tail = phone_tail_in(text)
    numbers = order_numbers_in(text)
    if tail is None or not numbers:
        return None
    last_error: Exception | None = None
    for number in numbers:
        try:
            return bind_order(session, corp_id, customer_id=customer_id, order_no=number, phone_tail=tail, via=via,
                              clock=clock, staff_id=staff_id)
        except NotFound as error:
            last_error = error
    raise last_error or NotFound("acquisition.error.order_not_found", field="order_no")
