"""Group codes (群活码): one WeCom join way over up to 5 customer groups, and its group welcome.

WeCom itself opens a new group named ``room_base_name + room_base_id`` (then +1 …) when every group
of the way is full (``auto_create_room``, reference §3.7), so the rollover happens in WeCom; siyu
reads the way back (``refresh_join_way``, on every rotation tick and on request) to learn the groups
it opened. Tier-based assignment: every code has a ``tier`` and a ``min_spend``; a customer is sent to
the code with the highest ``min_spend`` their purchases reach (the VIP group for high spenders, the
welfare group for everyone else). The welcome text becomes a WeCom group welcome template once the
way exists; WeCom lets group owners (not the API) attach a template to a group, so siyu stops there.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.errors import InvalidInput, NotFound
from siyu.kit.outbox import add_outbox_message
from siyu.kit.tenancy import Principal, scoped
from siyu.models.acquisition import GroupCode
from siyu.models.group import GroupChat
from siyu.models.order import PURCHASE_STATUSES, Order

PROVIDER = "wecom_acquisition"
MAX_GROUPS = 5
TIERS = ("vip", "welfare", "all")


def codes_query(principal: Principal):
    return scoped(select(GroupCode), GroupCode, principal).where(GroupCode.status != "deleted")


def create_group_code(session: Session, principal: Principal, clock: Clock, *, name: str, chat_ids: list[str],
                      room_base_name: str, room_base_id: int = 1, tier: str = "all",
                      min_spend: Decimal = Decimal(0), welcome_text: str = "") -> GroupCode:
    """A new group code over existing groups of the corp; created in WeCom through the outbox."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("acquisition.error.name_invalid", field="name")
    if not 1 <= len(chat_ids) <= MAX_GROUPS:
        raise InvalidInput("acquisition.error.group_count", field="chat_ids", limit=MAX_GROUPS)
    known = set(session.scalars(select(GroupChat.chat_id).where(
        GroupChat.corp_id == principal.corp_id, GroupChat.chat_id.in_(chat_ids), GroupChat.status == "active")))
    for index, chat_id in enumerate(chat_ids):
        if chat_id not in known:
            raise InvalidInput("acquisition.error.group_unknown", field=f"chat_ids[{index}]")
    if not room_base_name.strip() or len(room_base_name) > 30:
        raise InvalidInput("acquisition.error.room_base_name_invalid", field="room_base_name")
    if tier not in TIERS:
        raise InvalidInput("acquisition.error.tier_invalid", field="tier")
    if min_spend < 0:
        raise InvalidInput("acquisition.error.min_spend_invalid", field="min_spend")
    now = clock.now()
    code = GroupCode(corp_id=principal.corp_id, name=name.strip(), state=f"gc{secrets.token_hex(8)}",
                     status="pending", chat_ids=list(chat_ids), room_base_name=room_base_name.strip(),
                     room_base_id=room_base_id, tier=tier, min_spend=min_spend, welcome_text=welcome_text,
                     created_at=now, updated_at=now)
    session.add(code)
    session.flush()
    add_outbox_message(session, provider=PROVIDER, operation="add_join_way", payload={"group_code_id": code.id},
                       idempotency_key=f"group_code:{code.id}:create", corp_id=code.corp_id, clock=clock)
    return code


def request_refresh(session: Session, code: GroupCode, clock: Clock) -> None:
    """Read the join way back from WeCom (to learn groups it opened)."""
    now = clock.now()
    add_outbox_message(session, provider=PROVIDER, operation="refresh_join_way", payload={"group_code_id": code.id},
                       idempotency_key=f"group_code:{code.id}:refresh:{now.isoformat()}", corp_id=code.corp_id,
                       clock=clock)


def refresh_all(session: Session, clock: Clock) -> int:
    codes = list(session.scalars(select(GroupCode).where(GroupCode.status == "active")))
    for code in codes:
        request_refresh(session, code, clock)
    return len(codes)


def code_for_delivery(session: Session, corp_id: int, code_id: int) -> GroupCode:
    code = session.scalars(select(GroupCode).where(GroupCode.corp_id == corp_id, GroupCode.id == code_id)
                           .with_for_update()).one_or_none()
    if code is None:
        raise LookupError(f"group code {code_id} no longer exists")
    return code


def record_join_way(session: Session, code: GroupCode, config_id: str, qr_code: str | None, chat_ids: list[str],
                    room_base_id: int | None, now: datetime) -> None:
    """WeCom's view of the join way: its groups (including those it opened) and the next room number."""
    code.config_id, code.qr_code = config_id, qr_code or code.qr_code
    code.chat_ids = list(chat_ids)
    if room_base_id is not None:
        code.room_base_id = room_base_id
    if code.status == "pending":
        code.status = "active"
        if code.welcome_text and not code.welcome_template_id:
            add_outbox_message(session, provider=PROVIDER, operation="add_group_welcome_template",
                               payload={"group_code_id": code.id}, idempotency_key=f"group_code:{code.id}:welcome",
                               corp_id=code.corp_id)
    code.updated_at = now
    session.flush()


def get_group_code(session: Session, principal: Principal, code_id: int) -> GroupCode:
    code = session.scalars(codes_query(principal).where(GroupCode.id == code_id)).one_or_none()
    if code is None:
        raise NotFound("acquisition.error.group_code_not_found")
    return code


def customer_spend(session: Session, corp_id: int, customer_id: int) -> Decimal:
    return session.scalar(select(func.coalesce(func.sum(Order.amount - Order.refund_amount), 0)).where(
        Order.corp_id == corp_id, Order.customer_id == customer_id,
        Order.status.in_(PURCHASE_STATUSES))) or Decimal(0)


def group_code_for_customer(session: Session, corp_id: int, customer_id: int) -> GroupCode | None:
    """The code a customer should be invited to: the highest ``min_spend`` their purchases reach."""
    spend = Decimal(customer_spend(session, corp_id, customer_id))
    return session.scalars(select(GroupCode).where(
        GroupCode.corp_id == corp_id, GroupCode.status == "active", GroupCode.min_spend <= spend)
        .order_by(GroupCode.min_spend.desc(), GroupCode.id).limit(1)).one_or_none()
