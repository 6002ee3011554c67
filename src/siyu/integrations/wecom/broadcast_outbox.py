"""The WeCom deliverer of broadcasts (outbox provider ``wecom_broadcast``).

==================  ===============  ============================================================
operation           payload          WeCom call
==================  ===============  ============================================================
add_msg_template    task_id          media/upload (stale attachments), externalcontact/add_msg_template
remind              task_id          externalcontact/remind_groupmsg_send
cancel              task_id          externalcontact/cancel_groupmsg_send
==================  ===============  ============================================================

``add_msg_template`` is not idempotent in WeCom: there is no client key. So its delivery is
write-ahead: the first delivery only commits the intent (the outbox message becomes ``unknown``, and
the follow-up delivery is due after the outbox's backoff), and every later delivery first asks
``reconcile`` whether WeCom already has the task. A worker killed after WeCom created the task but
before its transaction committed therefore never sends twice: the next worker finds the message.
The same holds when WeCom's answer is lost (timeout, 5xx after sending). ``reconcile`` looks for a
corp-created message of the task's text, created since the task was queued, that no other task of
ours claims and whose send results for our sender list our recipients (for a group broadcast:
whose task list names our sender — WeCom lists a group message's send results only once sent).

A group broadcast (``Broadcast.kind`` groups) takes the same path with ``chat_type: "group"``: the
sender is the groups' owner and ``chat_id_list`` the task's groups (``siyu.broadcast.group_audience``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.broadcast import repository, service
from siyu.content.service import get_materials, media_due, record_media
from siyu.integrations.wecom import schemas_engagement as s
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.outbox import client_for, transient_or_unknown
from siyu.kit.jobs import JobContext
from siyu.kit.outbox import Deliverer, ProviderOutcomeUnknown, ProviderRefused, register_deliverer
from siyu.models.broadcast import BroadcastKind, BroadcastTask, TaskStatus
from siyu.models.job import OutboxMessage, OutboxStatus
from siyu.models.message import Material, MaterialKind

#: how far back (and ahead, for clock skew) reconciliation looks for a lost add_msg_template
RECONCILE_SLACK = timedelta(minutes=10)
WRITE_AHEAD = "intent recorded; the next delivery reconciles with WeCom before it sends"
_UPLOAD_TYPE = {MaterialKind.image: "image", MaterialKind.miniprogram: "image", MaterialKind.video: "video",
                MaterialKind.file: "file"}


def _task(ctx: JobContext, message: OutboxMessage) -> BroadcastTask:
    task = repository.task(ctx.session, int(message.payload["task_id"]), for_update=True)
    if task is None or task.corp_id != message.corp_id:
        raise ProviderRefused(f"broadcast task {message.payload.get('task_id')} does not exist")
    return task


def chat_type_of(ctx: JobContext, task: BroadcastTask) -> str:
    """WeCom's chat_type of a task: ``group`` for a broadcast to group chats, else ``single``."""
    broadcast = repository.broadcast(ctx.session, task.corp_id, task.broadcast_id)
    return "group" if broadcast is not None and broadcast.kind == BroadcastKind.groups else "single"


def fresh_media(session: Session, client: WeComClient, corp_id: int, material_ids: list[int], now) -> list[Material]:
    """The materials, with every WeCom media id that is missing or about to expire uploaded again."""
    materials = get_materials(session, corp_id, material_ids)
    for material in media_due(session, corp_id, now=now, material_ids=material_ids):
        answer = client.upload_media(_UPLOAD_TYPE[material.kind], material.file_name or f"{material.id}",
                                     material.content or b"")
        record_media(session, material, answer.media_id, at=now)
    return materials


def attachments_of(materials: list[Material]) -> tuple[str, list[s.Attachment]]:
    """Text materials add to the text; every other kind becomes a WeCom attachment."""
    extra_text, attachments = [], []
    for material in materials:
        body = material.body or {}
        if material.kind == MaterialKind.text:
            extra_text.append(body.get("content", ""))
        elif material.kind == MaterialKind.image:
            attachments.append(s.Attachment(msgtype="image", image=s.ImagePayload(media_id=material.media_id)))
        elif material.kind == MaterialKind.link:
            attachments.append(s.Attachment(msgtype="link", link=s.LinkPayload(
                title=material.title, url=body["url"], picurl=body.get("picurl"), desc=body.get("desc"))))
        elif material.kind == MaterialKind.miniprogram:
            attachments.append(s.Attachment(msgtype="miniprogram", miniprogram=s.MiniprogramPayload(
                title=material.title, pic_media_id=material.media_id or "", appid=body["appid"], page=body["page"])))
        else:
            kind = str(material.kind)
            attachments.append(s.Attachment(msgtype=kind, **{kind: s.MediaPayload(media_id=material.media_id or "")}))
    return "\n".join(extra_text), attachments


def _add_msg_template(ctx: JobContext, client: WeComClient, message: OutboxMessage) -> dict[str, Any]:
    task = _task(ctx, message)
    if task.status != TaskStatus.creating:
        return {"skipped": f"task is {task.status}"}
    if message.status == OutboxStatus.pending:
        raise ProviderOutcomeUnknown(WRITE_AHEAD)
    recipients = repository.task_recipients(ctx.session, task.id)
    sender = repository.staff_userids(ctx.session, task.corp_id, [task.staff_id])[task.staff_id]
    variant = next(v for v in repository.variants(ctx.session, task.broadcast_id) if v.id == task.variant_id)
    materials = fresh_media(ctx.session, client, task.corp_id, list(variant.material_ids), ctx.clock.now())
    extra_text, attachments = attachments_of(materials)
    text = "\n".join(part for part in (task.text, extra_text) if part)
    targets = [r.external_userid for r in recipients if r.external_userid]
    chat_type = chat_type_of(ctx, task)
    answer = client.add_msg_template(s.AddMsgTemplateRequest(
        chat_type=chat_type, external_userid=targets if chat_type == "single" else None,
        chat_id_list=targets if chat_type == "group" else None,
        sender=sender, text=s.Text(content=text) if text else None, attachments=attachments or None))
    service.task_created(ctx.session, task, msgid=answer.msgid, fail_list=answer.fail_list, now=ctx.clock.now())
    return {"msgid": answer.msgid, "fail_list": len(answer.fail_list)}


