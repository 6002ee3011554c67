"""Red packets (红包): granting one within the corp's limits, paying it, and the ledger.

Limits are per corp per day, per staff member per day and per customer in total, each an amount and
a count (``RedPacketBudget``). They hold under concurrency through the database: each scope has one
``red_packet_counter`` row per period, raised by one statement —
``INSERT … ON CONFLICT DO UPDATE SET amount = amount + :a, count = count + 1 WHERE amount + :a <=
amount_cap AND count + 1 <= count_cap RETURNING id`` — which PostgreSQL runs under the row's lock, so
two grants cannot both take the last slot; a CHECK on the row holds the caps as well. The counters
and the ledger entry are written in one savepoint: a grant refused by any limit rolls all of it
back, so a refused reward leaves no ledger entry and takes no budget.

Paying goes through the outbox (provider ``payment``, see ``payment``) with the packet's bill number
as the idempotency key. Days are the corp's local days.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock, get_clock
from siyu.kit.db import dialect_insert
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.outbox import add_outbox_message
from siyu.kit.security import encrypt_secret
from siyu.models.corp import Corp
from siyu.models.customer import Identity
from siyu.models.red_packet import RedPacket, RedPacketBudget, RedPacketCounter
from siyu.red_packet.payment import PROVIDER, Payment, PaymentResult

LIFETIME = "all"
LIMIT_FIELDS = ("corp_daily_amount", "corp_daily_count", "staff_daily_amount", "staff_daily_count",
                "customer_amount", "customer_count", "binding_reward")


class LimitReached(Conflict):
    """A grant would pass a limit; ``field`` names the limit."""


@dataclass(frozen=True)
class Scope:
    scope: str
    scope_id: int
    period: str
    amount_cap: int
    count_cap: int
    #: the limit's name for the refusal
    limit: str


def budget_of(session: Session, corp_id: int) -> RedPacketBudget:
    """The corp's budget row, created with the defaults on first use."""
    table = RedPacketBudget.__table__
    now = get_clock().now()
    session.execute(dialect_insert(session, table).values(corp_id=corp_id, created_at=now, updated_at=now,
                                                          **{c: table.c[c].default.arg for c in LIMIT_FIELDS})
                    .on_conflict_do_nothing(index_elements=["corp_id"]))
    return session.scalars(select(RedPacketBudget).where(RedPacketBudget.corp_id == corp_id)).one()


def update_budget(session: Session, corp_id: int, clock: Clock, *, secret_key: str | None = None,
                  mch_key: str | None = None, **changes: object) -> RedPacketBudget:
    """Change limits (non-negative integers, in fen) and the merchant account."""
    budget = budget_of(session, corp_id)
    for name, value in changes.items():
        if value is None:
            continue
        if name in LIMIT_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput("red_packet.error.limit_invalid", field=name)
            setattr(budget, name, value)
        elif name in ("mch_id", "pay_api_base"):
            setattr(budget, name, str(value) or None)
        else:
            raise InvalidInput("red_packet.error.unknown_field", field=name)
    if mch_key:
        budget.mch_key_encrypted = encrypt_secret(mch_key, secret_key)
    budget.updated_at = clock.now()
    session.flush()
    return budget


def _local_day(session: Session, corp_id: int, now: datetime) -> str:
    zone = session.scalar(select(Corp.timezone).where(Corp.id == corp_id)) or "Asia/Shanghai"
    return now.astimezone(ZoneInfo(zone)).date().isoformat()


def scopes(budget: RedPacketBudget, *, corp_id: int, staff_id: int | None, customer_id: int,
           day: str) -> list[Scope]:
    found = [Scope("corp", corp_id, day, budget.corp_daily_amount, budget.corp_daily_count, "corp_daily")]
    if staff_id is not None:
        found.append(Scope("staff", staff_id, day, budget.staff_daily_amount, budget.staff_daily_count,
                           "staff_daily"))
    found.append(Scope("customer", customer_id, LIFETIME, budget.customer_amount, budget.customer_count,
                       "customer"))
    return found


