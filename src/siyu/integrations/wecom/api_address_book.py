"""Typed address-book calls (reference §2). Address-book APIs take the 通讯录 secret or an app's."""

from __future__ import annotations

from siyu.integrations.wecom import schemas as s
from siyu.integrations.wecom.transport import WeComTransport


class AddressBookApi(WeComTransport):
    def department_list(self, department_id: int | None = None) -> s.DepartmentListResponse:
        """The department and its descendants; the whole visible tree without ``department_id``."""
        params = {"id": department_id} if department_id is not None else None
        return self.call("GET", "department/list", s.DepartmentListResponse, params=params)

    def department_simplelist(self, department_id: int | None = None) -> s.DepartmentSimpleListResponse:
        """Ids and parents only — still callable from IPs added after 2022-08-15 (reference §2)."""
        params = {"id": department_id} if department_id is not None else None
        return self.call("GET", "department/simplelist", s.DepartmentSimpleListResponse, params=params)

    def department_get(self, department_id: int) -> s.DepartmentGetResponse:
        return self.call("GET", "department/get", s.DepartmentGetResponse, params={"id": department_id})

    def user_simplelist(self, department_id: int, *, fetch_child: bool = False) -> s.UserSimpleListResponse:
        return self.call("GET", "user/simplelist", s.UserSimpleListResponse,
                         params={"department_id": department_id, "fetch_child": int(fetch_child)})

    def user_list(self, department_id: int, *, fetch_child: bool = False) -> s.UserListResponse:
        """Members of one department with details (recurse yourself: ``fetch_child`` is deprecated)."""
        return self.call("GET", "user/list", s.UserListResponse,
                         params={"department_id": department_id, "fetch_child": int(fetch_child)})

    def user_get(self, userid: str) -> s.UserGetResponse:
        return self.call("GET", "user/get", s.UserGetResponse, params={"userid": userid})

    def user_list_id(self, request: s.UserListIdRequest) -> s.UserListIdResponse:
        """(userid, department) rows by cursor; only the 通讯录同步 secret may call it."""
        return self.call("POST", "user/list_id", s.UserListIdResponse, body=request)
