"""The WeCom deliverer of journeys' 1:1 messages (outbox provider ``wecom_journey``).

One operation, ``add_msg_template`` → ``externalcontact/add_msg_template`` (chat_type single). Its
payload is written by ``siyu.journey.ports.send_one_to_one``: ``chat_type``, ``sender`` (the serving
staff member's userid), ``external_userid`` (a list of one), ``text`` ({"content"}), ``customer_id``
and ``touch_id`` (the contact policy's touch).

WeCom's ``add_msg_template`` has no client key, so the message is delivered write-ahead exactly as a
broadcast task is (``broadcast_outbox``): the first delivery only commits the intent (``unknown``),
and every later one first asks WeCom (``broadcast_outbox.find_created_message``) for a corp-created
single-chat message of exactly this text, created since the message was queued, claimed neither by a
broadcast task nor by another journey send, whose send results for the sender list this customer. A
worker killed after WeCom created the message, or an answer lost to a timeout or a 5xx, therefore
never sends twice.

Refusals end ``failed`` with the reason and are never resent: the customer no longer has an active
relation with the sender (checked again before WeCom is called, so nothing is created there), any
WeCom error that is neither transient nor of unknown outcome (a bad request, an unknown sender), and a
customer WeCom puts on ``fail_list`` (not the sender's contact in WeCom). On success the result holds
WeCom's ``msgid`` and the journey's touch becomes ``sent`` (``siyu.policy.mark_sent``): the message is
in WeCom, where the staff member confirms it in the client.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.broadcast import repository as broadcast_repository
from siyu.integrations.wecom import schemas_engagement as s
from siyu.integrations.wecom.broadcast_outbox import WRITE_AHEAD, find_created_message
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.outbox import client_for, transient_or_unknown
from siyu.journey.ports import ONE_TO_ONE_PROVIDER
from siyu.kit.jobs import JobContext
from siyu.kit.outbox import Deliverer, ProviderOutcomeUnknown, ProviderRefused, register_deliverer
from siyu.models.customer import Relation, RelationStatus
from siyu.models.job import OutboxMessage, OutboxStatus
from siyu.models.org import Staff
from siyu.policy import mark_sent

PROVIDER = ONE_TO_ONE_PROVIDER
OPERATION = "add_msg_template"


def _recipients(message: OutboxMessage) -> list[str]:
    return [str(userid) for userid in message.payload.get("external_userid") or []]


def _text(message: OutboxMessage) -> str:
    return str((message.payload.get("text") or {}).get("content") or "")


def _check(message: OutboxMessage) -> None:
    if message.operation != OPERATION:
        raise ProviderRefused(f"unknown journey operation {message.operation!r}")
    if message.corp_id is None:
        raise ProviderRefused("a journey message needs a corp")
    if not message.payload.get("sender") or not _recipients(message):
        raise ProviderRefused("a journey message needs a sender and an external_userid")


def _inactive(session: Session, corp_id: int, sender: str, external_userids: list[str]) -> list[str]:
    """The external userids that have no active relation with the staff member ``sender``."""
    active = set(session.scalars(
        select(Relation.external_userid).join(Staff, Staff.id == Relation.staff_id)
        .where(Relation.corp_id == corp_id, Staff.corp_id == corp_id, Staff.userid == sender,
               Relation.external_userid.in_(external_userids), Relation.status == RelationStatus.active)))
    return [userid for userid in external_userids if userid not in active]


def claimed_msgids(session: Session, corp_id: int, msgids: list[str]) -> set[str]:
    """Which of ``msgids`` a broadcast task or a delivered journey message already holds."""
    if not msgids:
        return set()
    recorded = OutboxMessage.result["msgid"].as_string()
    journeys = set(session.scalars(select(recorded).where(
        OutboxMessage.corp_id == corp_id, OutboxMessage.provider == PROVIDER,
        OutboxMessage.status == OutboxStatus.sent, recorded.in_(msgids))))
    return journeys | broadcast_repository.known_msgids(session, corp_id, msgids)


def _touch_sent(ctx: JobContext, message: OutboxMessage) -> None:
    touch_id = message.payload.get("touch_id")
    if touch_id is not None:
        mark_sent(ctx.session, message.corp_id, [int(touch_id)], now=ctx.clock.now())


def _send(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    sender, recipients = str(message.payload["sender"]), _recipients(message)
    gone = _inactive(ctx.session, message.corp_id, sender, recipients)
    if gone:
        raise ProviderRefused(f"no active relation between {sender} and {', '.join(gone)}")
    if message.status == OutboxStatus.pending:
        raise ProviderOutcomeUnknown(WRITE_AHEAD)
    text = _text(message)
    answer = client_for(ctx, message.corp_id).add_msg_template(s.AddMsgTemplateRequest(
        chat_type="single", external_userid=recipients, sender=sender, text=s.Text(content=text) if text else None))
    refused = [userid for userid in recipients if userid in answer.fail_list]
    if refused:
        raise ProviderRefused(f"WeCom cannot send {', '.join(refused)} a message from {sender} "
                              f"(fail_list of msgid {answer.msgid})")
    _touch_sent(ctx, message)
    return {"msgid": answer.msgid}


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    """Send one journey 1:1 message (see the module docstring for the outcomes)."""
    _check(message)
    try:
        return _send(ctx, message)
    except (WeComNotConnected, LookupError) as refusal:
        raise ProviderRefused(str(refusal)) from refusal
    except WeComApiError as error:
        passing = transient_or_unknown(error)
        raise (passing or ProviderRefused(str(error))) from error


def reconcile(ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
    """The message WeCom already holds for this send, if an earlier delivery created it."""
    try:
        _check(message)
    except ProviderRefused:
        return None  # nothing can have been sent; the delivery refuses it
    text = _text(message)
    msgid = find_created_message(
        ctx, client_for(ctx, message.corp_id), message, sender=str(message.payload["sender"]),
        recipients=lambda: set(_recipients(message)), text_matches=lambda content: content == text,
        claimed=lambda candidates: claimed_msgids(ctx.session, message.corp_id, candidates))
    if msgid is None:
        return None
    _touch_sent(ctx, message)
    return {"msgid": msgid, "reconciled": True}


register_deliverer(PROVIDER, Deliverer(deliver=deliver, reconcile=reconcile))
