"""The welcome message of a channel code (欢迎语): the one place it passes the contact policy and leaves
for WeCom.

A welcome is a ``service`` touch on the ``welcome`` channel (the customer just added the member, so
quiet hours and marketing caps do not hold it back; a customer who is gone again is still refused).
Only an allowed touch is queued. WeCom's welcome code is valid for 20 seconds and works once
(reference §3.4), so the outbox message carries its deadline: the deliverer does not send after it,
treats 41051 (already delivered / spent) as final and retries 41096 (another app is sending) only
while the window is open.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from siyu.customer.contacts import CustomerAdded
from siyu.kit.clock import Clock
from siyu.kit.outbox import add_outbox_message
from siyu.models.acquisition import ChannelCode
from siyu.models.policy import TouchChannel, TouchPriority
from siyu.policy import TouchRequest, admit, mark_sent

WELCOME_WINDOW = timedelta(seconds=20)
PROVIDER = "wecom_acquisition"


def send(session: Session, code: ChannelCode, added: CustomerAdded, *, add_id: int, clock: Clock) -> str:
    """Ask the contact policy, then queue ``send_welcome_msg``. Returns the add's welcome outcome:
    ``queued``, ``blocked`` (the policy said no) or ``no_code`` (WeCom issued none: the member has a
    welcome configured in WeCom, or they chatted before)."""
    if not added.welcome_code:
        return "no_code"
    now = clock.now()
    decision = admit(session, added.corp_id, [TouchRequest(
        customer_id=added.customer_id, channel=TouchChannel.welcome, priority=TouchPriority.service,
        staff_id=added.staff_id, source_kind="channel_code", source_id=str(code.id),
        dedupe_key=f"welcome:{added.relation_id}:{added.welcome_code}", at=now)], now=now)[0]
    if not decision.allowed:
        return "blocked"
    payload = {"welcome_code": added.welcome_code, "text": code.welcome_text,
               "attachments": list(code.welcome_attachments), "touch_id": decision.touch_id,
               "deadline": (added.added_at + WELCOME_WINDOW).isoformat()}
    add_outbox_message(session, provider=PROVIDER, operation="send_welcome_msg", payload=payload,
                       idempotency_key=f"channel_code_add:{add_id}:welcome", corp_id=added.corp_id, clock=clock)
    return "queued"


def window_open(payload: dict, now: datetime) -> bool:
    return now <= datetime.fromisoformat(payload["deadline"])


def delivered(session: Session, corp_id: int, payload: dict, now: datetime) -> None:
    """WeCom accepted the welcome: the touch reached the customer."""
    if payload.get("touch_id"):
        mark_sent(session, corp_id, [payload["touch_id"]], now=now)
