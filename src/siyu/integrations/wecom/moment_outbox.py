"""Moments in WeCom: the outbox deliverer (provider ``wecom_moment``) and the result sync job.

``add_moment_task`` is delivered write-ahead like mass messages (see ``broadcast_outbox``): the first
delivery commits the intent, and every later one first looks the moment up in ``get_moment_list``
(a corp-created moment of the same text since the task was queued, not claimed by another task).
The answer is a ``jobid``; ``get_moment_task_result`` turns it into the ``moment_id``.

Job ``moment.sync_results {"corp_id", "moment_task_id"}``: the moment id if still missing, each
sender's publish status (``get_moment_task``), the customers each published post is visible to
(``get_moment_send_result``) and comments and likes (``get_moment_comments``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from siyu.integrations.wecom import schemas_engagement as s
from siyu.integrations.wecom.broadcast_outbox import attachments_of, fresh_media
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.outbox import client_for, transient_or_unknown
from siyu.kit.jobs import JobContext, PermanentJobError, job_handler
from siyu.kit.outbox import Deliverer, ProviderOutcomeUnknown, ProviderRefused, register_deliverer
from siyu.models import Staff, Tag
from siyu.models.job import OutboxMessage, OutboxStatus
from siyu.models.moment import MomentStatus, MomentTask
from siyu.moment import service

SLACK = timedelta(minutes=10)


def _task(ctx: JobContext, message: OutboxMessage) -> MomentTask:
    task = ctx.session.get(MomentTask, int(message.payload["moment_task_id"]), with_for_update=True)
    if task is None or task.corp_id != message.corp_id:
        raise ProviderRefused("moment task does not exist")
    return task


def _request(ctx: JobContext, client: WeComClient, task: MomentTask) -> s.AddMomentTaskRequest:
    userids = list(ctx.session.scalars(select(Staff.userid).where(Staff.id.in_(task.staff_ids)))) if task.staff_ids else []
    tags = list(ctx.session.scalars(select(Tag.wecom_tag_id).where(Tag.id.in_(task.tag_ids)))) if task.tag_ids else []
    extra, attachments = attachments_of(fresh_media(ctx.session, client, task.corp_id, list(task.material_ids),
                                                    ctx.clock.now()))
    text = "\n".join(part for part in (task.text, extra) if part)
    visible = None
    if userids or tags:
        visible = s.MomentVisibleRange(sender_list=s.MomentSenders(user_list=userids) if userids else None,
                                       external_contact_list=s.MomentCustomers(tag_list=tags) if tags else None)
    return s.AddMomentTaskRequest(text=s.Text(content=text) if text else None, attachments=attachments or None,
                                  visible_range=visible)


def _deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    task = _task(ctx, message)
    if task.status != MomentStatus.creating or task.jobid:
        return {"skipped": f"moment task is {task.status}"}
    if message.status == OutboxStatus.pending:
        raise ProviderOutcomeUnknown("intent recorded; the next delivery reconciles with WeCom before it sends")
    client = client_for(ctx, task.corp_id)
    answer = client.add_moment_task(_request(ctx, client, task))
    result = client.get_moment_task_result(answer.jobid)
    moment_id = result.result.moment_id if result.result and result.status == 3 else None
    service.created(ctx.session, task, jobid=answer.jobid, moment_id=moment_id, now=ctx.clock.now())
    return {"jobid": answer.jobid, "moment_id": moment_id}


def _reconcile(ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
    task = _task(ctx, message)
    if task.jobid or task.moment_id:
        return {"moment_id": task.moment_id, "reconciled": True}
    client = client_for(ctx, task.corp_id)
    start, end = int((message.created_at - SLACK).timestamp()), int((ctx.clock.now() + SLACK).timestamp())
    cursor = None
    while True:
        page = client.get_moment_list(s.GetMomentListRequest(start_time=start, end_time=end, filter_type=0,
                                                             cursor=cursor))
        for moment in page.moment_list:
            if (moment.text or {}).get("content", "").startswith(task.text) and ctx.session.scalar(
                    select(MomentTask.id).where(MomentTask.moment_id == moment.moment_id)) is None:
                service.created(ctx.session, task, jobid="", moment_id=moment.moment_id, now=ctx.clock.now())
                return {"moment_id": moment.moment_id, "reconciled": True}
        if not page.next_cursor:
            return None
        cursor = page.next_cursor


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    try:
        return _deliver(ctx, message)
    except (WeComNotConnected, LookupError) as refusal:
        raise ProviderRefused(str(refusal)) from refusal
    except WeComApiError as error:
        passing = transient_or_unknown(error)
        if passing is not None:
            raise passing from error
        task = _task(ctx, message)
        task.status, task.error = MomentStatus.failed, str(error)[:500]
        raise ProviderRefused(str(error)) from error


register_deliverer(service.PROVIDER, Deliverer(deliver=deliver, reconcile=_reconcile))


@job_handler(service.SYNC_JOB)
def sync_results(ctx: JobContext, corp_id: int, moment_task_id: int) -> None:
    task = service.get_moment(ctx.session, corp_id, moment_task_id)
    try:
        client = client_for(ctx, corp_id)
        if task.moment_id is None and task.jobid:
            result = client.get_moment_task_result(task.jobid)
            if result.status == 3 and result.result:
                service.created(ctx.session, task, jobid=task.jobid, moment_id=result.result.moment_id,
                                now=ctx.clock.now())
        if task.moment_id is None:
            return
        published = [row.userid for row in client.get_moment_task(s.GetMomentTaskRequest(
            moment_id=task.moment_id, limit=1000)).task_list if row.publish_status == 1]
        visible, comments, likes = {}, 0, 0
        for userid in published:
            visible[userid] = [c.external_userid for c in client.get_moment_send_result(s.MomentMemberRequest(
                moment_id=task.moment_id, userid=userid, limit=5000)).customer_list]
            interactions = client.get_moment_comments(s.GetMomentCommentsRequest(moment_id=task.moment_id,
                                                                                 userid=userid))
            comments, likes = comments + len(interactions.comment_list), likes + len(interactions.like_list)
    except WeComNotConnected as error:
        raise PermanentJobError(str(error)) from error
    except WeComApiError as error:
        if error.retryable:
            raise
        raise PermanentJobError(str(error)) from error
    service.apply_results(ctx.session, task, published=published, visible=visible, comments=comments, likes=likes,
                          now=ctx.clock.now())
