"""Contact and group statistics (reference §3.9), computed from the simulated activity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import ApiContext, api_context, bounded_limit, json_body, ok, require
from siyu.emulator.wecom.entities import DayStats, GroupChat
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import Corp, day_start

router = APIRouter(prefix="/externalcontact")
DAY = 86400
MAX_SPAN_DAYS = 30
HISTORY_DAYS = 180


def _days(ctx: ApiContext, begin: int, end: int, *, before_today: bool) -> list[int]:
    """Day starts of the closed interval; timestamps inside a day are floored to its start."""
    first, last = day_start(begin), day_start(end)
    today = day_start(ctx.state.now_int())
    if last < first or (last - first) // DAY + 1 > MAX_SPAN_DAYS:
        raise WeComError(errors.INVALID_PARAMETER, f"the interval spans at most {MAX_SPAN_DAYS} days")
    if first < today - HISTORY_DAYS * DAY or (before_today and last >= today):
        raise WeComError(errors.INVALID_PARAMETER, "only the last 180 days (up to yesterday) are available")
    return list(range(first, last + DAY, DAY))


@router.post("/get_user_behavior_data")
def get_user_behavior_data(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "start_time", "end_time")
    userids, parties = list(body.get("userid") or []), list(body.get("partyid") or [])
    if not userids and not parties:
        raise WeComError(errors.INVALID_PARAMETER, "userid and partyid cannot both be empty")
    if len(userids) > 100 or len(parties) > 100:
        raise WeComError(errors.INVALID_PARAMETER, "at most 100 userids and 100 partyids")
    with ctx.state.lock:
        corp = ctx.corp
        days = _days(ctx, int(body["start_time"]), int(body["end_time"]), before_today=False)
        members = {corp.member(u).userid for u in userids}
        for party in parties:
            if party not in corp.departments:
                raise WeComError(errors.INVALID_DEPARTMENT)
            tree = set(corp.department_tree(party))
            members.update(m.userid for m in corp.members.values() if tree.intersection(m.department))
        data = []
        for day in days:
            rows = [corp.stats[(u, day)] for u in members if (u, day) in corp.stats]
            data.append(_behavior(day, rows))
        return ok(behavior_data=data)


def _behavior(day: int, rows: list[DayStats]) -> dict[str, Any]:
    started = sum(len(r.customer_started) for r in rows)
    replied = sum(len(r.replied) for r in rows)
    reply_seconds = [s for r in rows for s in r.reply_seconds]
    item: dict[str, Any] = {
        "stat_time": day, "chat_cnt": sum(len(r.chats) for r in rows),
        "message_cnt": sum(r.message_cnt for r in rows),
        "negative_feedback_cnt": sum(r.negative_feedback_cnt for r in rows),
        "new_apply_cnt": sum(r.new_apply_cnt for r in rows),
        "new_contact_cnt": sum(r.new_contact_cnt for r in rows),
    }
    if started:
        item["reply_percentage"] = round(100.0 * replied / started, 2)
    if reply_seconds:
        item["avg_reply_time"] = round(sum(reply_seconds) / len(reply_seconds) / 60)
    return item


def _group_data(groups: list[GroupChat], days: list[int]) -> dict[str, int]:
    first, end = days[0], days[-1] + DAY
    alive = [g for g in groups if g.create_time < end and not g.dismissed]
    senders: set[tuple[str, str]] = set()
    for group in alive:
        for day in days:
            senders.update((group.chat_id, s) for s in group.message_senders.get(day, ()))
    return {
        "new_chat_cnt": sum(1 for g in alive if g.create_time >= first),
        "chat_total": len(alive),
        "chat_has_msg": sum(1 for g in alive if any(g.message_days.get(d) for d in days)),
        "new_member_cnt": sum(1 for g in alive for m in g.members.values() if first <= m.join_time < end),
        "member_total": sum(len(g.members) for g in alive),
        "member_has_msg": len(senders),
        "msg_total": sum(g.message_days.get(d, 0) for g in alive for d in days),
        "migrate_trainee_chat_cnt": 0,
    }


def _owners(ctx: ApiContext, body: dict[str, Any]) -> list[str]:
    corp: Corp = ctx.corp
    owners = ((body.get("owner_filter") or {}).get("userid_list")) or []
    if len(owners) > 100:
        raise WeComError(errors.INVALID_PARAMETER, "owner_filter.userid_list holds at most 100 userids")
    if not owners:
        if sum(1 for m in corp.members.values() if m.status != 5) > 1000:
            raise WeComError(errors.TOO_MANY_VISIBLE_MEMBERS)
        owners = list(dict.fromkeys(g.owner for g in corp.groups.values()))
    return owners


@router.post("/groupchat/statistic")
def groupchat_statistic(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Per-owner aggregates; ``next_offset == total`` when done."""
    ctx.require_customer_contact()
    require(body, "day_begin_time")
    limit = bounded_limit(body.get("limit"), 500, 1000)
    offset = int(body.get("offset") or 0)
    with ctx.state.lock:
        begin = int(body["day_begin_time"])
        days = _days(ctx, begin, int(body.get("day_end_time") or begin), before_today=True)
        items = []
        for owner in _owners(ctx, body):
            owned = [g for g in ctx.corp.groups.values() if g.owner == owner]
            items.append({"owner": owner, "data": _group_data(owned, days)})
        order_key = {1: "new_chat_cnt", 2: "chat_total", 3: "new_member_cnt", 4: "member_total"}.get(
            int(body.get("order_by") or 1), "new_chat_cnt")
        items.sort(key=lambda item: item["data"][order_key], reverse=not body.get("order_asc"))
        chunk = items[offset:offset + limit]
        return ok(total=len(items), next_offset=min(offset + limit, len(items)), items=chunk)


@router.post("/groupchat/statistic_group_by_day")
def statistic_group_by_day(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "day_begin_time")
    with ctx.state.lock:
        begin = int(body["day_begin_time"])
        days = _days(ctx, begin, int(body.get("day_end_time") or begin), before_today=True)
        owners = set(_owners(ctx, body))
        owned = [g for g in ctx.corp.groups.values() if g.owner in owners]
        return ok(items=[{"stat_time": day, "data": _group_data(owned, [day])} for day in days])
