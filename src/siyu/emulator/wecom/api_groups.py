"""Customer groups, join ways and transfers (reference §3.7, §3.8)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from siyu.emulator.wecom import errors, groups, transfers
from siyu.emulator.wecom.api import ApiContext, api_context, bounded_limit, json_body, ok, page, require
from siyu.emulator.wecom.entities import GroupChat, JoinWay
from siyu.emulator.wecom.errors import WeComError

router = APIRouter(prefix="/externalcontact")
MAX_JOIN_WAY_GROUPS = 5
NINETY_DAYS = 90 * 86400


@router.post("/groupchat/list")
def groupchat_list(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "limit")
    limit = int(body["limit"])
    if not 1 <= limit <= 1000:
        raise WeComError(errors.INVALID_PARAMETER, "limit must be 1..1000")
    status_filter = int(body.get("status_filter") or 0)
    owners = ((body.get("owner_filter") or {}).get("userid_list")) or []
    if len(owners) > 100:
        raise WeComError(errors.INVALID_PARAMETER, "owner_filter.userid_list holds at most 100 userids")
    with ctx.state.lock:
        corp = ctx.corp
        if not owners and sum(1 for m in corp.members.values() if m.status != 5 and ctx.member_visible(m)) > 1000:
            raise WeComError(errors.TOO_MANY_VISIBLE_MEMBERS)
        rows = [g for g in corp.groups.values()
                if not g.dismissed and (not owners or g.owner in owners)
                and (status_filter == 0 or g.status == status_filter)]
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(group_chat_list=[{"chat_id": g.chat_id, "status": g.status} for g in chunk],
                  next_cursor=next_cursor)


def group_json(group: GroupChat, need_name: bool) -> dict[str, Any]:
    members = []
    for member in group.members.values():
        row: dict[str, Any] = {"userid": member.userid, "type": member.type, "join_time": member.join_time,
                               "join_scene": member.join_scene, "group_nickname": member.group_nickname}
        if member.invitor:
            row["invitor"] = {"userid": member.invitor}
        if member.type == 2 and member.unionid:
            row["unionid"] = member.unionid
        if member.state:
            row["state"] = member.state
        if need_name:
            row["name"] = member.name
        members.append(row)
    return {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
            "create_time": group.create_time, "notice": group.notice, "member_list": members,
            "admin_list": [{"userid": a} for a in group.admin_list],
            "member_version": groups.member_version(group)}


@router.post("/groupchat/get")
def groupchat_get(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "chat_id")
    with ctx.state.lock:
        return ok(group_chat=group_json(ctx.corp.group(body["chat_id"]), bool(body.get("need_name"))))


def _apply_join_way(ctx: ApiContext, way: JoinWay, body: dict[str, Any]) -> None:
    require(body, "scene", "chat_id_list")
    if body["scene"] not in (1, 2):
        raise WeComError(errors.INVALID_PARAMETER, "scene must be 1 or 2")
    chat_ids = body["chat_id_list"]
    if not isinstance(chat_ids, list) or len(chat_ids) > MAX_JOIN_WAY_GROUPS:
        raise WeComError(errors.INVALID_PARAMETER, f"chat_id_list holds 1..{MAX_JOIN_WAY_GROUPS} groups")
    for chat_id in chat_ids:
        ctx.corp.group(chat_id)
    if len(str(body.get("state") or "")) > 30:
        raise WeComError(errors.INVALID_PARAMETER, "state is at most 30 characters")
    way.scene, way.chat_id_list = int(body["scene"]), list(chat_ids)
    way.remark = str(body.get("remark") or "")[:30]  # WeCom truncates, it does not refuse
    way.auto_create_room = int(body.get("auto_create_room", 1))
    way.room_base_name = str(body.get("room_base_name") or "")
    way.room_base_id = int(body.get("room_base_id") or 1)
    way.state = str(body.get("state") or "")
    way.qr_code = way.qr_code or (f"https://wwcdn.weixin.qq.com/node/wework/images/{way.config_id}.png"
                                  if way.scene == 2 else "")


@router.post("/groupchat/add_join_way")
def add_join_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        way = JoinWay(config_id=ctx.state.new_hex(32), scene=0, chat_id_list=[])
        _apply_join_way(ctx, way, body)
        ctx.corp.join_ways[way.config_id] = way
        return ok(config_id=way.config_id)


def _join_way(ctx: ApiContext, body: dict[str, Any]) -> JoinWay:
    require(body, "config_id")
    way = ctx.corp.join_ways.get(body["config_id"])
    if way is None:
        raise WeComError(errors.INVALID_PARAMETER, f"invalid config_id {body['config_id']!r}")
    return way


@router.post("/groupchat/get_join_way")
def get_join_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        way = _join_way(ctx, body)
        data = {"config_id": way.config_id, "scene": way.scene, "remark": way.remark,
                "auto_create_room": way.auto_create_room, "room_base_name": way.room_base_name,
                "room_base_id": way.room_base_id, "chat_id_list": list(way.chat_id_list), "state": way.state}
        if way.qr_code:
            data["qr_code"] = way.qr_code
        return ok(join_way=data)


@router.post("/groupchat/update_join_way")
def update_join_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """A full overwrite, as WeCom documents."""
    ctx.require_customer_contact()
    with ctx.state.lock:
        _apply_join_way(ctx, _join_way(ctx, body), body)
        return ok()


@router.post("/groupchat/del_join_way")
def del_join_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        del ctx.corp.join_ways[_join_way(ctx, body).config_id]
        return ok()


def _start(ctx: ApiContext, body: dict[str, Any], kind: str) -> dict:
    ctx.require_customer_contact()
    require(body, "handover_userid", "takeover_userid")
    with ctx.state.lock:
        results = transfers.start_transfers(ctx.state, ctx.corp, kind, body["handover_userid"],
                                            body["takeover_userid"], body.get("external_userid") or [])
        return ok(customer=results)


@router.post("/transfer_customer")
def transfer_customer(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """在职继承: per-customer errcode 0 means *started*; the takeover happens later."""
    if len(str(body.get("transfer_success_msg") or "")) > 200:
        raise WeComError(errors.INVALID_PARAMETER, "transfer_success_msg is at most 200 characters")
    return _start(ctx, body, "onjob")


@router.post("/resigned/transfer_customer")
def resigned_transfer_customer(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    return _start(ctx, body, "resigned")


def _result(ctx: ApiContext, body: dict[str, Any], kind: str) -> dict:
    ctx.require_customer_contact()
    require(body, "handover_userid", "takeover_userid")
    with ctx.state.lock:
        rows = transfers.transfer_rows(ctx.corp, kind, body["handover_userid"], body["takeover_userid"])
        chunk, next_cursor = page(rows, body.get("cursor"), 1000)
        return ok(customer=chunk, next_cursor=next_cursor)


@router.post("/transfer_result")
def transfer_result(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Status 1 done, 2 waiting, 3 customer refused, 4 takeover limit reached, 5 no record."""
    return _result(ctx, body, "onjob")


