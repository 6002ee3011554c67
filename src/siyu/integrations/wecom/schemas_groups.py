"""Typed bodies for customer group chats, join ways, transfers and statistics
(reference §3.7–§3.9)."""

from __future__ import annotations

from pydantic import Field

from siyu.integrations.wecom.schemas import WeComRecord, WeComRequest, WeComResponse


# -- group chats (§3.7) --------------------------------------------------------------------------
class OwnerFilter(WeComRequest):
    userid_list: list[str] = Field(max_length=100)


class GroupChatListRequest(WeComRequest):
    #: 0 all, 1 owner resigned, 2 inheriting, 3 inherited
    status_filter: int | None = None
    owner_filter: OwnerFilter | None = None
    cursor: str | None = None
    limit: int = Field(ge=1, le=1000)


class GroupChatId(WeComRecord):
    chat_id: str
    status: int = 0


class GroupChatListResponse(WeComResponse):
    group_chat_list: list[GroupChatId] = Field(default_factory=list)
    next_cursor: str = ""


class GroupChatGetRequest(WeComRequest):
    chat_id: str
    need_name: int | None = None


class Invitor(WeComRecord):
    userid: str


class GroupChatMemberInfo(WeComRecord):
    userid: str
    #: 1 staff member, 2 external contact
    type: int = 2
    join_time: int = 0
    #: 1 invited directly, 2 invitation link, 3 scanned the group QR code
    join_scene: int = 0
    invitor: Invitor | None = None
    group_nickname: str = ""
    #: only with need_name=1
    name: str = ""
    unionid: str | None = None
    state: str | None = None


class GroupChatAdmin(WeComRecord):
    userid: str


class GroupChatInfo(WeComRecord):
    chat_id: str
    name: str = ""
    owner: str = ""
    create_time: int = 0
    notice: str = ""
    member_list: list[GroupChatMemberInfo] = Field(default_factory=list)
    admin_list: list[GroupChatAdmin] = Field(default_factory=list)
    member_version: str = ""


class GroupChatGetResponse(WeComResponse):
    group_chat: GroupChatInfo


# -- join ways 「加入群聊」 ------------------------------------------------------------------------
class JoinWayRequest(WeComRequest):
    #: 1 mini-program plug-in, 2 QR-code plug-in
    scene: int
    chat_id_list: list[str] = Field(min_length=1, max_length=5)
    remark: str | None = None
    auto_create_room: int | None = None
    room_base_name: str | None = None
    room_base_id: int | None = None
    state: str | None = Field(default=None, max_length=30)


class UpdateJoinWayRequest(JoinWayRequest):
    """A full overwrite of the join way."""

    config_id: str


class AddJoinWayResponse(WeComResponse):
    config_id: str


class JoinWayInfo(WeComRecord):
    config_id: str
    scene: int = 2
    remark: str = ""
    auto_create_room: int = 1
    room_base_name: str = ""
    room_base_id: int | None = None
    chat_id_list: list[str] = Field(default_factory=list)
    qr_code: str = ""
    state: str = ""


class GetJoinWayResponse(WeComResponse):
    join_way: JoinWayInfo


# -- transfers (§3.8) ----------------------------------------------------------------------------
class TransferCustomerRequest(WeComRequest):
    handover_userid: str
    takeover_userid: str
    external_userid: list[str] = Field(min_length=1, max_length=100)
    transfer_success_msg: str | None = Field(default=None, max_length=200)


class ResignedTransferCustomerRequest(WeComRequest):
    handover_userid: str
    takeover_userid: str
    external_userid: list[str] = Field(min_length=1, max_length=100)


class TransferStarted(WeComRecord):
    external_userid: str
    #: 0 = the transfer started (not a final success)
    errcode: int = 0


class TransferCustomerResponse(WeComResponse):
    customer: list[TransferStarted] = Field(default_factory=list)


class TransferResultRequest(WeComRequest):
    handover_userid: str
    takeover_userid: str
    cursor: str | None = None


class TransferOutcome(WeComRecord):
    external_userid: str
    #: 1 done, 2 waiting, 3 customer refused, 4 takeover member at the limit, 5 no record
    status: int
    takeover_time: int | None = None


class TransferResultResponse(WeComResponse):
    customer: list[TransferOutcome] = Field(default_factory=list)
    next_cursor: str = ""


class GetUnassignedListRequest(WeComRequest):
    page_id: int | None = None
    page_size: int | None = Field(default=None, ge=1, le=1000)
    cursor: str | None = None


class UnassignedCustomer(WeComRecord):
    handover_userid: str
    external_userid: str
    dimission_time: int = 0


class GetUnassignedListResponse(WeComResponse):
    info: list[UnassignedCustomer] = Field(default_factory=list)
    is_last: bool = True
    next_cursor: str = ""


class GroupChatTransferRequest(WeComRequest):
    chat_id_list: list[str] = Field(min_length=1, max_length=100)
    new_owner: str


class FailedChat(WeComRecord):
    chat_id: str
    errcode: int
    errmsg: str = ""


class GroupChatTransferResponse(WeComResponse):
    failed_chat_list: list[FailedChat] = Field(default_factory=list)


# -- statistics (§3.9) ---------------------------------------------------------------------------
class UserBehaviorDataRequest(WeComRequest):
    userid: list[str] | None = Field(default=None, max_length=100)
    partyid: list[int] | None = Field(default=None, max_length=100)
    start_time: int
    end_time: int


class BehaviorData(WeComRecord):
    stat_time: int
    chat_cnt: int = 0
    message_cnt: int = 0
    #: percent; only on days with chats
    reply_percentage: float | None = None
    #: minutes; only on days with chats
    avg_reply_time: int | None = None
    negative_feedback_cnt: int = 0
    new_apply_cnt: int = 0
    new_contact_cnt: int = 0


class UserBehaviorDataResponse(WeComResponse):
    behavior_data: list[BehaviorData] = Field(default_factory=list)


class GroupChatStatisticRequest(WeComRequest):
    day_begin_time: int
    day_end_time: int | None = None
    owner_filter: OwnerFilter | None = None
    #: 1 new chats, 2 chats, 3 new members, 4 members
    order_by: int | None = None
    order_asc: int | None = None
    offset: int | None = None
    limit: int | None = Field(default=None, ge=1, le=1000)


class GroupChatStatisticData(WeComRecord):
    new_chat_cnt: int = 0
    chat_total: int = 0
    chat_has_msg: int = 0
    new_member_cnt: int = 0
    member_total: int = 0
    member_has_msg: int = 0
    msg_total: int = 0
    migrate_trainee_chat_cnt: int = 0


class OwnerStatistic(WeComRecord):
    owner: str
    data: GroupChatStatisticData


class GroupChatStatisticResponse(WeComResponse):
    total: int = 0
    next_offset: int = 0
    items: list[OwnerStatistic] = Field(default_factory=list)


class StatisticByDayRequest(WeComRequest):
    day_begin_time: int
    day_end_time: int | None = None
    owner_filter: OwnerFilter | None = None


class DayStatistic(WeComRecord):
    stat_time: int
    data: GroupChatStatisticData


class StatisticByDayResponse(WeComResponse):
    items: list[DayStatistic] = Field(default_factory=list)
