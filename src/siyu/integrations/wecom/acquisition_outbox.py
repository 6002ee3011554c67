"""The deliverer of acquisition's outbox messages (provider ``wecom_acquisition``): channel codes
(contact ways), their welcome messages and remarks, and group codes (join ways).

==================  =========================  ==================================================
operation           payload                    WeCom call
==================  =========================  ==================================================
add_contact_way     code_id                    externalcontact/add_contact_way (config_id stored)
update_contact_way  code_id                    externalcontact/update_contact_way (the *current*
                                               rotation, so overtaking updates end right)
del_contact_way     code_id                    externalcontact/del_contact_way
send_welcome_msg    welcome_code, text,        externalcontact/send_welcome_msg, only before the
                    attachments, deadline      deadline; 41051 is final, 41096 retried in the window
remark              userid, external_userid,   externalcontact/remark
                    remark
add_join_way        group_code_id              externalcontact/groupchat/add_join_way
add_group_welcome_  group_code_id              externalcontact/group_welcome_template/add (the
template                                       code's welcome text; owners pick it for the groups)
refresh_join_way    group_code_id              externalcontact/groupchat/get_join_way (groups that
                                               WeCom opened when the others filled are stored)
==================  =========================  ==================================================

A creation whose answer was lost is reconciled, not resent: the way is looked up by its ``state``.
"""

from __future__ import annotations

from typing import Any

from siyu.acquisition import group_codes, service, welcome
from siyu.integrations.wecom import schemas as base
from siyu.integrations.wecom import schemas_engagement as s
from siyu.integrations.wecom import schemas_groups as g
from siyu.integrations.wecom.api_group_welcome import add_group_welcome_template
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.outbox import client_for, transient_or_unknown
from siyu.kit.jobs import JobContext
from siyu.kit.outbox import Deliverer, ProviderRefused, ProviderRetryable, register_deliverer
from siyu.models.job import OutboxMessage

PROVIDER = service.PROVIDER
WELCOME_ALREADY_SENT = 41051
WELCOME_BEING_SENT = 41096
INVALID_PARAMETER = 40058