def _take(session: Session, corp_id: int, scope: Scope, amount: int) -> bool:
    """Raise the scope's counter by ``amount`` and one, only within its caps."""
    if amount > scope.amount_cap or scope.count_cap < 1:
        return False
    table = RedPacketCounter.__table__
    statement = dialect_insert(session, table).values(
        corp_id=corp_id, scope=scope.scope, scope_id=scope.scope_id, period=scope.period, amount=amount, count=1,
        amount_cap=scope.amount_cap, count_cap=scope.count_cap)
    statement = statement.on_conflict_do_update(
        index_elements=["corp_id", "scope", "scope_id", "period"],
        set_={"amount": table.c.amount + amount, "count": table.c.count + 1},
        where=(table.c.amount + amount <= table.c.amount_cap) & (table.c.count + 1 <= table.c.count_cap),
    ).returning(table.c.id)
    return session.execute(statement).scalar_one_or_none() is not None


def existing_packet(session: Session, corp_id: int, reason_key: str) -> RedPacket | None:
    return session.scalars(select(RedPacket).where(RedPacket.corp_id == corp_id,
                                                   RedPacket.reason_key == reason_key)).one_or_none()


def grant(session: Session, corp_id: int, *, customer_id: int, amount: int, reason_key: str, clock: Clock,
          staff_id: int | None = None, order_id: int | None = None, campaign: str | None = None) -> RedPacket:
    """A red packet for ``reason_key`` (once: the same key again returns the first packet), within
    every limit, queued for payment. Raises ``LimitReached`` naming the limit; then nothing is written."""
    if amount < 1:
        raise InvalidInput("red_packet.error.amount_invalid", field="amount")
    earlier = existing_packet(session, corp_id, reason_key)
    if earlier is not None:
        return earlier
    now = clock.now()
    budget = budget_of(session, corp_id)
    day = _local_day(session, corp_id, now)
    try:
        with session.begin_nested():
            for scope in scopes(budget, corp_id=corp_id, staff_id=staff_id, customer_id=customer_id, day=day):
                if not _take(session, corp_id, scope, amount):
                    raise LimitReached("red_packet.error.limit_reached", field=scope.limit)
            packet = RedPacket(corp_id=corp_id, customer_id=customer_id, staff_id=staff_id, order_id=order_id,
                               campaign=campaign, reason_key=reason_key, amount=amount,
                               bill_no=f"{now:%Y%m%d}{secrets.token_hex(10)}", status="pending",
                               created_at=now, updated_at=now)
            session.add(packet)
            session.flush()
    except IntegrityError:
        # A concurrent grant for the same reason committed first.
        earlier = existing_packet(session, corp_id, reason_key)
        if earlier is None:
            raise
        return earlier
    add_outbox_message(session, provider=PROVIDER, operation="pay_red_packet", payload={"red_packet_id": packet.id},
                       idempotency_key=f"red_packet:{packet.bill_no}", corp_id=corp_id, clock=clock)
    return packet


def packet_for_payment(session: Session, corp_id: int | None, packet_id: int) -> RedPacket:
    packet = session.scalars(select(RedPacket).where(RedPacket.corp_id == corp_id, RedPacket.id == packet_id)
                             .with_for_update()).one_or_none()
    if packet is None:
        raise NotFound("red_packet.error.not_found")
    return packet


def payment_of(session: Session, packet: RedPacket) -> Payment:
    """The payment for a packet; the recipient is the customer's openid (else their external userid —
    WeCom converts it with ``externalcontact/convert_to_openid`` in production)."""
    identities = dict(session.execute(select(Identity.kind, Identity.value).where(
        Identity.corp_id == packet.corp_id, Identity.customer_id == packet.customer_id,
        Identity.kind.in_(("openid", "wecom_external_userid")))).all())
    recipient = identities.get("openid") or identities.get("wecom_external_userid") or ""
    return Payment(bill_no=packet.bill_no, amount=packet.amount, recipient=recipient,
                   act_name=(packet.campaign or "订单绑定奖励")[:32], wishing="感谢您的支持")


def record_payment(session: Session, packet: RedPacket, result: PaymentResult, now: datetime) -> None:
    if result.paid:
        packet.status, packet.payment_ref, packet.paid_at, packet.failure = "paid", result.reference, now, None
    else:
        packet.status, packet.failure = "failed", (result.error or "refused")[:500]
    packet.updated_at = now
    session.flush()


def ledger_query(corp_id: int, *, start: datetime | None = None, end: datetime | None = None):
    statement = select(RedPacket).where(RedPacket.corp_id == corp_id)
    if start is not None:
        statement = statement.where(RedPacket.created_at >= start)
    if end is not None:
        statement = statement.where(RedPacket.created_at < end)
    return statement
