"""Typed request and response bodies of WeCom's server API: tokens, address book, customers and corp
tags (reference §1, §2, §3.1, §3.2). Contact ways, welcome and mass messages and moments are in
``schemas_engagement``; group chats, transfers and statistics in ``schemas_groups``.

Requests forbid unknown fields (a typo fails here, not at WeCom) and are sent without the fields
left ``None``. Responses keep unknown fields (WeCom adds fields over time) and default everything
WeCom may omit.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WeComRequest(BaseModel):
    """A JSON body sent to WeCom."""

    model_config = ConfigDict(extra="forbid")

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class WeComResponse(BaseModel):
    """Every WeCom answer carries ``errcode`` and ``errmsg``; the client raises on a non-zero code."""

    model_config = ConfigDict(extra="allow")

    errcode: int = 0
    errmsg: str = "ok"


class WeComRecord(BaseModel):
    """A nested object of a response."""

    model_config = ConfigDict(extra="allow")


# -- access token (§1.1) -------------------------------------------------------------------------
class AccessTokenResponse(WeComResponse):
    access_token: str
    expires_in: int = 7200


# -- address book (§2) ---------------------------------------------------------------------------
class DepartmentInfo(WeComRecord):
    id: int
    name: str = ""
    name_en: str = ""
    department_leader: list[str] = Field(default_factory=list)
    parentid: int = 0
    order: int = 0


class DepartmentListResponse(WeComResponse):
    department: list[DepartmentInfo] = Field(default_factory=list)


class DepartmentId(WeComRecord):
    id: int
    parentid: int = 0
    order: int = 0


class DepartmentSimpleListResponse(WeComResponse):
    department_id: list[DepartmentId] = Field(default_factory=list)


class DepartmentGetResponse(WeComResponse):
    department: DepartmentInfo


class UserBrief(WeComRecord):
    userid: str
    name: str = ""
    department: list[int] = Field(default_factory=list)
    open_userid: str | None = None


class UserSimpleListResponse(WeComResponse):
    userlist: list[UserBrief] = Field(default_factory=list)


class UserInfo(WeComRecord):
    """A member's details. Sensitive fields come back empty for apps without authorisation."""

    userid: str
    name: str = ""
    department: list[int] = Field(default_factory=list)
    order: list[int] = Field(default_factory=list)
    position: str = ""
    mobile: str = ""
    #: "0" unknown, "1" male, "2" female (a string in this API)
    gender: str = "0"
    email: str = ""
    biz_mail: str = ""
    is_leader_in_dept: list[int] = Field(default_factory=list)
    direct_leader: list[str] = Field(default_factory=list)
    avatar: str = ""
    thumb_avatar: str = ""
    telephone: str = ""
    alias: str = ""
    address: str = ""
    open_userid: str = ""
    main_department: int | None = None
    #: 1 active, 2 disabled, 4 not activated, 5 left the corp
    status: int = 1
    qr_code: str = ""
    external_position: str = ""
    extattr: dict[str, Any] | None = None
    external_profile: dict[str, Any] | None = None


class UserListResponse(WeComResponse):
    userlist: list[UserInfo] = Field(default_factory=list)


class UserGetResponse(WeComResponse, UserInfo):
    """``user/get`` answers the member's fields at the top level."""


class UserListIdRequest(WeComRequest):
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=10000)


class DepartmentUser(WeComRecord):
    userid: str
    department: int


class UserListIdResponse(WeComResponse):
    next_cursor: str = ""
    dept_user: list[DepartmentUser] = Field(default_factory=list)


# -- customers (§3.1) ----------------------------------------------------------------------------
class FollowUserListResponse(WeComResponse):
    follow_user: list[str] = Field(default_factory=list)


class ExternalUseridListResponse(WeComResponse):
    external_userid: list[str] = Field(default_factory=list)


