"""gettoken and the address book (通讯录, reference §1.1 and §2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import ApiContext, api_context, bounded_limit, json_body, ok, page
from siyu.emulator.wecom.entities import Department, Member
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import EmulatorState

router = APIRouter()


@router.get("/gettoken")
def gettoken(request: Request, corpid: str | None = None, corpsecret: str | None = None) -> dict:
    """Per-secret access token, 7200 s; the same token is returned while it is still valid."""
    state: EmulatorState = request.app.state.emulator
    token = state.issue_token(corpid, corpsecret)
    return ok(access_token=token.token, expires_in=max(1, int(token.expires_at - state.now())))


def department_json(department: Department) -> dict[str, Any]:
    return {"id": department.id, "name": department.name, "name_en": department.name_en,
            "department_leader": list(department.department_leader), "parentid": department.parentid,
            "order": department.order}


def user_json(member: Member, *, simple: bool = False) -> dict[str, Any]:
    if simple:
        return {"userid": member.userid, "name": member.name, "department": list(member.department)}
    return {
        "userid": member.userid, "name": member.name, "department": list(member.department),
        "order": list(member.order) or [0] * len(member.department), "position": member.position,
        "mobile": member.mobile, "gender": member.gender, "email": member.email, "biz_mail": "",
        "is_leader_in_dept": list(member.is_leader_in_dept) or [0] * len(member.department),
        "direct_leader": [], "avatar": member.avatar, "thumb_avatar": member.avatar, "telephone": "",
        "alias": member.alias, "address": "", "open_userid": "", "main_department": member.main_department,
        "extattr": {"attrs": []}, "status": member.status, "enable": 1 if member.status == 1 else 0,
        "isleader": 1 if any(member.is_leader_in_dept) else 0, "hide_mobile": 0, "english_name": "",
        "qr_code": f"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode={member.userid}",
        "external_position": member.position, "external_profile": {"external_attr": []},
    }


def _visible_tree(ctx: ApiContext, root_id: int | None) -> list[int]:
    corp = ctx.corp
    visible = ctx.visible_departments()
    if root_id is None:
        roots = [1] if visible is None else [d for d in (ctx.app.visible_departments or [])]
        ids: list[int] = []
        for root in roots:
            ids.extend(d for d in corp.department_tree(root) if d not in ids)
        return ids
    if root_id not in corp.departments:
        raise WeComError(errors.INVALID_DEPARTMENT, f"department {root_id} does not exist")
    if visible is not None and root_id not in visible:
        raise WeComError(errors.NO_PRIVILEGE)
    return corp.department_tree(root_id)


@router.get("/department/list")
def department_list(id: int | None = None, ctx: ApiContext = Depends(api_context)) -> dict:
    """The department and its descendants (the whole visible tree when ``id`` is omitted)."""
    with ctx.state.lock:
        ids = _visible_tree(ctx, id)
        return ok(department=[department_json(ctx.corp.departments[d]) for d in ids])


@router.get("/department/simplelist")
def department_simplelist(id: int | None = None, ctx: ApiContext = Depends(api_context)) -> dict:
    with ctx.state.lock:
        ids = _visible_tree(ctx, id)
        departments = [ctx.corp.departments[d] for d in ids]
        return ok(department_id=[{"id": d.id, "parentid": d.parentid, "order": d.order} for d in departments])


@router.get("/department/get")
def department_get(id: int | None = None, ctx: ApiContext = Depends(api_context)) -> dict:
    with ctx.state.lock:
        if id is None:
            raise WeComError(errors.INVALID_PARAMETER, "missing id")
        _visible_tree(ctx, id)
        return ok(department=department_json(ctx.corp.departments[id]))


def _members_of(ctx: ApiContext, department_id: int | None, fetch_child: int) -> list[Member]:
    if department_id is None:
        raise WeComError(errors.INVALID_PARAMETER, "missing department_id")
    tree = _visible_tree(ctx, department_id)
    scope = set(tree if fetch_child else [department_id])
    return [m for m in ctx.corp.members.values()
            if m.status != 5 and any(d in scope for d in m.department)]


@router.get("/user/simplelist")
def user_simplelist(department_id: int | None = None, fetch_child: int = 0,
                    ctx: ApiContext = Depends(api_context)) -> dict:
    with ctx.state.lock:
        members = _members_of(ctx, department_id, fetch_child)
        return ok(userlist=[user_json(m, simple=True) for m in members])


@router.get("/user/list")
def user_list(department_id: int | None = None, fetch_child: int = 0,
              ctx: ApiContext = Depends(api_context)) -> dict:
    with ctx.state.lock:
        members = _members_of(ctx, department_id, fetch_child)
        return ok(userlist=[user_json(m) for m in members])


@router.get("/user/get")
def user_get(userid: str | None = None, ctx: ApiContext = Depends(api_context)) -> dict:
    with ctx.state.lock:
        return ok(**user_json(ctx.visible_member(userid)))


@router.post("/user/list_id")
def user_list_id(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """(userid, department) rows with a cursor; only the 通讯录同步 secret may call it."""
    if ctx.app.kind != "address_book":
        raise WeComError(errors.API_FORBIDDEN, "user/list_id needs the address-book secret")
    limit = bounded_limit(body.get("limit"), 10000, 10000, clamp=False)
    with ctx.state.lock:
        rows = [{"userid": m.userid, "department": d}
                for m in ctx.corp.members.values() if m.status != 5 for d in m.department]
        chunk, next_cursor = page(rows, body.get("cursor"), limit)
        return ok(next_cursor=next_cursor, dept_user=chunk)