def _add_contact_way(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    code = service.code_for_delivery(ctx.session, corp_id, payload["code_id"])
    if code.config_id or code.status == "deleted":
        return {"config_id": code.config_id, "skipped": "already created or deleted"}
    answer = client.add_contact_way(s.AddContactWayRequest(
        type=2, scene=2, remark=code.name[:30], skip_verify=code.skip_verify, state=code.state,
        user=list(code.rotation)))
    service.record_created(ctx.session, code, answer.config_id, answer.qr_code, ctx.clock.now())
    return {"config_id": answer.config_id, "qr_code": answer.qr_code}


def _reconcile_contact_way(ctx: JobContext, message: OutboxMessage) -> dict[str, Any] | None:
    """Did a lost add_contact_way create the way? Look for the code's ``state``."""
    if message.operation != "add_contact_way" or message.corp_id is None:
        return None
    code = service.code_for_delivery(ctx.session, message.corp_id, message.payload["code_id"])
    client = client_for(ctx, message.corp_id)
    cursor = None
    while True:
        page = client.list_contact_way(s.ListContactWayRequest(cursor=cursor, limit=1000))
        for way in page.contact_way:
            info = client.get_contact_way(way.config_id).contact_way
            if info.state == code.state:
                service.record_created(ctx.session, code, info.config_id, info.qr_code, ctx.clock.now())
                return {"config_id": info.config_id, "reconciled": True}
        if not page.next_cursor:
            return None
        cursor = page.next_cursor


def _update_contact_way(ctx: JobContext, client: WeComClient, corp_id: int,
                        payload: dict[str, Any]) -> dict[str, Any]:
    code = service.code_for_delivery(ctx.session, corp_id, payload["code_id"])
    if code.status != "active":
        return {"skipped": f"code is {code.status}"}
    if not code.config_id:
        raise ProviderRetryable(f"channel code {code.id} is not in WeCom yet")
    client.update_contact_way(s.UpdateContactWayRequest(config_id=code.config_id, user=list(code.rotation),
                                                        skip_verify=code.skip_verify))
    return {"user": list(code.rotation)}


def _del_contact_way(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    code = service.code_for_delivery(ctx.session, corp_id, payload["code_id"])
    if not code.config_id:
        return {"skipped": "never reached WeCom"}
    try:
        client.del_contact_way(code.config_id)
    except WeComApiError as error:
        if error.errcode != INVALID_PARAMETER:  # an unknown config_id: it is gone already
            raise
    return {"config_id": code.config_id}


def _send_welcome_msg(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    now = ctx.clock.now()
    if not welcome.window_open(payload, now):
        raise ProviderRefused("the welcome code's 20 s window has passed")
    attachments = [s.Attachment.model_validate(a) for a in payload.get("attachments") or []]
    request = s.SendWelcomeMsgRequest(welcome_code=payload["welcome_code"],
                                      text=s.Text(content=payload["text"]) if payload.get("text") else None,
                                      attachments=attachments or None)
    try:
        client.send_welcome_msg(request)
    except WeComApiError as error:
        if error.errcode == WELCOME_ALREADY_SENT:
            raise ProviderRefused(f"41051: the welcome was delivered already or the code is spent ({error})") from error
        if error.errcode == WELCOME_BEING_SENT and welcome.window_open(payload, ctx.clock.now()):
            raise ProviderRetryable(f"41096: another app is sending a welcome ({error})") from error
        raise
    welcome.delivered(ctx.session, corp_id, payload, now)
    return {"sent": True}


def _remark(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    client.remark(base.RemarkRequest(userid=payload["userid"], external_userid=payload["external_userid"],
                                     remark=payload["remark"]))
    return {"remark": payload["remark"]}


def _add_join_way(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    code = group_codes.code_for_delivery(ctx.session, corp_id, payload["group_code_id"])
    if code.config_id:
        return {"skipped": "already created"}
    answer = client.add_join_way(g.JoinWayRequest(
        scene=2, chat_id_list=list(code.chat_ids)[-group_codes.MAX_GROUPS:], remark=code.name[:30],
        auto_create_room=1, room_base_name=code.room_base_name, room_base_id=code.room_base_id, state=code.state))
    info = client.get_join_way(answer.config_id).join_way
    group_codes.record_join_way(ctx.session, code, info.config_id, info.qr_code, info.chat_id_list,
                                info.room_base_id, ctx.clock.now())
    return {"config_id": answer.config_id}


def _add_group_welcome_template(ctx: JobContext, client: WeComClient, corp_id: int,
                                payload: dict[str, Any]) -> dict[str, Any]:
    code = group_codes.code_for_delivery(ctx.session, corp_id, payload["group_code_id"])
    if code.welcome_template_id or not code.welcome_text:
        return {"skipped": "already made or no welcome text"}
    code.welcome_template_id = add_group_welcome_template(client, code.welcome_text)
    return {"template_id": code.welcome_template_id}


def _refresh_join_way(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    code = group_codes.code_for_delivery(ctx.session, corp_id, payload["group_code_id"])
    if not code.config_id:
        raise ProviderRetryable(f"group code {code.id} is not in WeCom yet")
    info = client.get_join_way(code.config_id).join_way
    group_codes.record_join_way(ctx.session, code, info.config_id, info.qr_code, info.chat_id_list,
                                info.room_base_id, ctx.clock.now())
    return {"chat_id_list": info.chat_id_list}


OPERATIONS = {"add_contact_way": _add_contact_way, "update_contact_way": _update_contact_way,
              "del_contact_way": _del_contact_way, "send_welcome_msg": _send_welcome_msg, "remark": _remark,
              "add_join_way": _add_join_way, "refresh_join_way": _refresh_join_way,
              "add_group_welcome_template": _add_group_welcome_template}


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    operation = OPERATIONS.get(message.operation)
    if operation is None:
        raise ProviderRefused(f"unknown acquisition operation {message.operation!r}")
    if message.corp_id is None:
        raise ProviderRefused("an acquisition message needs a corp")
    try:
        return operation(ctx, client_for(ctx, message.corp_id), message.corp_id, message.payload)
    except (WeComNotConnected, LookupError) as refusal:
        raise ProviderRefused(str(refusal)) from refusal
    except WeComApiError as error:
        raise (transient_or_unknown(error) or ProviderRefused(str(error))) from error


register_deliverer(PROVIDER, Deliverer(deliver=deliver, reconcile=_reconcile_contact_way))
