"""Typed bodies for contact ways, welcome messages, mass messages, moments and media
(reference §3.3–§3.6)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from siyu.integrations.wecom.schemas import WeComRecord, WeComRequest, WeComResponse


# -- message content shared by welcome, mass and moment messages ---------------------------------
class Text(WeComRequest):
    content: str = ""


class ImagePayload(WeComRequest):
    media_id: str | None = None
    pic_url: str | None = None


class LinkPayload(WeComRequest):
    title: str
    url: str
    picurl: str | None = None
    desc: str | None = None
    #: moments: the cover image
    media_id: str | None = None


class MiniprogramPayload(WeComRequest):
    title: str
    pic_media_id: str
    appid: str
    page: str


class MediaPayload(WeComRequest):
    media_id: str


class Attachment(WeComRequest):
    """One attachment; the field named by ``msgtype`` carries the payload."""

    msgtype: Literal["image", "link", "miniprogram", "video", "file"]
    image: ImagePayload | None = None
    link: LinkPayload | None = None
    miniprogram: MiniprogramPayload | None = None
    video: MediaPayload | None = None
    file: MediaPayload | None = None


# -- contact ways 「联系我」 (§3.3) ---------------------------------------------------------------
class Conclusions(WeComRequest):
    text: Text | None = None
    image: ImagePayload | None = None
    link: LinkPayload | None = None
    miniprogram: MiniprogramPayload | None = None


class AddContactWayRequest(WeComRequest):
    #: 1 single member, 2 several members
    type: Literal[1, 2]
    #: 1 in a mini program, 2 QR code
    scene: Literal[1, 2]
    style: int | None = None
    remark: str | None = Field(default=None, max_length=30)
    skip_verify: bool | None = None
    state: str | None = Field(default=None, max_length=30)
    user: list[str] | None = None
    party: list[int] | None = None
    is_temp: bool | None = None
    expires_in: int | None = None
    chat_expires_in: int | None = None
    unionid: str | None = None
    conclusions: Conclusions | None = None


class AddContactWayResponse(WeComResponse):
    config_id: str
    #: only for scene 2
    qr_code: str = ""


class ContactWayInfo(WeComRecord):
    config_id: str
    type: int = 1
    scene: int = 2
    style: int | None = None
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    qr_code: str = ""
    user: list[str] = Field(default_factory=list)
    party: list[int] = Field(default_factory=list)
    is_temp: bool = False
    expires_in: int | None = None
    chat_expires_in: int | None = None
    unionid: str | None = None
    conclusions: dict[str, Any] | None = None


class ConfigIdRequest(WeComRequest):
    config_id: str


class GetContactWayResponse(WeComResponse):
    contact_way: ContactWayInfo

    @field_validator("contact_way", mode="before")
    @classmethod
    def _older_array_shape(cls, value: Any) -> Any:
        # Older docs (and wechatpy's fixture) answer a one-element array; the current docs an object.
        if isinstance(value, list):
            return value[0] if value else {}
        return value


class ListContactWayRequest(WeComRequest):
    start_time: int | None = None
    end_time: int | None = None
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=1000)


class ContactWayId(WeComRecord):
    config_id: str


class ListContactWayResponse(WeComResponse):
    contact_way: list[ContactWayId] = Field(default_factory=list)
    next_cursor: str = ""


class UpdateContactWayRequest(WeComRequest):
    config_id: str
    remark: str | None = Field(default=None, max_length=30)
    skip_verify: bool | None = None
    style: int | None = None
    state: str | None = Field(default=None, max_length=30)
    user: list[str] | None = None
    party: list[int] | None = None
    expires_in: int | None = None
    chat_expires_in: int | None = None
    unionid: str | None = None
    conclusions: Conclusions | None = None


class CloseTempChatRequest(WeComRequest):
    userid: str
    external_userid: str


# -- welcome message (§3.4) ----------------------------------------------------------------------
class SendWelcomeMsgRequest(WeComRequest):
    welcome_code: str
    text: Text | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=9)


# -- mass messages (§3.5) ------------------------------------------------------------------------
class TagFilterGroup(WeComRequest):
    tag_list: list[str]


class TagFilter(WeComRequest):
    group_list: list[TagFilterGroup]


class AddMsgTemplateRequest(WeComRequest):
    chat_type: Literal["single", "group"] | None = None
    external_userid: list[str] | None = Field(default=None, max_length=10000)
    chat_id_list: list[str] | None = Field(default=None, max_length=2000)
    tag_filter: TagFilter | None = None
    sender: str | None = None
    allow_select: bool | None = None
    text: Text | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=9)


class AddMsgTemplateResponse(WeComResponse):
    msgid: str
    #: recipients that cannot be sent to
    fail_list: list[str] = Field(default_factory=list)


class GetGroupMsgListV2Request(WeComRequest):
    chat_type: Literal["single", "group"]
    start_time: int
    end_time: int
    creator: str | None = None
    #: 0 corp, 1 member, 2 all
    filter_type: int | None = None
    limit: int | None = Field(default=None, ge=1, le=100)
    cursor: str | None = None


class GroupMsg(WeComRecord):
    msgid: str
    #: absent for messages created through the API
    creator: str | None = None
    create_time: int = 0
    #: 0 corp, 1 member
    create_type: int = 0
    text: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)


class GetGroupMsgListV2Response(WeComResponse):
    next_cursor: str = ""
    group_msg_list: list[GroupMsg] = Field(default_factory=list)


class GetGroupMsgTaskRequest(WeComRequest):
    msgid: str
    limit: int | None = Field(default=None, ge=1, le=1000)
    cursor: str | None = None


class GroupMsgTask(WeComRecord):
    userid: str
    #: 0 not sent, 2 sent
    status: int = 0
    send_time: int | None = None


class GetGroupMsgTaskResponse(WeComResponse):
    next_cursor: str = ""
    task_list: list[GroupMsgTask] = Field(default_factory=list)


class GetGroupMsgSendResultRequest(WeComRequest):
    msgid: str
    userid: str
    limit: int | None = Field(default=None, ge=1, le=1000)
    cursor: str | None = None


class GroupMsgSendResult(WeComRecord):
    userid: str
    external_userid: str | None = None
    chat_id: str | None = None
    #: 0 not sent, 1 sent, 2 not a friend, 3 the customer's receive quota was reached
    status: int = 0
    send_time: int | None = None


class GetGroupMsgSendResultResponse(WeComResponse):
    next_cursor: str = ""
    send_list: list[GroupMsgSendResult] = Field(default_factory=list)


class MsgIdRequest(WeComRequest):
    msgid: str


# -- moments (§3.6) ------------------------------------------------------------------------------
class MomentSenders(WeComRequest):
    user_list: list[str] | None = None
    department_list: list[int] | None = None


class MomentCustomers(WeComRequest):
    tag_list: list[str]


class MomentVisibleRange(WeComRequest):
    sender_list: MomentSenders | None = None
    external_contact_list: MomentCustomers | None = None


class AddMomentTaskRequest(WeComRequest):
    text: Text | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=9)
    visible_range: MomentVisibleRange | None = None


class AddMomentTaskResponse(WeComResponse):
    jobid: str


class MomentTaskOutcome(WeComRecord):
    errcode: int = 0
    errmsg: str = "ok"
    moment_id: str = ""
    invalid_sender_list: dict[str, Any] | None = None
    invalid_external_contact_list: dict[str, Any] | None = None


class MomentTaskResultResponse(WeComResponse):
    #: 1 started, 2 running, 3 finished
    status: int
    type: str = ""
    result: MomentTaskOutcome | None = None


class GetMomentListRequest(WeComRequest):
    start_time: int
    end_time: int
    creator: str | None = None
    filter_type: int | None = None
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=20)


class MomentInfo(WeComRecord):
    moment_id: str
    creator: str | None = None
    create_time: int = 0
    create_type: int = 0
    #: 0 partly visible, 1 public
    visible_type: int = 1
    text: dict[str, Any] | None = None
    image: list[dict[str, Any]] = Field(default_factory=list)
    video: dict[str, Any] | None = None
    link: dict[str, Any] | None = None
    location: dict[str, Any] | None = None


class GetMomentListResponse(WeComResponse):
    next_cursor: str = ""
    moment_list: list[MomentInfo] = Field(default_factory=list)


class GetMomentTaskRequest(WeComRequest):
    moment_id: str
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=1000)


class MomentTask(WeComRecord):
    userid: str
    #: 0 not published, 1 published
    publish_status: int = 0


class GetMomentTaskResponse(WeComResponse):
    next_cursor: str = ""
    task_list: list[MomentTask] = Field(default_factory=list)


class MomentMemberRequest(WeComRequest):
    """get_moment_customer_list and get_moment_send_result."""

    moment_id: str
    userid: str
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=5000)


class MomentCustomer(WeComRecord):
    external_userid: str
    userid: str | None = None


class MomentCustomerListResponse(WeComResponse):
    next_cursor: str = ""
    customer_list: list[MomentCustomer] = Field(default_factory=list)


class GetMomentCommentsRequest(WeComRequest):
    moment_id: str
    userid: str


class MomentInteraction(WeComRecord):
    external_userid: str | None = None
    userid: str | None = None
    create_time: int = 0


class GetMomentCommentsResponse(WeComResponse):
    comment_list: list[MomentInteraction] = Field(default_factory=list)
    like_list: list[MomentInteraction] = Field(default_factory=list)


class MomentIdRequest(WeComRequest):
    moment_id: str


# -- temporary media -----------------------------------------------------------------------------
class MediaUploadResponse(WeComResponse):
    type: str = ""
    media_id: str
    created_at: str = ""