@router.post("/resigned/transfer_result")
def resigned_transfer_result(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    return _result(ctx, body, "resigned")


@router.post("/get_unassigned_list")
def get_unassigned_list(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Customers of resigned members not yet (successfully) handed over."""
    ctx.require_customer_contact()
    size = bounded_limit(body.get("page_size"), 1000, 1000)
    with ctx.state.lock:
        corp = ctx.corp
        rows = []
        for member in corp.members.values():
            if member.status == 5:
                rows.extend({"handover_userid": member.userid, "external_userid": e,
                             "dimission_time": member.resigned_at or 0}
                            for e in corp.customers_by_user.get(member.userid, {}))
        if body.get("page_id") is not None and not body.get("cursor"):
            offset = int(body["page_id"]) * size
            chunk = rows[offset:offset + size]
            return ok(info=chunk, is_last=offset + size >= len(rows))
        chunk, next_cursor = page(rows, body.get("cursor"), size)
        return ok(info=chunk, is_last=not next_cursor, next_cursor=next_cursor)


def _transfer_groups(ctx: ApiContext, body: dict[str, Any], resigned: bool) -> dict:
    ctx.require_customer_contact()
    require(body, "chat_id_list", "new_owner")
    chat_ids = body["chat_id_list"]
    if not isinstance(chat_ids, list) or not 1 <= len(chat_ids) <= 100:
        raise WeComError(errors.INVALID_PARAMETER, "chat_id_list holds 1..100 groups")
    state, corp = ctx.state, ctx.corp
    with state.lock:
        new_owner = corp.member(body["new_owner"])
        if new_owner.status != 1 or not new_owner.customer_contact:
            raise WeComError(errors.INVALID_USERID, "new_owner cannot own customer groups")
        now = state.now_int()
        failed = []
        for chat_id in chat_ids:
            group = corp.groups.get(chat_id)
            owner = corp.members.get(group.owner) if group else None
            if group is None or group.dismissed:
                failed.append({"chat_id": chat_id, "errcode": errors.NOT_EXTERNAL_GROUP_CHAT,
                               "errmsg": errors.MESSAGES[errors.NOT_EXTERNAL_GROUP_CHAT]})
            elif resigned and (owner is None or owner.status != 5):
                failed.append({"chat_id": chat_id, "errcode": errors.OWNER_NOT_RESIGNED,
                               "errmsg": errors.MESSAGES[errors.OWNER_NOT_RESIGNED]})
            elif not resigned and len([t for t in group.onjob_transfers if t > now - NINETY_DAYS]) >= 2:
                failed.append({"chat_id": chat_id, "errcode": errors.INVALID_PARAMETER,
                               "errmsg": "a group can be transferred at most twice in 90 days"})
            else:
                # An API change: the owner changes without a change_external_chat callback.
                groups.change_owner(state, corp, group, new_owner.userid)
                group.status = 3 if resigned else 0
                if not resigned:
                    group.onjob_transfers.append(now)
        return ok(failed_chat_list=failed)


@router.post("/groupchat/transfer")
def groupchat_transfer(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """离职群继承: only groups whose owner has resigned (else 90500 in failed_chat_list)."""
    return _transfer_groups(ctx, body, resigned=True)


@router.post("/groupchat/onjob_transfer")
def groupchat_onjob_transfer(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    return _transfer_groups(ctx, body, resigned=False)
