"""The payment port of red packets: what siyu needs from a payment provider, and the outbox deliverer
that pays ledger entries through it.

An adapter pays one packet by its merchant bill number (the provider's idempotency key: the same bill
twice pays once) and can look a bill up (to settle a payment whose answer was lost). Adapters
register by name; the corp's budget row says where its merchant account is. The WeCom/WeChat Pay
adapter (``integrations.wecom.payment``) speaks the 企业红包 API — the emulator's in the demo and
tests, the real one with a real merchant account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from siyu.kit.jobs import JobContext
from siyu.kit.outbox import Deliverer, ProviderOutcomeUnknown, ProviderRefused, register_deliverer
from siyu.models.job import OutboxMessage
from siyu.models.red_packet import RedPacketBudget

PROVIDER = "payment"


@dataclass(frozen=True)
class Payment:
    bill_no: str
    amount: int
    #: who receives it, as the provider knows them (an openid)
    recipient: str
    act_name: str
    wishing: str


@dataclass(frozen=True)
class PaymentResult:
    paid: bool
    reference: str | None = None
    #: the provider's error code when not paid (e.g. NOTENOUGH)
    error: str | None = None


class PaymentAdapter(Protocol):
    def pay(self, payment: Payment) -> PaymentResult:
        """Pay once per ``bill_no``. Raise ``PaymentUnknown`` when the answer was lost."""

    def query(self, bill_no: str) -> PaymentResult | None:
        """What happened to ``bill_no``; None when the provider never saw it."""


class PaymentUnknown(Exception):
    """The request may have reached the provider: reconcile before anything else."""


AdapterFactory = Callable[[RedPacketBudget], PaymentAdapter]
_adapters: dict[str, AdapterFactory] = {}
DEFAULT_ADAPTER = "wecom_pay"


def register_adapter(name: str, factory: AdapterFactory) -> None:
    _adapters[name] = factory


def adapter_for(budget: RedPacketBudget) -> PaymentAdapter:
    if not budget.mch_id or not budget.mch_key_encrypted:
        raise ProviderRefused("no merchant account is configured for red packets")
    factory = _adapters.get(DEFAULT_ADAPTER)
    if factory is None:
        raise ProviderRefused(f"no payment adapter {DEFAULT_ADAPTER!r} is installed")
    return factory(budget)


def _packet_and_adapter(ctx: JobContext, message: OutboxMessage):
    from siyu.red_packet import service

    packet = service.packet_for_payment(ctx.session, message.corp_id, message.payload["red_packet_id"])
    budget = service.budget_of(ctx.session, packet.corp_id)
    return service, packet, adapter_for(budget)


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    service, packet, adapter = _packet_and_adapter(ctx, message)
    if packet.status != "pending":
        return {"skipped": packet.status}
    try:
        result = adapter.pay(service.payment_of(ctx.session, packet))
    except PaymentUnknown as lost:
        raise ProviderOutcomeUnknown(str(lost)) from lost
    service.record_payment(ctx.session, packet, result, ctx.clock.now())
    if not result.paid:
        raise ProviderRefused(f"payment refused: {result.error}")
    return {"reference": result.reference}


def reconcile(ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
    service, packet, adapter = _packet_and_adapter(ctx, message)
    result = adapter.query(packet.bill_no)
    if result is None:
        return None
    service.record_payment(ctx.session, packet, result, ctx.clock.now())
    return {"reference": result.reference, "reconciled": True}


register_deliverer(PROVIDER, Deliverer(deliver=deliver, reconcile=reconcile))