def find_created_message(ctx: JobContext, client: WeComClient, message: OutboxMessage, *, sender: str,
                         recipients: Callable[[], set[str]], text_matches: Callable[[str], bool],
                         claimed: Callable[[list[str]], set[str]], chat_type: str = "single") -> str | None:
    """The msgid of a mass message (``chat_type`` single or group) that an earlier delivery of
    ``message`` may have created: corp-created since the message was queued, of a matching text, not
    ``claimed`` by another task, whose send results for ``sender`` list one of the ``recipients``
    (group: whose task list names ``sender`` — WeCom lists only sent groups); else ``None``."""
    start = int((message.created_at - RECONCILE_SLACK).timestamp())
    end = int((ctx.clock.now() + RECONCILE_SLACK).timestamp())
    cursor, candidates = None, []
    while True:
        page = client.get_groupmsg_list_v2(s.GetGroupMsgListV2Request(
            chat_type=chat_type, start_time=start, end_time=end, filter_type=0, limit=100, cursor=cursor))
        candidates.extend(m.msgid for m in page.group_msg_list if text_matches((m.text or {}).get("content", "")))
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    taken = claimed(candidates)
    ours = recipients()
    for msgid in candidates:
        if msgid in taken:
            continue
        if chat_type == "group":
            listed = client.get_groupmsg_task(s.GetGroupMsgTaskRequest(msgid=msgid, limit=1000))
            if any(row.userid == sender for row in listed.task_list):
                return msgid
            continue
        try:
            sent = client.get_groupmsg_send_result(s.GetGroupMsgSendResultRequest(msgid=msgid, userid=sender,
                                                                                 limit=1000))
        except WeComApiError as error:
            if error.retryable or error.outcome_unknown:
                raise
            continue  # not a message of this sender
        if any(row.external_userid in ours for row in sent.send_list):
            return msgid
    return None


def _reconcile_add(ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
    task = _task(ctx, message)
    if task.msgid:
        return {"msgid": task.msgid, "reconciled": True}
    client = client_for(ctx, task.corp_id)
    sender = repository.staff_userids(ctx.session, task.corp_id, [task.staff_id])[task.staff_id]
    msgid = find_created_message(
        ctx, client, message, sender=sender,
        recipients=lambda: {r.external_userid for r in repository.task_recipients(ctx.session, task.id)},
        text_matches=lambda content: content.startswith(task.text),
        claimed=lambda candidates: repository.known_msgids(ctx.session, task.corp_id, candidates),
        chat_type=chat_type_of(ctx, task))
    if msgid is None:
        return None
    # WeCom reported no fail_list for us; the send-result sync settles every recipient.
    service.task_created(ctx.session, task, msgid=msgid, fail_list=[], now=ctx.clock.now())
    return {"msgid": msgid, "reconciled": True}


def _remind(ctx: JobContext, client: WeComClient, message: OutboxMessage) -> dict[str, Any]:
    task = _task(ctx, message)
    if not task.msgid or task.status != TaskStatus.awaiting_staff:
        return {"skipped": f"task is {task.status}"}
    client.remind_groupmsg_send(task.msgid)
    return {"reminded": task.msgid}


def _cancel(ctx: JobContext, client: WeComClient, message: OutboxMessage) -> dict[str, Any]:
    task = _task(ctx, message)
    if task.msgid:
        client.cancel_groupmsg_send(task.msgid)
    service.task_cancelled(ctx.session, task, now=ctx.clock.now())
    return {"cancelled": task.msgid}


OPERATIONS = {"add_msg_template": _add_msg_template, "remind": _remind, "cancel": _cancel}


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    operation = OPERATIONS.get(message.operation)
    if operation is None:
        raise ProviderRefused(f"unknown broadcast operation {message.operation!r}")
    if message.corp_id is None:
        raise ProviderRefused("a broadcast message needs a corp")
    try:
        return operation(ctx, client_for(ctx, message.corp_id), message)
    except (WeComNotConnected, LookupError) as refusal:
        _refuse(ctx, message, str(refusal))
        raise ProviderRefused(str(refusal)) from refusal
    except WeComApiError as error:
        passing = transient_or_unknown(error)
        if passing is not None:
            raise passing from error
        _refuse(ctx, message, str(error))
        raise ProviderRefused(str(error)) from error


def _refuse(ctx: JobContext, message: OutboxMessage, error: str) -> None:
    if message.operation == "add_msg_template":
        task = repository.task(ctx.session, int(message.payload["task_id"]))
        if task is not None and task.status == TaskStatus.creating:
            service.task_refused(ctx.session, task, error=error, now=ctx.clock.now())


def reconcile(ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
    if message.operation != "add_msg_template":
        return None  # remind and cancel are harmless to repeat
    return _reconcile_add(ctx, message)


register_deliverer(service.PROVIDER, Deliverer(deliver=deliver, reconcile=reconcile))
