"""Mass messages (企业群发) and the per-recipient receive quota (reference §3.5).

``add_msg_template`` only creates a task per sending member; nothing reaches a customer until the member
confirms it in the client (``confirm_task``, a simulated staff action). At confirmation each recipient
is checked: no longer a friend → status 2; over the receive quota → status 3; else delivered (1).

Quota rules (configurable per corp, counted in China natural periods): ``daily`` 1 per day (default),
``weekly7`` 7 per natural week, ``days_in_month`` as many per month as the month has days.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.entities import MassMessage, MassRecipient
from siyu.emulator.wecom.errors import SimulationError, WeComError
from siyu.emulator.wecom.state import CHINA, Corp, EmulatorState, day_start

ATTACHMENT_TYPES = ("image", "link", "miniprogram", "video", "file")


def period_bounds(rule: str, timestamp: int) -> tuple[int, int]:
    """Start (inclusive) of the quota period containing ``timestamp`` and how many receipts it allows."""
    moment = datetime.fromtimestamp(timestamp, CHINA)
    if rule == "daily":
        return day_start(timestamp), 1
    if rule == "weekly7":
        return day_start(timestamp) - moment.weekday() * 86400, 7
    if rule == "days_in_month":
        first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return int(first.timestamp()), calendar.monthrange(moment.year, moment.month)[1]
    raise ValueError(f"unknown quota rule {rule!r}")


def quota_allows(corp: Corp, recipient: str, timestamp: int) -> bool:
    start, allowed = period_bounds(corp.quota_rule, timestamp)
    received = corp.receipts.get(recipient, [])
    return sum(1 for at in received if at >= start) < allowed


def record_receipt(corp: Corp, recipient: str, timestamp: int) -> None:
    received = corp.receipts.setdefault(recipient, [])
    received.append(timestamp)
    # No rule looks back further than a month; keep the list short.
    if len(received) > 64:
        received[:] = [at for at in received if at > timestamp - 32 * 86400]


def validate_content(state: EmulatorState, corp: Corp, body: dict[str, Any], max_text_bytes: int) -> None:
    """Shared checks for welcome and mass messages: text/attachments shapes, sizes and media ids."""
    text = body.get("text") or {}
    attachments = body.get("attachments") or []
    if not isinstance(text, dict) or not isinstance(attachments, list):
        raise WeComError(errors.INVALID_PARAMETER, "text must be an object and attachments a list")
    content = str(text.get("content") or "")
    if not content and not attachments:
        raise WeComError(errors.INVALID_PARAMETER, "text and attachments cannot both be empty")
    if len(content.encode("utf-8")) > max_text_bytes:
        raise WeComError(errors.INVALID_PARAMETER, f"text.content exceeds {max_text_bytes} bytes")
    if len(attachments) > 9:
        raise WeComError(errors.INVALID_PARAMETER, "at most 9 attachments")
    for attachment in attachments:
        kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
        if kind not in ATTACHMENT_TYPES or not isinstance(attachment.get(kind), dict):
            raise WeComError(errors.INVALID_PARAMETER, "attachment msgtype does not match its content")
        payload = attachment[kind]
        for key in ("media_id", "pic_media_id"):
            if payload.get(key) and not state.media_valid(corp, payload[key]):
                raise WeComError(errors.INVALID_MEDIA_ID, f"invalid media_id {payload[key]!r}")
        if kind == "image" and not payload.get("media_id") and not payload.get("pic_url"):
            raise WeComError(errors.INVALID_PARAMETER, "image needs media_id or pic_url")
        if kind == "link" and (not payload.get("title") or not payload.get("url")):
            raise WeComError(errors.INVALID_PARAMETER, "link needs title and url")


def _tag_filter_matches(tag_groups: list[list[str]], tag_ids: list[str]) -> bool:
    # Each group_list entry must be matched by at least one of its tags (OR within, AND across).
    return all(any(tag in tag_ids for tag in group) for group in tag_groups)


def _best_follower(corp: Corp, external_userid: str) -> str | None:
    """WeCom pushes a corp mass message to the member who last chatted with the customer."""
    customer = corp.customers[external_userid]
    follows = [f for f in customer.follows.values()
               if not f.half and corp.members.get(f.userid) and corp.members[f.userid].status == 1]
    if not follows:
        return None
    return max(follows, key=lambda f: (f.last_chat_at, f.createtime)).userid


def create_mass_message(state: EmulatorState, corp: Corp, body: dict[str, Any], *, create_type: int = 0,
                        creator: str = "") -> tuple[MassMessage, list[str]]:
    """add_msg_template: resolve recipients per member and create unconfirmed tasks."""
    chat_type = body.get("chat_type") or "single"
    sender = body.get("sender") or ""
    if chat_type not in ("single", "group"):
        raise WeComError(errors.INVALID_PARAMETER, "chat_type must be single or group")
    validate_content(state, corp, body, 4000)
    if sender:
        corp.member(sender)
    now = state.now_int()
    message = MassMessage(msgid=state.new_id("msg", 25, "AAAA"), chat_type=chat_type, create_time=now,
                          create_type=create_type, creator=creator or (sender if create_type else ""),
                          text=body.get("text") or {}, attachments=body.get("attachments") or [],
                          allow_select=bool(body.get("allow_select")))
    fail_list: list[str] = []
    if chat_type == "single":
        wanted = body.get("external_userid") or []
        if not isinstance(wanted, list) or len(wanted) > 10000:
            raise WeComError(errors.INVALID_PARAMETER, "external_userid must list at most 10000 ids")
        if not wanted and not sender:
            raise WeComError(errors.INVALID_PARAMETER, "external_userid and sender cannot both be empty")
        if not wanted:
            wanted = list(corp.customers_by_user.get(sender, {}))
        groups = [g.get("tag_list") or [] for g in ((body.get("tag_filter") or {}).get("group_list") or [])]
        for external_userid in dict.fromkeys(wanted):
            customer = corp.customers.get(external_userid)
            if customer is None:
                fail_list.append(external_userid)
                continue
            if sender:
                follow = customer.follows.get(sender)
                userid = sender if follow is not None and not follow.half else None
            else:
                userid = _best_follower(corp, external_userid)
            if userid is None:
                fail_list.append(external_userid)
                continue
            if groups and not _tag_filter_matches(groups, customer.follows[userid].tag_ids):
                continue
            message.recipients.setdefault(userid, []).append(
                MassRecipient(userid=userid, external_userid=external_userid))
    else:
        if not sender:
            raise WeComError(errors.INVALID_PARAMETER, "sender is required when chat_type is group")
        chat_ids = body.get("chat_id_list") or [g.chat_id for g in corp.groups.values()
                                                if g.owner == sender and not g.dismissed]
        if len(chat_ids) > 2000:
            raise WeComError(errors.INVALID_PARAMETER, "chat_id_list holds at most 2000 groups")
        for chat_id in dict.fromkeys(chat_ids):
            group = corp.groups.get(chat_id)
            if group is None or group.dismissed or group.owner != sender:
                fail_list.append(chat_id)
                continue
            message.recipients.setdefault(sender, []).append(MassRecipient(userid=sender, chat_id=chat_id))
    for userid in message.recipients:
        message.task_status[userid] = 0
    corp.mass_messages[message.msgid] = message
    return message, fail_list


def confirm_task(state: EmulatorState, corp: Corp, msgid: str, userid: str,
                 selected: list[str] | None = None) -> dict[str, int]:
    """The member confirms the task in the client: deliver, subject to friendship and quota."""
    message = corp.mass_messages.get(msgid)
    if message is None:
        raise SimulationError(404, f"no mass message {msgid!r}")
    if userid not in message.task_status:
        raise SimulationError(404, f"member {userid!r} has no task for {msgid}")
    if message.cancelled:
        raise SimulationError(409, "the mass message was cancelled")
    if message.task_status[userid] == 2:
        raise SimulationError(409, "already sent")
    if selected is not None and not message.allow_select:
        raise SimulationError(409, "this mass message does not allow selecting recipients")
    now = state.now_int()
    outcome = {"sent": 0, "not_friend": 0, "quota_exceeded": 0, "unselected": 0}
    for row in message.recipients.get(userid, []):
        target = row.external_userid or row.chat_id
        if selected is not None and target not in selected:
            outcome["unselected"] += 1
            continue
        if row.external_userid:
            customer = corp.customers.get(row.external_userid)
            reachable = customer is not None and userid in customer.follows
        else:
            group = corp.groups.get(row.chat_id)
            reachable = group is not None and not group.dismissed
        if not reachable:
            row.status = 2
            outcome["not_friend"] += 1
        elif not quota_allows(corp, target, now):
            row.status = 3
            outcome["quota_exceeded"] += 1
        else:
            row.status, row.send_time = 1, now
            record_receipt(corp, target, now)
            corp.log_message(kind="mass", msgid=msgid, userid=userid, external_userid=row.external_userid,
                             chat_id=row.chat_id, text=message.text, at=now)
            outcome["sent"] += 1
    message.task_status[userid] = 2
    message.task_send_time[userid] = now
    return outcome
