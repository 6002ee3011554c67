"""Typed calls for contact ways, welcome messages, mass messages, moments and media
(reference §3.3–§3.6). Calls that create something are not idempotent: a lost answer is reported
with ``outcome_unknown`` instead of being resent."""

from __future__ import annotations

from siyu.integrations.wecom import schemas as base
from siyu.integrations.wecom import schemas_engagement as s
from siyu.integrations.wecom.transport import WeComTransport


class EngagementApi(WeComTransport):
    # -- contact ways ----------------------------------------------------------------------------
    def add_contact_way(self, request: s.AddContactWayRequest) -> s.AddContactWayResponse:
        return self.call("POST", "externalcontact/add_contact_way", s.AddContactWayResponse, body=request,
                         idempotent=False)

    def get_contact_way(self, config_id: str) -> s.GetContactWayResponse:
        return self.call("POST", "externalcontact/get_contact_way", s.GetContactWayResponse,
                         body=s.ConfigIdRequest(config_id=config_id))

    def list_contact_way(self, request: s.ListContactWayRequest) -> s.ListContactWayResponse:
        return self.call("POST", "externalcontact/list_contact_way", s.ListContactWayResponse, body=request)

    def update_contact_way(self, request: s.UpdateContactWayRequest) -> base.WeComResponse:
        return self.call("POST", "externalcontact/update_contact_way", base.WeComResponse, body=request)

    def del_contact_way(self, config_id: str) -> base.WeComResponse:
        return self.call("POST", "externalcontact/del_contact_way", base.WeComResponse,
                         body=s.ConfigIdRequest(config_id=config_id))

    def close_temp_chat(self, request: s.CloseTempChatRequest) -> base.WeComResponse:
        return self.call("POST", "externalcontact/close_temp_chat", base.WeComResponse, body=request)

    # -- welcome message -------------------------------------------------------------------------
    def send_welcome_msg(self, request: s.SendWelcomeMsgRequest) -> base.WeComResponse:
        """41051 means it was already delivered (do not retry); 41096 another app is sending."""
        return self.call("POST", "externalcontact/send_welcome_msg", base.WeComResponse, body=request,
                         idempotent=False)

    # -- mass messages ---------------------------------------------------------------------------
    def add_msg_template(self, request: s.AddMsgTemplateRequest) -> s.AddMsgTemplateResponse:
        """Creates a mass-message task; members still have to confirm it in their client."""
        return self.call("POST", "externalcontact/add_msg_template", s.AddMsgTemplateResponse, body=request,
                         idempotent=False)

    def get_groupmsg_list_v2(self, request: s.GetGroupMsgListV2Request) -> s.GetGroupMsgListV2Response:
        return self.call("POST", "externalcontact/get_groupmsg_list_v2", s.GetGroupMsgListV2Response,
                         body=request)

    def get_groupmsg_task(self, request: s.GetGroupMsgTaskRequest) -> s.GetGroupMsgTaskResponse:
        return self.call("POST", "externalcontact/get_groupmsg_task", s.GetGroupMsgTaskResponse, body=request)

    def get_groupmsg_send_result(self, request: s.GetGroupMsgSendResultRequest
                                 ) -> s.GetGroupMsgSendResultResponse:
        return self.call("POST", "externalcontact/get_groupmsg_send_result", s.GetGroupMsgSendResultResponse,
                         body=request)

    def remind_groupmsg_send(self, msgid: str) -> base.WeComResponse:
        # At most three reminders a day: a doubled reminder would waste one.
        return self.call("POST", "externalcontact/remind_groupmsg_send", base.WeComResponse,
                         body=s.MsgIdRequest(msgid=msgid), idempotent=False)

    def cancel_groupmsg_send(self, msgid: str) -> base.WeComResponse:
        return self.call("POST", "externalcontact/cancel_groupmsg_send", base.WeComResponse,
                         body=s.MsgIdRequest(msgid=msgid))

    # -- moments ---------------------------------------------------------------------------------
    def add_moment_task(self, request: s.AddMomentTaskRequest) -> s.AddMomentTaskResponse:
        return self.call("POST", "externalcontact/add_moment_task", s.AddMomentTaskResponse, body=request,
                         idempotent=False)

    def get_moment_task_result(self, jobid: str) -> s.MomentTaskResultResponse:
        return self.call("GET", "externalcontact/get_moment_task_result", s.MomentTaskResultResponse,
                         params={"jobid": jobid})

    def get_moment_list(self, request: s.GetMomentListRequest) -> s.GetMomentListResponse:
        return self.call("POST", "externalcontact/get_moment_list", s.GetMomentListResponse, body=request)

    def get_moment_task(self, request: s.GetMomentTaskRequest) -> s.GetMomentTaskResponse:
        return self.call("POST", "externalcontact/get_moment_task", s.GetMomentTaskResponse, body=request)

    def get_moment_customer_list(self, request: s.MomentMemberRequest) -> s.MomentCustomerListResponse:
        return self.call("POST", "externalcontact/get_moment_customer_list", s.MomentCustomerListResponse,
                         body=request)

    def get_moment_send_result(self, request: s.MomentMemberRequest) -> s.MomentCustomerListResponse:
        return self.call("POST", "externalcontact/get_moment_send_result", s.MomentCustomerListResponse,
                         body=request)

    def get_moment_comments(self, request: s.GetMomentCommentsRequest) -> s.GetMomentCommentsResponse:
        return self.call("POST", "externalcontact/get_moment_comments", s.GetMomentCommentsResponse,
                         body=request)

    def cancel_moment_task(self, moment_id: str) -> base.WeComResponse:
        return self.call("POST", "externalcontact/cancel_moment_task", base.WeComResponse,
                         body=s.MomentIdRequest(moment_id=moment_id))

    # -- temporary media (3 days) ----------------------------------------------------------------
    def upload_media(self, media_type: str, filename: str, content: bytes) -> s.MediaUploadResponse:
        """Upload an image, voice, video or file; the ``media_id`` is valid for three days."""
        return self.call("POST", "media/upload", s.MediaUploadResponse, params={"type": media_type},
                         files={"media": (filename, content)}, idempotent=False)
