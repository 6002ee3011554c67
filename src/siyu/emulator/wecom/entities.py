"""The records the emulated WeCom keeps for each corp.

Plain dataclasses with ``slots`` so that a seeded corp with 100 000 customers stays small and quick to
build. Times are integer Unix seconds, as WeCom reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class App:
    """One secret of a corp. ``kind``: ``contact`` (客户联系), ``address_book`` (通讯录同步) or ``agent``."""

    secret: str
    kind: str
    agent_id: int | None = None
    # A self-built app reaches customer-contact APIs only when added to 「可调用接口的应用」.
    customer_contact: bool = False
    # None = whole corp visible; otherwise the department ids (with their sub-departments).
    visible_departments: list[int] | None = None


@dataclass(slots=True)
class AccessToken:
    token: str
    corp_id: str
    secret: str
    expires_at: float


@dataclass(slots=True)
class Department:
    id: int
    name: str
    parentid: int
    order: int = 0
    name_en: str = ""
    department_leader: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Member:
    """A staff member (成员)."""

    userid: str
    name: str
    department: list[int]
    main_department: int
    position: str = ""
    mobile: str = ""
    gender: str = "0"
    email: str = ""
    alias: str = ""
    avatar: str = ""
    status: int = 1  # 1 active, 2 disabled, 4 not activated, 5 left the corp
    customer_contact: bool = True
    resigned_at: int | None = None
    order: list[int] = field(default_factory=list)
    is_leader_in_dept: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Follow:
    """The relation of one member to one external contact (follow_user / follow_info)."""

    userid: str
    createtime: int
    add_way: int = 1
    state: str = ""
    remark: str = ""
    description: str = ""
    remark_corp_name: str = ""
    remark_mobiles: list[str] = field(default_factory=list)
    oper_userid: str = ""
    tag_ids: list[str] = field(default_factory=list)
    half: bool = False  # customer added, member has not confirmed yet
    last_chat_at: int = 0


@dataclass(slots=True)
class ExternalContact:
    external_userid: str
    name: str
    type: int = 1  # 1 WeChat user, 2 WeCom user
    gender: int = 0
    avatar: str = ""
    unionid: str = ""
    corp_name: str = ""
    position: str = ""
    follows: dict[str, Follow] = field(default_factory=dict)


@dataclass(slots=True)
class Tag:
    id: str
    name: str
    group_id: str
    create_time: int
    order: int = 0
    deleted: bool = False


@dataclass(slots=True)
class TagGroup:
    group_id: str
    group_name: str
    create_time: int
    order: int = 0
    deleted: bool = False
    tag_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ContactWay:
    config_id: str
    type: int
    scene: int
    create_time: int
    style: int = 0
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    user: list[str] = field(default_factory=list)
    party: list[int] = field(default_factory=list)
    is_temp: bool = False
    expires_in: int = 0
    chat_expires_in: int = 0
    unionid: str = ""
    conclusions: dict[str, Any] = field(default_factory=dict)
    qr_code: str = ""
    used: bool = False  # a temporary way is spent after one add


@dataclass(slots=True)
class WelcomeCode:
    code: str
    userid: str
    external_userid: str
    issued_at: float
    used: bool = False
    held_until: float = 0.0  # "another app is distributing" until this time (41096)


@dataclass(slots=True)
class MassRecipient:
    """One row of get_groupmsg_send_result."""

    userid: str
    external_userid: str = ""
    chat_id: str = ""
    status: int = 0  # 0 unsent, 1 sent, 2 not a friend, 3 receive quota reached
    send_time: int = 0


@dataclass(slots=True)
class MassMessage:
    msgid: str
    chat_type: str
    create_time: int
    create_type: int  # 0 corp (API), 1 member
    creator: str
    text: dict[str, Any]
    attachments: list[dict[str, Any]]
    allow_select: bool = False
    task_status: dict[str, int] = field(default_factory=dict)  # userid → 0 unsent / 2 sent
    task_send_time: dict[str, int] = field(default_factory=dict)
    recipients: dict[str, list[MassRecipient]] = field(default_factory=dict)
    cancelled: bool = False
    reminders: list[float] = field(default_factory=list)


@dataclass(slots=True)
class Moment:
    moment_id: str
    jobid: str
    create_time: int
    create_type: int
    creator: str
    visible_type: int
    text: dict[str, Any]
    attachments: list[dict[str, Any]]
    senders: list[str]
    tag_list: list[str]
    invalid_users: list[str] = field(default_factory=list)
    invalid_departments: list[int] = field(default_factory=list)
    invalid_tags: list[str] = field(default_factory=list)
    published: dict[str, int] = field(default_factory=dict)  # userid → publish time
    comments: list[dict[str, Any]] = field(default_factory=list)
    likes: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False  # cancel_moment_task: members who have not published no longer can


@dataclass(slots=True)
class GroupMember:
    userid: str
    type: int  # 1 staff, 2 external contact
    join_time: int
    join_scene: int  # 1 direct invite, 2 invite link, 3 scanned the group QR code
    invitor: str = ""
    group_nickname: str = ""
    name: str = ""
    unionid: str = ""
    state: str = ""


@dataclass(slots=True)
class GroupChat:
    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: dict[str, GroupMember] = field(default_factory=dict)
    admin_list: list[str] = field(default_factory=list)
    version: int = 1
    status: int = 0  # 0 owner normal, 1 owner resigned, 2 inheriting, 3 inherited
    dismissed: bool = False
    message_days: dict[int, int] = field(default_factory=dict)  # day start → messages that day
    message_senders: dict[int, set[str]] = field(default_factory=dict)  # day start → who spoke
    onjob_transfers: list[int] = field(default_factory=list)


@dataclass(slots=True)
class JoinWay:
    config_id: str
    scene: int
    chat_id_list: list[str]
    remark: str = ""
    auto_create_room: int = 1
    room_base_name: str = ""
    room_base_id: int = 1
    state: str = ""
    qr_code: str = ""


@dataclass(slots=True)
class Transfer:
    """A customer transfer started through the API; it completes (or fails) when due."""

    kind: str  # "onjob" or "resigned"
    handover_userid: str
    takeover_userid: str
    external_userid: str
    started_at: int
    takeover_time: int
    status: int = 2  # 1 done, 2 waiting, 3 customer refused, 4 takeover limit reached


@dataclass(slots=True)
class Media:
    media_id: str
    type: str
    created_at: int
    filename: str = ""
    size: int = 0


@dataclass(slots=True)
class DayStats:
    """Per member per natural day counters behind get_user_behavior_data."""

    new_apply_cnt: int = 0
    new_contact_cnt: int = 0
    negative_feedback_cnt: int = 0
    message_cnt: int = 0
    chats: set[str] = field(default_factory=set)
    customer_started: set[str] = field(default_factory=set)
    replied: set[str] = field(default_factory=set)
    reply_seconds: list[int] = field(default_factory=list)
