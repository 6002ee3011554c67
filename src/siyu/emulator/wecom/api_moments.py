"""Customer moments (客户朋友圈, reference §3.6).

A moment task names the posting members and, optionally, customer tags that limit who sees it
(partially visible). Members publish in the client (a simulated staff action); a member's post is seen
by that member's customers, filtered by the tags when the moment is partially visible.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import ApiContext, api_context, bounded_limit, json_body, ok, page, require
from siyu.emulator.wecom.entities import Moment
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import Corp

router = APIRouter(prefix="/externalcontact")


def _validate_attachments(ctx: ApiContext, attachments: list[dict[str, Any]]) -> None:
    kinds = {a.get("msgtype") for a in attachments if isinstance(a, dict)}
    if len(kinds) > 1 or not kinds <= {"image", "video", "link"}:
        raise WeComError(errors.INVALID_PARAMETER, "invalid attachments msgtype")
    kind = next(iter(kinds), None)
    if (kind == "image" and len(attachments) > 9) or (kind in ("video", "link") and len(attachments) > 1):
        raise WeComError(errors.INVALID_PARAMETER, "invalid attachments size")
    for attachment in attachments:
        payload = attachment.get(kind) or {}
        if not payload.get("media_id"):
            raise WeComError(errors.INVALID_PARAMETER, f"{kind} needs media_id")
        if not ctx.state.media_valid(ctx.corp, payload["media_id"]):
            raise WeComError(errors.INVALID_MEDIA_ID)
        if kind == "link" and (not payload.get("url") or len(str(payload.get("title") or "").encode()) > 64):
            raise WeComError(errors.INVALID_PARAMETER, "link needs url and a title of at most 64 bytes")


@router.post("/add_moment_task")
def add_moment_task(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    text = body.get("text") or {}
    attachments = body.get("attachments") or []
    if len(str(text.get("content") or "")) > 2000:
        raise WeComError(errors.INVALID_PARAMETER, "invalid text size")
    if not text.get("content") and not attachments:
        raise WeComError(errors.INVALID_PARAMETER, "text and attachments cannot both be empty")
    state, corp = ctx.state, ctx.corp
    with state.lock:
        _validate_attachments(ctx, attachments)
        limit = corp.rate_limits.moment_tasks_per_minute
        now = state.now()
        corp.moment_task_times = [t for t in corp.moment_task_times if t > now - 60]
        if limit is not None and len(corp.moment_task_times) >= limit:
            raise WeComError(errors.API_FREQUENCY_LIMIT)
        corp.moment_task_times.append(now)
        visible = body.get("visible_range") or {}
        sender_list = visible.get("sender_list") or {}
        users, departments = sender_list.get("user_list") or [], sender_list.get("department_list") or []
        tag_list = (visible.get("external_contact_list") or {}).get("tag_list") or []
        invalid_users = [u for u in users if u not in corp.members or corp.members[u].status == 5]
        invalid_departments = [d for d in departments if d not in corp.departments]
        invalid_tags = [t for t in tag_list if t not in corp.tags or corp.tags[t].deleted]
        if users or departments:
            scope: set[int] = set()
            for department in departments:
                if department in corp.departments:
                    scope.update(corp.department_tree(department))
            senders = [u for u in users if u not in invalid_users]
            senders += [m.userid for m in corp.members.values()
                        if m.userid not in senders and m.status == 1 and scope.intersection(m.department)]
        else:
            senders = [m.userid for m in corp.members.values()
                       if m.status == 1 and m.customer_contact and ctx.member_visible(m)]
        moment = Moment(moment_id=state.new_id("mom", 29), jobid=state.new_id("job", 29),
                        create_time=int(now), create_type=0, creator="",
                        visible_type=0 if tag_list else 1, text=text, attachments=attachments,
                        senders=senders, tag_list=[t for t in tag_list if t not in invalid_tags],
                        invalid_users=invalid_users, invalid_departments=invalid_departments,
                        invalid_tags=invalid_tags)
        corp.moments[moment.moment_id] = moment
        corp.moment_jobs[moment.jobid] = moment.moment_id
        return ok(jobid=moment.jobid)


@router.get("/get_moment_task_result")
def get_moment_task_result(jobid: str | None = None, ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        moment_id = ctx.corp.moment_jobs.get(jobid or "")
        if moment_id is None:
            raise WeComError(errors.INVALID_PARAMETER, "invalid jobid")
        moment = ctx.corp.moments[moment_id]
        return ok(status=3, type="add_moment_task", result={
            "errcode": 0, "errmsg": "ok", "moment_id": moment.moment_id,
            "invalid_sender_list": {"user_list": moment.invalid_users,
                                    "department_list": moment.invalid_departments},
            "invalid_external_contact_list": {"tag_list": moment.invalid_tags}})


def moment_json(moment: Moment) -> dict[str, Any]:
    data: dict[str, Any] = {"moment_id": moment.moment_id, "create_time": moment.create_time,
                            "create_type": moment.create_type, "visible_type": moment.visible_type,
                            "text": moment.text}
    if moment.creator:
        data["creator"] = moment.creator
    for attachment in moment.attachments:
        kind = attachment.get("msgtype")
        payload = attachment.get(kind) or {}
        if kind == "image":
            data.setdefault("image", []).append({"media_id": payload.get("media_id")})
        elif kind == "video":
            data["video"] = {"media_id": payload.get("media_id"), "thumb_media_id": payload.get("media_id")}
        elif kind == "link":
            data["link"] = {"title": payload.get("title", ""), "url": payload.get("url", "")}
    return data


@router.post("/get_moment_list")
def get_moment_list(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "start_time", "end_time")
    start, end = int(body["start_time"]), int(body["end_time"])
    if end < start or end - start > 30 * 86400:
        raise WeComError(errors.INVALID_PARAMETER, "start_time..end_time must span at most 30 days")
    filter_type = int(body.get("filter_type", 2))
    limit = bounded_limit(body.get("limit"), 20, 20)
    with ctx.state.lock:
        rows = [m for m in ctx.corp.moments.values()
                if start < m.create_time < end and (filter_type == 2 or m.create_type == filter_type)
                and (not body.get("creator") or m.creator == body["creator"])]
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, moment_list=[moment_json(m) for m in chunk])


def _moment(ctx: ApiContext, body: dict[str, Any]) -> Moment:
    require(body, "moment_id")
    moment = ctx.corp.moments.get(body["moment_id"])
    if moment is None:
        raise WeComError(errors.INVALID_PARAMETER, f"invalid moment_id {body['moment_id']!r}")
    return moment


def visible_customers(corp: Corp, moment: Moment, userid: str) -> list[str]:
    """The customers of ``userid`` who can see the moment (all of them when it is public)."""
    result = []
    for external_userid in corp.customers_by_user.get(userid, {}):
        follow = corp.customers[external_userid].follows[userid]
        if follow.half:
            continue
        if moment.visible_type == 1 or any(tag in follow.tag_ids for tag in moment.tag_list):
            result.append(external_userid)
    return result


@router.post("/get_moment_task")
def get_moment_task(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    limit = bounded_limit(body.get("limit"), 500, 1000)
    with ctx.state.lock:
        moment = _moment(ctx, body)
        rows = [{"userid": u, "publish_status": 1 if u in moment.published else 0} for u in moment.senders]
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, task_list=chunk)


@router.post("/get_moment_customer_list")
def get_moment_customer_list(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "moment_id", "userid")
    limit = bounded_limit(body.get("limit"), 500, 1000)
    with ctx.state.lock:
        moment = _moment(ctx, body)
        ctx.corp.member(body["userid"])
        rows = [{"userid": body["userid"], "external_userid": e}
                for e in visible_customers(ctx.corp, moment, body["userid"])]
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, customer_list=chunk)


@router.post("/get_moment_send_result")
def get_moment_send_result(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "moment_id", "userid")
    limit = bounded_limit(body.get("limit"), 3000, 5000)
    with ctx.state.lock:
        moment = _moment(ctx, body)
        ctx.corp.member(body["userid"])
        seen = visible_customers(ctx.corp, moment, body["userid"]) if body["userid"] in moment.published else []
        chunk, next_cursor = page([{"external_userid": e} for e in seen], body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, customer_list=chunk)


@router.post("/get_moment_comments")
def get_moment_comments(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "moment_id", "userid")
    with ctx.state.lock:
        moment = _moment(ctx, body)
        ctx.corp.member(body["userid"])

        def of_member(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: v for k, v in row.items() if k != "poster"}
                    for row in rows if row["poster"] == body["userid"]]

        return ok(comment_list=of_member(moment.comments), like_list=of_member(moment.likes))


@router.post("/cancel_moment_task")
def cancel_moment_task(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        _moment(ctx, body).cancelled = True
        return ok()