class ExternalContact(WeComRecord):
    external_userid: str
    name: str = ""
    position: str = ""
    avatar: str = ""
    corp_name: str = ""
    corp_full_name: str = ""
    #: 1 WeChat user, 2 WeCom user
    type: int = 1
    #: 0 unknown, 1 male, 2 female
    gender: int = 0
    unionid: str | None = None
    external_profile: dict[str, Any] | None = None


class FollowUserTag(WeComRecord):
    group_name: str = ""
    tag_name: str = ""
    #: absent for personal tags (type 2)
    tag_id: str | None = None
    #: 1 corp tag, 2 personal tag, 3 rule-group tag
    type: int = 1


class FollowUser(WeComRecord):
    """One member's relation to the customer, as ``externalcontact/get`` reports it."""

    userid: str
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tags: list[FollowUserTag] = Field(default_factory=list)
    remark_corp_name: str = ""
    remark_mobiles: list[str] = Field(default_factory=list)
    oper_userid: str = ""
    add_way: int = 0
    state: str = ""


class ExternalContactGetResponse(WeComResponse):
    external_contact: ExternalContact
    follow_user: list[FollowUser] = Field(default_factory=list)
    #: present when the customer has more than 500 followers
    next_cursor: str = ""


class FollowInfo(WeComRecord):
    """One member's relation as ``batch/get_by_user`` reports it: corp and rule-group tag ids only."""

    userid: str
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tag_id: list[str] = Field(default_factory=list)
    remark_corp_name: str = ""
    remark_mobiles: list[str] = Field(default_factory=list)
    oper_userid: str = ""
    add_way: int = 0
    state: str = ""


class ExternalContactWithFollowInfo(WeComRecord):
    external_contact: ExternalContact
    follow_info: FollowInfo


class BatchGetByUserRequest(WeComRequest):
    userid_list: list[str] = Field(min_length=1, max_length=100)
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=100)


class BatchGetByUserResponse(WeComResponse):
    external_contact_list: list[ExternalContactWithFollowInfo] = Field(default_factory=list)
    #: empty on the last page
    next_cursor: str = ""


class RemarkRequest(WeComRequest):
    userid: str
    external_userid: str
    remark: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=150)
    remark_company: str | None = Field(default=None, max_length=20)
    remark_mobiles: list[str] | None = None
    remark_pic_mediaid: str | None = None


# -- corp tags (§3.2) ----------------------------------------------------------------------------
class CorpTag(WeComRecord):
    id: str
    name: str = ""
    create_time: int = 0
    order: int = 0
    #: only when the list was queried by id
    deleted: bool | None = None


class CorpTagGroup(WeComRecord):
    group_id: str
    group_name: str = ""
    create_time: int = 0
    order: int = 0
    deleted: bool | None = None
    tag: list[CorpTag] = Field(default_factory=list)


class GetCorpTagListRequest(WeComRequest):
    tag_id: list[str] | None = None
    group_id: list[str] | None = None


class GetCorpTagListResponse(WeComResponse):
    tag_group: list[CorpTagGroup] = Field(default_factory=list)


class NewCorpTag(WeComRequest):
    name: str = Field(min_length=1, max_length=30)
    order: int | None = None


class AddCorpTagRequest(WeComRequest):
    group_id: str | None = None
    group_name: str | None = Field(default=None, max_length=30)
    order: int | None = None
    tag: list[NewCorpTag] = Field(min_length=1)
    agentid: int | None = None


class AddCorpTagResponse(WeComResponse):
    tag_group: CorpTagGroup


class EditCorpTagRequest(WeComRequest):
    id: str
    name: str | None = Field(default=None, min_length=1, max_length=30)
    order: int | None = None
    agentid: int | None = None


class DelCorpTagRequest(WeComRequest):
    tag_id: list[str] | None = None
    group_id: list[str] | None = None
    agentid: int | None = None


class MarkTagRequest(WeComRequest):
    userid: str
    external_userid: str
    add_tag: list[str] | None = None
    remove_tag: list[str] | None = None
