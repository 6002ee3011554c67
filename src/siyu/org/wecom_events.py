"""Organisation changes reported by WeCom's address book (``change_contact`` callbacks).

WeCom's tree is the truth for departments it knows: a department created there appears here, a
move there moves the subtree here. Kinds are siyu's own notion, so a new department gets one from its
depth — root ``hq``, its children ``branch``, anything deeper ``store`` — and operators correct it.
A department deleted in WeCom is unlinked (``wecom_id`` cleared) rather than deleted: orders and
customers keep their store for reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.models.org import Department, DepartmentKind, Staff, StaffStatus
from siyu.org import wecom_repository as repository

#: WeCom member status 5 = 退出企业 (left the corp); 1 active, 2 disabled, 4 not activated.
WECOM_STATUS_LEFT = 5


@dataclass(frozen=True)
class MemberChange:
    """A member's fields as WeCom reported them; None = not part of this change."""

    userid: str
    new_userid: str | None = None
    name: str | None = None
    #: WeCom department ids
    departments: tuple[int, ...] | None = None
    main_department: int | None = None
    mobile: str | None = None
    status: int | None = None


def ensure_staff(session: Session, corp_id: int, userid: str, at: datetime) -> Staff:
    """The staff member with WeCom ``userid``, created (named after the userid) when the address
    book has not told us about them yet; the address-book sync fills in the rest."""
    staff = repository.staff_by_userid(session, corp_id, userid)
    if staff is None:
        repository.insert_staff_if_absent(session, dict(corp_id=corp_id, userid=userid, name=userid,
                                                        status=StaffStatus.active, created_at=at,
                                                        updated_at=at))
        staff = repository.staff_by_userid(session, corp_id, userid)
    assert staff is not None  # inserted above, or by a concurrent handler
    return staff


def _department_id(session: Session, corp_id: int, change: MemberChange) -> int | None:
    candidates = ([change.main_department] if change.main_department else []) + list(change.departments or ())
    for wecom_id in candidates:
        department = repository.department_by_wecom_id(session, corp_id, wecom_id)
        if department is not None:
            return department.id
    return None


def record_member_changed(session: Session, corp_id: int, change: MemberChange, at: datetime) -> Staff:
    """create_user / update_user: insert or update the staff member."""
    staff = ensure_staff(session, corp_id, change.userid, at)
    if change.new_userid and change.new_userid != staff.userid and \
            repository.staff_by_userid(session, corp_id, change.new_userid) is None:
        staff.userid = change.new_userid
    if change.name:
        staff.name = change.name
    if change.mobile:
        staff.mobile = change.mobile
    if change.departments is not None or change.main_department is not None:
        staff.department_id = _department_id(session, corp_id, change)
    if change.status is not None:
        left = change.status == WECOM_STATUS_LEFT
        if left and staff.status != StaffStatus.resigned:
            staff.status, staff.resigned_at = StaffStatus.resigned, at
        elif not left and staff.status == StaffStatus.resigned:
            staff.status, staff.resigned_at = StaffStatus.active, None
    session.flush()
    return staff


def record_member_left(session: Session, corp_id: int, userid: str, at: datetime) -> Staff | None:
    """delete_user: the member left the corp; their customers await a transfer."""
    staff = repository.staff_by_userid(session, corp_id, userid)
    if staff is None:
        return None
    if staff.status != StaffStatus.resigned:
        staff.status, staff.resigned_at = StaffStatus.resigned, at
        session.flush()
    return staff


def _kind_under(parent: Department | None) -> DepartmentKind:
    if parent is None:
        return DepartmentKind.hq
    return DepartmentKind.branch if parent.kind == DepartmentKind.hq else DepartmentKind.store


def record_department_changed(session: Session, corp_id: int, wecom_id: int, *, name: str | None,
                              parent_wecom_id: int | None) -> Department:
    """create_party / update_party: insert the department, or rename and move it (with its subtree)."""
    parent = repository.department_by_wecom_id(session, corp_id, parent_wecom_id) if parent_wecom_id else None
    department = repository.department_by_wecom_id(session, corp_id, wecom_id)
    if department is None:
        department = Department(corp_id=corp_id, wecom_id=wecom_id, name=name or str(wecom_id),
                                parent_id=parent.id if parent else None, kind=_kind_under(parent), path="/")
        session.add(department)
        session.flush()
        department.path = f"{parent.path if parent else '/'}{department.id}/"
        session.flush()
        return department
    if name:
        department.name = name
    if parent is not None and parent.id != department.parent_id and \
            not parent.path.startswith(department.path):  # never move a department under itself
        old_path = department.path
        department.parent_id = parent.id
        session.flush()
        repository.move_subtree(session, corp_id, old_path, f"{parent.path}{department.id}/")
        session.expire(department)
    session.flush()
    return department


def record_department_deleted(session: Session, corp_id: int, wecom_id: int) -> Department | None:
    """delete_party: unlink the department from WeCom, keeping it for history."""
    department = repository.department_by_wecom_id(session, corp_id, wecom_id)
    if department is not None:
        department.wecom_id = None
        session.flush()
    return department
