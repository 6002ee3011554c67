"""Typed calls for customer group chats, join ways, transfers and statistics (reference §3.7–§3.9)."""

from __future__ import annotations

from siyu.integrations.wecom import schemas as base
from siyu.integrations.wecom import schemas_engagement as engagement
from siyu.integrations.wecom import schemas_groups as s
from siyu.integrations.wecom.transport import WeComTransport


class GroupApi(WeComTransport):
    # -- group chats -----------------------------------------------------------------------------
    def groupchat_list(self, request: s.GroupChatListRequest) -> s.GroupChatListResponse:
        """81017 when ``owner_filter`` is omitted and more than 1000 members are visible."""
        return self.call("POST", "externalcontact/groupchat/list", s.GroupChatListResponse, body=request)

    def groupchat_get(self, chat_id: str, *, need_name: bool = True) -> s.GroupChatGetResponse:
        return self.call("POST", "externalcontact/groupchat/get", s.GroupChatGetResponse,
                         body=s.GroupChatGetRequest(chat_id=chat_id, need_name=int(need_name)))

    # -- join ways -------------------------------------------------------------------------------
    def add_join_way(self, request: s.JoinWayRequest) -> s.AddJoinWayResponse:
        return self.call("POST", "externalcontact/groupchat/add_join_way", s.AddJoinWayResponse, body=request,
                         idempotent=False)

    def get_join_way(self, config_id: str) -> s.GetJoinWayResponse:
        return self.call("POST", "externalcontact/groupchat/get_join_way", s.GetJoinWayResponse,
                         body=engagement.ConfigIdRequest(config_id=config_id))

    def update_join_way(self, request: s.UpdateJoinWayRequest) -> base.WeComResponse:
        return self.call("POST", "externalcontact/groupchat/update_join_way", base.WeComResponse,
                         body=request)

    def del_join_way(self, config_id: str) -> base.WeComResponse:
        return self.call("POST", "externalcontact/groupchat/del_join_way", base.WeComResponse,
                         body=engagement.ConfigIdRequest(config_id=config_id))

    # -- transfers -------------------------------------------------------------------------------
    def transfer_customer(self, request: s.TransferCustomerRequest) -> s.TransferCustomerResponse:
        """在职继承; a per-customer errcode 0 means *started* — the takeover follows after 24 h."""
        # Each customer may be transferred twice in 90 days: never spend a transfer on a resend.
        return self.call("POST", "externalcontact/transfer_customer", s.TransferCustomerResponse,
                         body=request, idempotent=False)

    def transfer_result(self, request: s.TransferResultRequest) -> s.TransferResultResponse:
        return self.call("POST", "externalcontact/transfer_result", s.TransferResultResponse, body=request)

    def resigned_transfer_customer(self, request: s.ResignedTransferCustomerRequest
                                   ) -> s.TransferCustomerResponse:
        return self.call("POST", "externalcontact/resigned/transfer_customer", s.TransferCustomerResponse,
                         body=request, idempotent=False)

    def resigned_transfer_result(self, request: s.TransferResultRequest) -> s.TransferResultResponse:
        return self.call("POST", "externalcontact/resigned/transfer_result", s.TransferResultResponse,
                         body=request)

    def get_unassigned_list(self, request: s.GetUnassignedListRequest) -> s.GetUnassignedListResponse:
        return self.call("POST", "externalcontact/get_unassigned_list", s.GetUnassignedListResponse,
                         body=request)

    def groupchat_transfer(self, request: s.GroupChatTransferRequest) -> s.GroupChatTransferResponse:
        """离职群继承: groups whose owner has resigned."""
        return self.call("POST", "externalcontact/groupchat/transfer", s.GroupChatTransferResponse,
                         body=request, idempotent=False)

    def groupchat_onjob_transfer(self, request: s.GroupChatTransferRequest) -> s.GroupChatTransferResponse:
        """在职群继承: at most two transfers per group in 90 days."""
        return self.call("POST", "externalcontact/groupchat/onjob_transfer", s.GroupChatTransferResponse,
                         body=request, idempotent=False)

    # -- statistics ------------------------------------------------------------------------------
    def get_user_behavior_data(self, request: s.UserBehaviorDataRequest) -> s.UserBehaviorDataResponse:
        return self.call("POST", "externalcontact/get_user_behavior_data", s.UserBehaviorDataResponse,
                         body=request)

    def groupchat_statistic(self, request: s.GroupChatStatisticRequest) -> s.GroupChatStatisticResponse:
        return self.call("POST", "externalcontact/groupchat/statistic", s.GroupChatStatisticResponse,
                         body=request)

    def groupchat_statistic_by_day(self, request: s.StatisticByDayRequest) -> s.StatisticByDayResponse:
        return self.call("POST", "externalcontact/groupchat/statistic_group_by_day", s.StatisticByDayResponse,
                         body=request)
