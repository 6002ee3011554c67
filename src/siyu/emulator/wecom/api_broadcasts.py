"""Mass messages (企业群发, reference §3.5) and media upload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import ApiContext, api_context, bounded_limit, json_body, ok, page, require
from siyu.emulator.wecom.broadcasts import create_mass_message
from siyu.emulator.wecom.entities import MassMessage, Media
from siyu.emulator.wecom.errors import WeComError

router = APIRouter()
MONTH_SECONDS = 31 * 86400
MEDIA_TYPES = ("image", "voice", "video", "file")


@router.post("/externalcontact/add_msg_template")
def add_msg_template(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Creates the message and one unconfirmed task per sending member; nothing is delivered yet."""
    ctx.require_customer_contact()
    with ctx.state.lock:
        message, fail_list = create_mass_message(ctx.state, ctx.corp, body)
        return ok(fail_list=fail_list, msgid=message.msgid)


def _message(ctx: ApiContext, body: dict[str, Any]) -> MassMessage:
    require(body, "msgid")
    message = ctx.corp.mass_messages.get(body["msgid"])
    if message is None:
        raise WeComError(errors.INVALID_PARAMETER, f"invalid msgid {body['msgid']!r}")
    return message


@router.post("/externalcontact/get_groupmsg_list_v2")
def get_groupmsg_list_v2(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "chat_type", "start_time", "end_time")
    start, end = int(body["start_time"]), int(body["end_time"])
    if end < start or end - start > MONTH_SECONDS:
        raise WeComError(errors.INVALID_PARAMETER, "start_time..end_time must span at most one month")
    filter_type = int(body.get("filter_type", 2))
    limit = bounded_limit(body.get("limit"), 50, 100)
    with ctx.state.lock:
        rows = [m for m in ctx.corp.mass_messages.values()
                if m.chat_type == body["chat_type"] and start <= m.create_time <= end
                and (filter_type == 2 or m.create_type == filter_type)
                and (not body.get("creator") or m.creator == body["creator"])]
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        items = []
        for message in chunk:
            item = {"msgid": message.msgid, "create_time": message.create_time,
                    "create_type": message.create_type, "text": message.text,
                    "attachments": message.attachments}
            if message.creator:
                item["creator"] = message.creator
            items.append(item)
        return ok(next_cursor=next_cursor, group_msg_list=items)


@router.post("/externalcontact/get_groupmsg_task")
def get_groupmsg_task(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    limit = bounded_limit(body.get("limit"), 500, 1000)
    with ctx.state.lock:
        message = _message(ctx, body)
        rows = []
        for userid, status in message.task_status.items():
            row: dict[str, Any] = {"userid": userid, "status": status}
            if status == 2:
                row["send_time"] = message.task_send_time[userid]
            rows.append(row)
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, task_list=chunk)


@router.post("/externalcontact/get_groupmsg_send_result")
def get_groupmsg_send_result(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Per-recipient status: 0 unsent, 1 sent, 2 not a friend, 3 receive quota reached."""
    ctx.require_customer_contact()
    require(body, "msgid", "userid")
    limit = bounded_limit(body.get("limit"), 500, 1000)
    with ctx.state.lock:
        message = _message(ctx, body)
        ctx.corp.member(body["userid"])
        rows = []
        for recipient in message.recipients.get(body["userid"], []):
            if message.chat_type == "group":
                if recipient.status != 1:  # group sends list sent rows only
                    continue
                row: dict[str, Any] = {"chat_id": recipient.chat_id}
            else:
                row = {"external_userid": recipient.external_userid}
            row.update(userid=recipient.userid, status=recipient.status)
            if recipient.send_time:
                row["send_time"] = recipient.send_time
            rows.append(row)
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, send_list=chunk)


@router.post("/externalcontact/get_group_msg_result")
def get_group_msg_result(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """The legacy result API wechatpy 1.8 still calls."""
    ctx.require_customer_contact()
    with ctx.state.lock:
        message = _message(ctx, body)
        rows = [{"external_userid": r.external_userid, "chat_id": r.chat_id, "userid": r.userid,
                 "status": r.status, "send_time": r.send_time}
                for recipients in message.recipients.values() for r in recipients]
        checked = int(all(status == 2 for status in message.task_status.values()))
        return ok(check_status=checked, detail_list=rows)


@router.post("/externalcontact/remind_groupmsg_send")
def remind_groupmsg_send(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Re-notify the members; at most 3 reminders per message per 24 h."""
    ctx.require_customer_contact()
    with ctx.state.lock:
        message = _message(ctx, body)
        now = ctx.state.now()
        recent = [at for at in message.reminders if at > now - 86400]
        if len(recent) >= 3:
            raise WeComError(errors.INVALID_PARAMETER, "at most 3 reminders per message per 24 h")
        if message.cancelled:
            raise WeComError(errors.INVALID_PARAMETER, "the mass message was cancelled")
        message.reminders = [*recent, now]
        return ok()


@router.post("/externalcontact/cancel_groupmsg_send")
def cancel_groupmsg_send(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Stops further sending; what was delivered stays delivered."""
    ctx.require_customer_contact()
    with ctx.state.lock:
        _message(ctx, body).cancelled = True
        return ok()


@router.post("/media/upload")
async def media_upload(request: Request, type: str | None = None) -> dict:
    """Temporary media, valid 3 days (``media_id`` for welcome, mass and moment attachments)."""
    ctx = api_context(request, request.query_params.get("access_token"))
    form = await request.form()
    if type not in MEDIA_TYPES:
        raise WeComError(errors.INVALID_PARAMETER, f"type must be one of {', '.join(MEDIA_TYPES)}")
    upload = form.get("media")
    if upload is None or isinstance(upload, str):
        raise WeComError(errors.INVALID_PARAMETER, "multipart field 'media' is required")
    content = await upload.read()
    if not content:
        raise WeComError(errors.INVALID_PARAMETER, "empty media")
    with ctx.state.lock:
        media = Media(media_id=ctx.state.new_id("3", 63), type=type, created_at=ctx.state.now_int(),
                      filename=upload.filename or "", size=len(content))
        ctx.corp.media[media.media_id] = media
        return ok(type=type, media_id=media.media_id, created_at=str(media.created_at))
