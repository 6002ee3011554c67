"""Callback event XML (reference §5), before encryption.

Self-built-app envelope: ``ToUserName`` = CorpID, ``FromUserName`` = ``sys``, ``CreateTime``,
``MsgType`` = ``event``, ``Event``, ``ChangeType`` and the change's fields. Elements are written one per
line like the official samples.
"""

from __future__ import annotations

from collections.abc import Iterable


def _cdata(value: object) -> str:
    text = str(value)
    # "]]>" cannot appear inside CDATA; split it the standard way.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _event(corp_id: str, create_time: int, event: str, fields: list[tuple[str, object, bool]]) -> str:
    lines = [
        "<xml>",
        f"<ToUserName>{_cdata(corp_id)}</ToUserName>",
        f"<FromUserName>{_cdata('sys')}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{_cdata('event')}</MsgType>",
        f"<Event>{_cdata(event)}</Event>",
    ]
    for name, value, is_text in fields:
        if value is None:
            continue
        lines.append(f"<{name}>{_cdata(value) if is_text else value}</{name}>")
    lines.append("</xml>")
    return "\n".join(lines)


def external_contact(corp_id: str, create_time: int, change_type: str, userid: str,
                     external_userid: str, *, state: str | None = None, welcome_code: str | None = None,
                     source: str | None = None, fail_reason: str | None = None) -> str:
    """change_external_contact: add/edit/add_half/del_external_contact, del_follow_user, transfer_fail."""
    return _event(corp_id, create_time, "change_external_contact", [
        ("ChangeType", change_type, True),
        ("UserID", userid, True),
        ("ExternalUserID", external_userid, True),
        ("State", state or None, True),
        ("WelcomeCode", welcome_code, True),
        ("Source", source, True),
        ("FailReason", fail_reason, True),
    ])


def external_chat(corp_id: str, create_time: int, change_type: str, chat_id: str, *,
                  update_detail: str | None = None, join_scene: int | None = None,
                  quit_scene: int | None = None, changed: Iterable[str] = (),
                  last_version: str | None = None, current_version: str | None = None) -> str:
    """change_external_chat: create / update (add_member, del_member, change_owner, change_name…) / dismiss."""
    fields: list[tuple[str, object, bool]] = [("ChatId", chat_id, True), ("ChangeType", change_type, True)]
    if change_type == "update":
        changed = list(changed)
        fields.append(("UpdateDetail", update_detail, True))
        if update_detail == "add_member":
            fields.append(("JoinScene", join_scene if join_scene is not None else 0, False))
        if update_detail == "del_member":
            fields.append(("QuitScene", quit_scene if quit_scene is not None else 0, False))
        if update_detail in ("add_member", "del_member"):
            fields.append(("MemChangeCnt", len(changed), False))
            items = "".join(f"<Item>{_cdata(member)}</Item>" for member in changed)
            fields.append(("MemChangeList", items, False))
        fields.append(("LastMemVer", last_version, True))
        fields.append(("CurMemVer", current_version, True))
    return _event(corp_id, create_time, "change_external_chat", fields)


def external_tag(corp_id: str, create_time: int, change_type: str, tag_id: str, tag_type: str = "tag") -> str:
    """change_external_tag: create / update / delete (TagType tag|tag_group) / shuffle."""
    fields: list[tuple[str, object, bool]] = [("Id", tag_id, True)]
    if change_type != "shuffle":
        fields.append(("TagType", tag_type, True))
    fields.append(("ChangeType", change_type, True))
    return _event(corp_id, create_time, "change_external_tag", fields)


def contact_user(corp_id: str, create_time: int, change_type: str, userid: str, *,
                 name: str | None = None, departments: list[int] | None = None,
                 main_department: int | None = None, position: str | None = None,
                 status: int | None = None, new_userid: str | None = None) -> str:
    """change_contact for members: create_user / update_user / delete_user."""
    return _event(corp_id, create_time, "change_contact", [
        ("ChangeType", change_type, True),
        ("UserID", userid, True),
        ("NewUserID", new_userid, True),
        ("Name", name, True),
        ("Department", ",".join(str(d) for d in departments) if departments is not None else None, True),
        ("MainDepartment", main_department, False),
        ("Position", position, True),
        ("Status", status, False),
    ])


def contact_party(corp_id: str, create_time: int, change_type: str, department_id: int, *,
                  name: str | None = None, parent_id: int | None = None, order: int | None = None) -> str:
    """change_contact for departments: create_party / update_party / delete_party."""
    return _event(corp_id, create_time, "change_contact", [
        ("ChangeType", change_type, True),
        ("Id", department_id, False),
        ("Name", name, True),
        ("ParentId", parent_id, True),
        ("Order", order, False),
    ])
