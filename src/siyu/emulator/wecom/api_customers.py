"""Customers and corp tags (reference §3.1, §3.2). API changes here never raise callbacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import (
    ApiContext,
    api_context,
    bounded_limit,
    decode_cursor,
    encode_cursor,
    json_body,
    ok,
    page,
    require,
)
from siyu.emulator.wecom.entities import ExternalContact, Follow, Tag, TagGroup
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import Corp

router = APIRouter(prefix="/externalcontact")
MAX_CORP_TAGS = 3000
FOLLOWERS_PER_PAGE = 500


def contact_json(customer: ExternalContact) -> dict[str, Any]:
    data: dict[str, Any] = {"external_userid": customer.external_userid, "name": customer.name,
                            "type": customer.type, "gender": customer.gender, "avatar": customer.avatar}
    if customer.unionid:
        data["unionid"] = customer.unionid
    if customer.type == 2:
        data.update(position=customer.position, corp_name=customer.corp_name,
                    corp_full_name=customer.corp_name, external_profile={"external_attr": []})
    return data


def _follow_common(follow: Follow) -> dict[str, Any]:
    data = {"userid": follow.userid, "remark": follow.remark, "description": follow.description,
            "createtime": follow.createtime, "remark_corp_name": follow.remark_corp_name,
            "remark_mobiles": list(follow.remark_mobiles), "oper_userid": follow.oper_userid,
            "add_way": follow.add_way}
    if follow.state:
        data["state"] = follow.state
    return data


def follow_user_json(corp: Corp, follow: Follow) -> dict[str, Any]:
    data = _follow_common(follow)
    tags = []
    for tag_id in follow.tag_ids:
        tag = corp.tags.get(tag_id)
        if tag is not None and not tag.deleted:
            tags.append({"group_name": corp.tag_groups[tag.group_id].group_name, "tag_name": tag.name,
                         "tag_id": tag.id, "type": 1})
    data["tags"] = tags
    return data


def follow_info_json(follow: Follow) -> dict[str, Any]:
    data = _follow_common(follow)
    data["tag_id"] = list(follow.tag_ids)
    return data


@router.get("/get_follow_user_list")
def get_follow_user_list(ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        return ok(follow_user=[m.userid for m in ctx.corp.members.values()
                               if m.customer_contact and m.status == 1 and ctx.member_visible(m)])


@router.get("/list")
def list_customers(userid: str | None = None, ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        member = ctx.corp.member(userid)
        customers = list(ctx.corp.customers_by_user.get(member.userid, {}))
        if not customers:
            raise WeComError(errors.NOT_EXTERNAL_CONTACT)
        return ok(external_userid=customers)


@router.get("/get")
def get_customer(external_userid: str | None = None, cursor: str | None = None,
                 ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        customer = ctx.corp.customer(external_userid)
        follows, next_cursor = page(list(customer.follows.values()), cursor, FOLLOWERS_PER_PAGE)
        result = ok(external_contact=contact_json(customer),
                    follow_user=[follow_user_json(ctx.corp, f) for f in follows])
        if next_cursor:
            result["next_cursor"] = next_cursor
        return result


@router.post("/batch/get_by_user")
def batch_get_by_user(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Customers of up to 100 members; accepts ``userid_list`` (current) and ``userid`` (wechatpy)."""
    ctx.require_customer_contact()
    userids = body.get("userid_list")
    if userids is None and body.get("userid"):
        userids = [body["userid"]]
    if not isinstance(userids, list) or not 1 <= len(userids) <= 100:
        raise WeComError(errors.INVALID_PARAMETER, "userid_list must hold 1..100 userids")
    limit = bounded_limit(body.get("limit"), 50, 100)
    with ctx.state.lock:
        corp = ctx.corp
        for userid in userids:
            corp.member(userid)
        user_index, offset = decode_cursor(body.get("cursor"), 2)
        rows: list[dict[str, Any]] = []
        while user_index < len(userids) and len(rows) < limit:
            userid = userids[user_index]
            ids = list(corp.customers_by_user.get(userid, {}))
            for external_userid in ids[offset:offset + limit - len(rows)]:
                customer = corp.customers[external_userid]
                rows.append({"external_contact": contact_json(customer),
                             "follow_info": follow_info_json(customer.follows[userid])})
                offset += 1
            if offset >= len(ids):
                user_index, offset = user_index + 1, 0
        done = user_index >= len(userids)
        return ok(external_contact_list=rows, next_cursor="" if done else encode_cursor(user_index, offset))


def _follow(corp: Corp, userid: str | None, external_userid: str | None) -> Follow:
    corp.member(userid)
    customer = corp.customer(external_userid)
    follow = customer.follows.get(userid or "")
    if follow is None:
        raise WeComError(errors.NOT_EXTERNAL_CONTACT)
    return follow


