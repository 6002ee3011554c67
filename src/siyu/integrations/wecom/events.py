"""Decrypted callback XML → typed events (reference §5).

Where sources disagree the parser accepts every shape seen:

* the self-built envelope (``ToUserName``/``CreateTime``/``Event``) and the third-party suite one
  (``AuthCorpId``/``TimeStamp``/``InfoType``);
* element names in any letter case (``ExternalUserID`` / ``ExternalUserId``, ``UserID`` / ``UserId``);
* ``MemChangeList`` as ``<Item>`` children or as comma-separated text, or absent (older documents);
* ``JoinScene`` with any integer (the official sample says 1 although the enum lists 0 and 3);
* ``change_external_tag`` ``shuffle`` without ``TagType`` and with an empty ``Id`` (= every group).

Events the platform does not act on parse to ``UnknownEvent`` and are stored, never refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from siyu.integrations.wecom.crypto import parse_xml


@dataclass(frozen=True)
class CallbackEvent:
    """What every event carries. ``fields`` holds every element (lists joined by commas)."""

    to_user_name: str
    from_user_name: str
    create_time: int
    event: str
    change_type: str
    fields: dict[str, str] = field(repr=False)

    @property
    def happened_at(self) -> datetime:
        return datetime.fromtimestamp(self.create_time, UTC)


@dataclass(frozen=True)
class ExternalContactChanged(CallbackEvent):
    """change_external_contact: add / edit / add_half / del_external_contact, del_follow_user,
    transfer_fail."""

    userid: str = ""
    external_userid: str = ""
    state: str | None = None
    welcome_code: str | None = None
    #: ``DELETE_BY_TRANSFER`` when an on-job transfer removed the relation
    source: str | None = None
    #: ``customer_refused`` / ``customer_limit_exceed`` (transfer_fail)
    fail_reason: str | None = None


@dataclass(frozen=True)
class ExternalChatChanged(CallbackEvent):
    """change_external_chat: create / update / dismiss."""

    chat_id: str = ""
    update_detail: str | None = None
    join_scene: int | None = None
    quit_scene: int | None = None
    member_change_count: int | None = None
    members: tuple[str, ...] = ()
    last_member_version: str | None = None
    current_member_version: str | None = None


@dataclass(frozen=True)
class ExternalTagChanged(CallbackEvent):
    """change_external_tag: create / update / delete / shuffle."""

    tag_id: str = ""
    #: ``tag`` or ``tag_group``; None for shuffle
    tag_type: str | None = None
    strategy_id: str | None = None


@dataclass(frozen=True)
class ContactMemberChanged(CallbackEvent):
    """change_contact for members: create_user / update_user / delete_user."""

    userid: str = ""
    new_userid: str | None = None
    name: str | None = None
    departments: tuple[int, ...] | None = None
    main_department: int | None = None
    mobile: str | None = None
    position: str | None = None
    #: 1 active, 2 disabled, 4 not activated, 5 left the corp
    status: int | None = None


@dataclass(frozen=True)
class ContactDepartmentChanged(CallbackEvent):
    """change_contact for departments: create_party / update_party / delete_party."""

    department_id: int = 0
    name: str | None = None
    parent_id: int | None = None
    order: int | None = None


@dataclass(frozen=True)
class UnknownEvent(CallbackEvent):
    """An event (or message) siyu stores but does not act on."""


def _flatten(root) -> dict[str, str]:
    """Element name (lower case) → text; an element with children becomes their comma-joined text."""
    values: dict[str, str] = {}
    for child in root:
        children = list(child)
        if children:
            text = ",".join((item.text or "").strip() for item in children)
        else:
            text = (child.text or "").strip()
        values[child.tag.lower()] = text
    return values


def _text(values: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = values.get(name.lower())
        if value:
            return value
    return None


def _int(values: dict[str, str], *names: str) -> int | None:
    value = _text(values, *names)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _int_list(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    return tuple(int(part) for part in value.split(",") if part.strip().lstrip("-").isdigit())


def _members(values: dict[str, str]) -> tuple[str, ...]:
    raw = values.get("memchangelist") or ""
    return tuple(member.strip() for member in raw.split(",") if member.strip())


def parse_event(xml: str) -> CallbackEvent:
    """Parse one decrypted callback. Raises ``MalformedEnvelope`` for input that is not XML."""
    values = _flatten(parse_xml(xml))
    base = dict(
        to_user_name=_text(values, "ToUserName", "AuthCorpId", "SuiteId") or "",
        from_user_name=_text(values, "FromUserName") or "",
        create_time=_int(values, "CreateTime", "TimeStamp") or 0,
        event=_text(values, "Event", "InfoType") or _text(values, "MsgType") or "",
        change_type=_text(values, "ChangeType") or "",
        fields=values,
    )
    event = base["event"]
    if event == "change_external_contact":
        return ExternalContactChanged(
            **base, userid=_text(values, "UserID") or "",
            external_userid=_text(values, "ExternalUserID") or "",
            state=_text(values, "State"), welcome_code=_text(values, "WelcomeCode"),
            source=_text(values, "Source"), fail_reason=_text(values, "FailReason"))
    if event == "change_external_chat":
        return ExternalChatChanged(
            **base, chat_id=_text(values, "ChatId") or "", update_detail=_text(values, "UpdateDetail"),
            join_scene=_int(values, "JoinScene"), quit_scene=_int(values, "QuitScene"),
            member_change_count=_int(values, "MemChangeCnt"), members=_members(values),
            last_member_version=_text(values, "LastMemVer"),
            current_member_version=_text(values, "CurMemVer"))
    if event == "change_external_tag":
        return ExternalTagChanged(**base, tag_id=_text(values, "Id") or "", tag_type=_text(values, "TagType"),
                                  strategy_id=_text(values, "StrategyId"))
    if event == "change_contact" and base["change_type"].endswith("_user"):
        departments = _int_list(_text(values, "Department"))
        return ContactMemberChanged(
            **base, userid=_text(values, "UserID") or "", new_userid=_text(values, "NewUserID"),
            name=_text(values, "Name"), departments=departments,
            main_department=_int(values, "MainDepartment"), mobile=_text(values, "Mobile"),
            position=_text(values, "Position"), status=_int(values, "Status"))
    if event == "change_contact" and base["change_type"].endswith("_party"):
        return ContactDepartmentChanged(
            **base, department_id=_int(values, "Id") or 0, name=_text(values, "Name"),
            parent_id=_int(values, "ParentId"), order=_int(values, "Order"))
    return UnknownEvent(**base)


def event_key(corp_id: int, event: CallbackEvent) -> str:
    """The inbox key: one per event, whatever delivery carried it.

    WeCom suggests deduplicating events on FromUserName + CreateTime, but FromUserName is ``sys`` for
    every customer-contact event, so two different events in one second would collide. Every field
    of the event (which includes the ids that tell events apart) goes into the hash instead.
    """
    canonical = "\n".join(f"{name}={value}" for name, value in sorted(event.fields.items()))
    return hashlib.sha256(f"{corp_id}\n{canonical}".encode()).hexdigest()
