"""Contact ways 「联系我」 and welcome messages (reference §3.3, §3.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import ApiContext, api_context, bounded_limit, json_body, ok, page, require
from siyu.emulator.wecom.broadcasts import validate_content
from siyu.emulator.wecom.entities import ContactWay
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import CONTACT_WAY_MAX_USERS, WELCOME_CODE_TTL_SECONDS, Corp, EmulatorState

router = APIRouter(prefix="/externalcontact")
TEMP_DEFAULT_EXPIRES = 7 * 86400
TEMP_MAX_EXPIRES = 14 * 86400
CHAT_DEFAULT_EXPIRES = 86400


def way_members(corp: Corp, way: ContactWay) -> list[str]:
    """The users a way can hand a customer to: ``user`` plus members of ``party`` (and sub-departments)."""
    userids = list(dict.fromkeys(way.user))
    departments: set[int] = set()
    for party in way.party:
        departments.update(corp.department_tree(party))
    for member in corp.members.values():
        if member.userid not in userids and any(d in departments for d in member.department):
            userids.append(member.userid)
    return userids


def _apply(ctx: ApiContext, way: ContactWay, body: dict[str, Any], creating: bool) -> None:
    corp = ctx.corp
    if "remark" in body and len(str(body["remark"] or "")) > 30:
        raise WeComError(errors.INVALID_PARAMETER, "remark is at most 30 characters")
    if "state" in body and len(str(body["state"] or "")) > 30:
        raise WeComError(errors.INVALID_PARAMETER, "state is at most 30 characters")
    users = body.get("user", way.user if not creating else [])
    parties = body.get("party", way.party if not creating else [])
    if isinstance(users, str):
        users = [users]
    if not isinstance(users, list) or not isinstance(parties, list):
        raise WeComError(errors.INVALID_PARAMETER, "user and party must be lists")
    for userid in users:
        member = corp.member(userid)
        if not member.customer_contact or member.status != 1:
            raise WeComError(errors.NO_CUSTOMER_CONTACT_PERMISSION, f"{userid} has no customer contact")
    for party in parties:
        if party not in corp.departments:
            raise WeComError(errors.INVALID_DEPARTMENT, f"department {party} does not exist")
    if way.type == 1 and (len(users) != 1 or parties):
        raise WeComError(errors.INVALID_PARAMETER, "a single-user way (type 1) needs exactly one user")
    if way.type == 2 and not users and not parties:
        raise WeComError(errors.INVALID_PARAMETER, "a multi-user way (type 2) needs user or party")
    candidate = ContactWay(config_id=way.config_id, type=way.type, scene=way.scene, create_time=0,
                           user=list(users), party=list(parties))
    if len(way_members(corp, candidate)) > CONTACT_WAY_MAX_USERS:
        raise WeComError(errors.INVALID_PARAMETER,
                         f"a contact way holds at most {CONTACT_WAY_MAX_USERS} users (after expanding party)")
    is_temp = bool(body.get("is_temp", way.is_temp))
    if is_temp and way.type != 1:
        raise WeComError(errors.INVALID_PARAMETER, "temporary sessions are for single-user ways")
    expires_in = int(body.get("expires_in") or (way.expires_in or TEMP_DEFAULT_EXPIRES))
    chat_expires_in = int(body.get("chat_expires_in") or (way.chat_expires_in or CHAT_DEFAULT_EXPIRES))
    if is_temp and not (0 < expires_in <= TEMP_MAX_EXPIRES and 0 < chat_expires_in <= TEMP_MAX_EXPIRES):
        raise WeComError(errors.INVALID_PARAMETER, "expires_in and chat_expires_in are at most 14 days")
    way.user, way.party, way.is_temp = list(users), list(parties), is_temp
    way.expires_in = expires_in if is_temp else 0
    way.chat_expires_in = chat_expires_in if is_temp else 0
    for name in ("remark", "state", "unionid"):
        if name in body:
            setattr(way, name, str(body[name] or ""))
    if "style" in body:
        way.style = int(body["style"] or 0)
    if "skip_verify" in body:
        way.skip_verify = bool(body["skip_verify"])
    if "conclusions" in body:
        way.conclusions = dict(body["conclusions"] or {})


def way_expired(state: EmulatorState, way: ContactWay) -> bool:
    """A temporary way is spent after one add or when ``expires_in`` has passed."""
    return way.is_temp and (way.used or way.create_time + way.expires_in <= state.now())


@router.post("/add_contact_way")
def add_contact_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "type", "scene")
    if body["type"] not in (1, 2) or body["scene"] not in (1, 2):
        raise WeComError(errors.INVALID_PARAMETER, "type and scene must be 1 or 2")
    with ctx.state.lock:
        way = ContactWay(config_id=ctx.state.new_hex(32), type=body["type"], scene=body["scene"],
                         create_time=ctx.state.now_int())
        _apply(ctx, way, body, creating=True)
        if way.scene == 2:
            way.qr_code = f"http://p.qpic.cn/wwhead/{ctx.state.new_id('duc', 29)}/0"
        ctx.corp.contact_ways[way.config_id] = way
        result = ok(config_id=way.config_id)
        if way.qr_code:
            result["qr_code"] = way.qr_code
        return result


def contact_way_json(way: ContactWay) -> dict[str, Any]:
    data: dict[str, Any] = {
        "config_id": way.config_id, "type": way.type, "scene": way.scene, "style": way.style,
        "remark": way.remark, "skip_verify": way.skip_verify, "state": way.state, "user": list(way.user),
        "party": list(way.party), "is_temp": way.is_temp,
    }
    if way.qr_code:
        data["qr_code"] = way.qr_code
    if way.is_temp:
        data.update(expires_in=way.expires_in, chat_expires_in=way.chat_expires_in, unionid=way.unionid,
                    conclusions=way.conclusions)
    return data


def _way(ctx: ApiContext, body: dict[str, Any]) -> ContactWay:
    require(body, "config_id")
    way = ctx.corp.contact_ways.get(body["config_id"])
    if way is None:
        raise WeComError(errors.INVALID_PARAMETER, f"invalid config_id {body['config_id']!r}")
    return way


@router.post("/get_contact_way")
def get_contact_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        return ok(contact_way=contact_way_json(_way(ctx, body)))


@router.post("/update_contact_way")
def update_contact_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        way = _way(ctx, body)
        if way_expired(ctx.state, way):
            raise WeComError(errors.INVALID_PARAMETER, "an expired temporary way cannot be edited")
        _apply(ctx, way, body, creating=False)
        return ok()


@router.post("/del_contact_way")
def del_contact_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        del ctx.corp.contact_ways[_way(ctx, body).config_id]
        return ok()


@router.post("/list_contact_way")
def list_contact_way(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    limit = bounded_limit(body.get("limit"), 100, 1000)
    now = ctx.state.now_int()
    start = int(body.get("start_time") or now - 90 * 86400)
    end = int(body.get("end_time") or now)
    with ctx.state.lock:
        ways = [w for w in ctx.corp.contact_ways.values()
                if not w.is_temp and start <= w.create_time <= end]
        chunk, next_cursor = page(ways, body.get("cursor"), limit)
        return ok(contact_way=[{"config_id": w.config_id} for w in chunk], next_cursor=next_cursor)


@router.post("/close_temp_chat")
def close_temp_chat(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    require(body, "userid", "external_userid")
    with ctx.state.lock:
        ctx.corp.member(body["userid"])
        customer = ctx.corp.customer(body["external_userid"])
        if body["userid"] not in customer.follows:
            raise WeComError(errors.NOT_EXTERNAL_CONTACT)
        return ok()


@router.post("/send_welcome_msg")
def send_welcome_msg(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    """Deliver a welcome message with a code from the add event: valid 20 s, usable once (41051)."""
    ctx.require_customer_contact()
    require(body, "welcome_code")
    state, corp = ctx.state, ctx.corp
    with state.lock:
        code = corp.welcome_codes.get(body["welcome_code"])
        if code is None:
            raise WeComError(errors.INVALID_PARAMETER, "invalid welcome_code")
        now = state.now()
        if code.held_until > now:
            raise WeComError(errors.WELCOME_BEING_DISTRIBUTED)
        if code.used or now - code.issued_at > WELCOME_CODE_TTL_SECONDS:
            raise WeComError(errors.WELCOME_CODE_USED)
        validate_content(state, corp, body, 4000)
        customer = corp.customers.get(code.external_userid)
        if customer is None or code.userid not in customer.follows:
            raise WeComError(errors.NOT_EXTERNAL_CONTACT)
        code.used = True
        corp.log_message(kind="welcome", userid=code.userid, external_userid=code.external_userid,
                         text=body.get("text") or {}, attachments=body.get("attachments") or [],
                         at=int(now))
        return ok()