@router.post("/remark")
def remark(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    fields = ("remark", "description", "remark_company", "remark_mobiles", "remark_pic_mediaid")
    if not any(name in body for name in fields):
        raise WeComError(errors.INVALID_PARAMETER, "no remark field given")
    if len(str(body.get("remark") or "")) > 20 or len(str(body.get("description") or "")) > 150:
        raise WeComError(errors.INVALID_PARAMETER, "remark ≤ 20 and description ≤ 150 characters")
    with ctx.state.lock:
        follow = _follow(ctx.corp, body.get("userid"), body.get("external_userid"))
        if "remark" in body:
            follow.remark = str(body["remark"] or "")
        if "description" in body:
            follow.description = str(body["description"] or "")
        if "remark_company" in body:
            follow.remark_corp_name = str(body["remark_company"] or "")
        if "remark_mobiles" in body:
            follow.remark_mobiles = [m for m in body["remark_mobiles"] or [] if m]
        return ok()


def _tag_json(tag: Tag, with_deleted: bool) -> dict[str, Any]:
    data = {"id": tag.id, "name": tag.name, "create_time": tag.create_time, "order": tag.order}
    if with_deleted:
        data["deleted"] = tag.deleted
    return data


def _group_json(corp: Corp, group: TagGroup, tag_filter: set[str] | None, with_deleted: bool) -> dict:
    tags = [corp.tags[t] for t in group.tag_ids
            if (with_deleted or not corp.tags[t].deleted) and (tag_filter is None or t in tag_filter)]
    data = {"group_id": group.group_id, "group_name": group.group_name, "create_time": group.create_time,
            "order": group.order,
            "tag": [_tag_json(t, with_deleted) for t in sorted(tags, key=lambda t: -t.order)]}
    if with_deleted:
        data["deleted"] = group.deleted
    return data


@router.post("/get_corp_tag_list")
def get_corp_tag_list(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    tag_ids, group_ids = body.get("tag_id") or [], body.get("group_id") or []
    with ctx.state.lock:
        corp = ctx.corp
        by_id = bool(tag_ids or group_ids)
        if group_ids:  # when both are given only group_id filters
            groups = [corp.tag_groups[g] for g in group_ids if g in corp.tag_groups]
            tag_filter = None
        elif tag_ids:
            tag_filter = {t for t in tag_ids if t in corp.tags}
            groups = [g for g in corp.tag_groups.values() if tag_filter.intersection(g.tag_ids)]
        else:
            groups = [g for g in corp.tag_groups.values() if not g.deleted]
            tag_filter = None
        groups.sort(key=lambda g: -g.order)
        return ok(tag_group=[_group_json(corp, g, tag_filter, by_id) for g in groups])


def add_tags(ctx: ApiContext, body: dict[str, Any]) -> tuple[TagGroup, list[Tag]]:
    """add_corp_tag's rule set, shared with the admin simulation."""
    corp, state = ctx.corp, ctx.state
    wanted = body.get("tag") or []
    if not isinstance(wanted, list) or not wanted or any(not isinstance(t, dict) or not t.get("name")
                                                         for t in wanted):
        raise WeComError(errors.INVALID_PARAMETER, "tag must list at least one {name}")
    if any(len(str(t["name"])) > 30 for t in wanted) or len(str(body.get("group_name") or "")) > 30:
        raise WeComError(errors.INVALID_PARAMETER, "tag and group names are at most 30 characters")
    now = state.now_int()
    group = None
    if body.get("group_id"):
        group = corp.tag_groups.get(body["group_id"])
        if group is None or group.deleted:
            raise WeComError(errors.INVALID_TAG_ID, f"invalid group_id {body['group_id']!r}")
    elif body.get("group_name"):
        group = next((g for g in corp.tag_groups.values()
                      if g.group_name == body["group_name"] and not g.deleted), None)
    else:
        raise WeComError(errors.INVALID_PARAMETER, "group_id or group_name is required")
    live = sum(1 for t in corp.tags.values() if not t.deleted)
    if live + len(wanted) > MAX_CORP_TAGS:
        raise WeComError(errors.INVALID_PARAMETER, f"a corp has at most {MAX_CORP_TAGS} tags")
    if group is None:
        group = TagGroup(group_id=state.new_id("et", 26, "AAAA"), group_name=body["group_name"],
                         create_time=now, order=int(body.get("order") or 0))
        corp.tag_groups[group.group_id] = group
    result: list[Tag] = []
    for item in wanted:
        existing = next((corp.tags[t] for t in group.tag_ids
                         if corp.tags[t].name == item["name"] and not corp.tags[t].deleted), None)
        if existing is None:  # duplicate names in one group collapse to one tag
            existing = Tag(id=state.new_id("et", 26, "AAAA"), name=str(item["name"]), group_id=group.group_id,
                           create_time=now, order=int(item.get("order") or 0))
            corp.tags[existing.id] = existing
            group.tag_ids.append(existing.id)
        if existing not in result:
            result.append(existing)
    return group, result


@router.post("/add_corp_tag")
def add_corp_tag(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        group, tags = add_tags(ctx, body)
        return ok(tag_group={"group_id": group.group_id, "group_name": group.group_name,
                             "create_time": group.create_time, "order": group.order,
                             "tag": [_tag_json(t, False) for t in tags]})


def edit_tag(corp: Corp, body: dict[str, Any]) -> str:
    """edit_corp_tag's rules; returns ``tag`` or ``tag_group``."""
    require(body, "id")
    name = body.get("name")
    if name is not None and (not name or len(str(name)) > 30):
        raise WeComError(errors.INVALID_PARAMETER, "name must be 1..30 characters")
    if body["id"] in corp.tags and not corp.tags[body["id"]].deleted:
        tag = corp.tags[body["id"]]
        siblings = [corp.tags[t] for t in corp.tag_groups[tag.group_id].tag_ids if t != tag.id]
        if name is not None and any(s.name == name and not s.deleted for s in siblings):
            raise WeComError(errors.INVALID_PARAMETER, "a tag with this name exists in the group")
        tag.name = name if name is not None else tag.name
        tag.order = int(body["order"]) if body.get("order") is not None else tag.order
        return "tag"
    group = corp.tag_groups.get(body["id"])
    if group is None or group.deleted:
        raise WeComError(errors.INVALID_TAG_ID, f"invalid id {body['id']!r}")
    if name is not None and any(g.group_name == name and g is not group and not g.deleted
                                for g in corp.tag_groups.values()):
        raise WeComError(errors.INVALID_PARAMETER, "a tag group with this name exists")
    group.group_name = name if name is not None else group.group_name
    group.order = int(body["order"]) if body.get("order") is not None else group.order
    return "tag_group"


@router.post("/edit_corp_tag")
def edit_corp_tag(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        edit_tag(ctx.corp, body)
        return ok()


def delete_tags(corp: Corp, tag_ids: list[str], group_ids: list[str]) -> list[tuple[str, str]]:
    """del_corp_tag's rules; returns the (id, tag|tag_group) deleted, one entry per deleted group."""
    if not tag_ids and not group_ids:
        raise WeComError(errors.INVALID_PARAMETER, "tag_id and group_id cannot both be empty")
    for tag_id in tag_ids:
        if tag_id not in corp.tags or corp.tags[tag_id].deleted:
            raise WeComError(errors.INVALID_TAG_ID, f"invalid tag_id {tag_id!r}")
    for group_id in group_ids:
        if group_id not in corp.tag_groups or corp.tag_groups[group_id].deleted:
            raise WeComError(errors.INVALID_TAG_ID, f"invalid group_id {group_id!r}")
    deleted: list[tuple[str, str]] = []
    doomed = set(tag_ids)
    for group_id in group_ids:
        corp.tag_groups[group_id].deleted = True
        doomed.update(corp.tag_groups[group_id].tag_ids)
        deleted.append((group_id, "tag_group"))
    for tag_id in tag_ids:
        deleted.append((tag_id, "tag"))
    for tag_id in doomed:
        corp.tags[tag_id].deleted = True
    for group in corp.tag_groups.values():  # deleting every tag of a group deletes the group
        if not group.deleted and group.tag_ids and all(corp.tags[t].deleted for t in group.tag_ids):
            group.deleted = True
    if doomed:  # deleted tags disappear from every customer
        for customer in corp.customers.values():
            for follow in customer.follows.values():
                if follow.tag_ids and doomed.intersection(follow.tag_ids):
                    follow.tag_ids = [t for t in follow.tag_ids if t not in doomed]
    return deleted


@router.post("/del_corp_tag")
def del_corp_tag(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        delete_tags(ctx.corp, list(body.get("tag_id") or []), list(body.get("group_id") or []))
        return ok()


def mark_tags(corp: Corp, follow: Follow, add: list[str], remove: list[str]) -> None:
    for tag_id in [*add, *remove]:
        if tag_id not in corp.tags or corp.tags[tag_id].deleted:
            raise WeComError(errors.INVALID_TAG_ID, f"invalid tag {tag_id!r}")
    follow.tag_ids = [t for t in follow.tag_ids if t not in remove]
    follow.tag_ids.extend(t for t in dict.fromkeys(add) if t not in follow.tag_ids)


@router.post("/mark_tag")
def mark_tag(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    add, remove = list(body.get("add_tag") or []), list(body.get("remove_tag") or [])
    if not add and not remove:
        raise WeComError(errors.INVALID_PARAMETER, "add_tag and remove_tag cannot both be empty")
    with ctx.state.lock:
        follow = _follow(ctx.corp, body.get("userid"), body.get("external_userid"))
        mark_tags(ctx.corp, follow, add, remove)
        return ok()
