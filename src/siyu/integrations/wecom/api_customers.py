"""Typed customer and corp-tag calls (reference §3.1, §3.2)."""

from __future__ import annotations

from siyu.integrations.wecom import schemas as s
from siyu.integrations.wecom.transport import WeComTransport


class CustomerApi(WeComTransport):
    def get_follow_user_list(self) -> s.FollowUserListResponse:
        """Members with customer contact enabled, within the app's visibility."""
        return self.call("GET", "externalcontact/get_follow_user_list", s.FollowUserListResponse)

    def list_external_contacts(self, userid: str) -> s.ExternalUseridListResponse:
        """The external_userids of one member's customers (84061 when there are none)."""
        return self.call("GET", "externalcontact/list", s.ExternalUseridListResponse,
                         params={"userid": userid})

    def get_external_contact(self, external_userid: str,
                             cursor: str | None = None) -> s.ExternalContactGetResponse:
        """One customer with up to 500 of its followers per page."""
        params = {"external_userid": external_userid}
        if cursor:
            params["cursor"] = cursor
        return self.call("GET", "externalcontact/get", s.ExternalContactGetResponse, params=params)

    def batch_get_by_user(self, request: s.BatchGetByUserRequest) -> s.BatchGetByUserResponse:
        """Customers of up to 100 members with each member's follow info, by cursor."""
        return self.call("POST", "externalcontact/batch/get_by_user", s.BatchGetByUserResponse, body=request)

    def remark(self, request: s.RemarkRequest) -> s.WeComResponse:
        return self.call("POST", "externalcontact/remark", s.WeComResponse, body=request)

    def get_corp_tag_list(self, request: s.GetCorpTagListRequest | None = None) -> s.GetCorpTagListResponse:
        return self.call("POST", "externalcontact/get_corp_tag_list", s.GetCorpTagListResponse,
                         body=request or s.GetCorpTagListRequest())

    def add_corp_tag(self, request: s.AddCorpTagRequest) -> s.AddCorpTagResponse:
        # Same names collapse into the existing tag in WeCom, so repeating the call is harmless.
        return self.call("POST", "externalcontact/add_corp_tag", s.AddCorpTagResponse, body=request)

    def edit_corp_tag(self, request: s.EditCorpTagRequest) -> s.WeComResponse:
        return self.call("POST", "externalcontact/edit_corp_tag", s.WeComResponse, body=request)

    def del_corp_tag(self, request: s.DelCorpTagRequest) -> s.WeComResponse:
        return self.call("POST", "externalcontact/del_corp_tag", s.WeComResponse, body=request)

    def mark_tag(self, request: s.MarkTagRequest) -> s.WeComResponse:
        return self.call("POST", "externalcontact/mark_tag", s.WeComResponse, body=request)
