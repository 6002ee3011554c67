"""Broadcast result sync: which senders confirmed (``get_groupmsg_task``) and what became of each
recipient (``get_groupmsg_send_result``), applied by ``siyu.broadcast.service.apply_results``.

Job ``broadcast.sync_results {"corp_id", "broadcast_id"}``; while the broadcast is still sending it
schedules its next run (every ``SYNC_EVERY``), so results keep arriving without an operator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.broadcast import repository, service
from siyu.integrations.wecom import schemas_engagement as s
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.outbox import client_for
from siyu.kit.jobs import JobContext, PermanentJobError, job_handler
from siyu.models.broadcast import BroadcastKind, BroadcastStatus, BroadcastTask, TaskStatus

SYNC_EVERY = timedelta(minutes=10)
JOB = "broadcast.sync_results"


def _when(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def sync_task(ctx: JobContext, client: WeComClient, task: BroadcastTask, sender: str,
              task_chat_type: str = "single") -> dict[str, int]:
    """Read one task's confirmation and per-recipient results from WeCom and apply them. For a group
    task the results are per group (``chat_id``); WeCom lists only the groups the owner sent to, so
    once the owner confirmed, an unlisted group did not receive it (failed, ``wecom_status`` 0)."""
    confirmed_at, cursor = None, None
    while True:
        page = client.get_groupmsg_task(s.GetGroupMsgTaskRequest(msgid=task.msgid, limit=1000, cursor=cursor))
        for row in page.task_list:
            if row.userid == sender and row.status == 2:
                confirmed_at = _when(row.send_time) or ctx.clock.now()
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    results, cursor = [], None
    group = task_chat_type == "group"
    if confirmed_at is not None:
        while True:
            page = client.get_groupmsg_send_result(s.GetGroupMsgSendResultRequest(
                msgid=task.msgid, userid=sender, limit=1000, cursor=cursor))
            results.extend(service.SendResult((r.chat_id if group else r.external_userid) or "", r.status,
                                              _when(r.send_time))
                           for r in page.send_list if (r.chat_id if group else r.external_userid))
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    return service.apply_results(ctx.session, task, confirmed_at=confirmed_at, results=results, now=ctx.clock.now(),
                                 unlisted_unsent=group)


@job_handler(JOB)
def sync_results(ctx: JobContext, corp_id: int, broadcast_id: int, round: int = 0) -> None:
    broadcast = repository.broadcast(ctx.session, corp_id, broadcast_id)
    if broadcast is None or broadcast.status not in (BroadcastStatus.sending, BroadcastStatus.cancelled):
        return
    try:
        client = client_for(ctx, corp_id)
        tasks = [t for t in repository.tasks(ctx.session, corp_id, broadcast_id)
                 if t.msgid and t.status in (TaskStatus.awaiting_staff, TaskStatus.confirmed)]
        senders = repository.staff_userids(ctx.session, corp_id, {t.staff_id for t in tasks})
        chat_type = "group" if broadcast.kind == BroadcastKind.groups else "single"
        for task in tasks:
            sync_task(ctx, client, task, senders[task.staff_id], chat_type)
    except WeComNotConnected as error:
        raise PermanentJobError(str(error)) from error
    except WeComApiError as error:
        if error.retryable:
            raise
        raise PermanentJobError(str(error)) from error
    if service.finish_if_complete(ctx.session, broadcast, now=ctx.clock.now()):
        return
    if broadcast.status == BroadcastStatus.sending:
        ctx.enqueue(JOB, {"corp_id": corp_id, "broadcast_id": broadcast_id, "round": round + 1},
                    delay=SYNC_EVERY, key=f"broadcast:{broadcast_id}:sync:{round + 1}", corp_id=corp_id)
