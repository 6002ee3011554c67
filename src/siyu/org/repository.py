"""Queries of departments, staff and users — all through ``scoped``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal, data_scope, scoped
from siyu.models.org import Department, Staff, StaffStatus
from siyu.models.user import User


def subtree_department_ids(principal: Principal) -> Select[Any]:
    """Ids of the departments in the principal's subtree (their own department and below)."""
    if not principal.department_path:
        return select(Department.id).where(false())
    return select(Department.id).where(
        Department.corp_id == principal.corp_id, Department.path.startswith(principal.department_path)
    )


@data_scope(Department)
def _department_scope(statement: Select, principal: Principal) -> Select:
    if principal.department_path:
        return statement.where(Department.path.startswith(principal.department_path))
    return statement.where(false())


@data_scope(Staff)
def _staff_scope(statement: Select, principal: Principal) -> Select:
    if principal.staff_id is not None and not principal.department_path:
        return statement.where(Staff.id == principal.staff_id)
    return statement.where(Staff.department_id.in_(subtree_department_ids(principal)))


@data_scope(User)
def _user_scope(statement: Select, principal: Principal) -> Select:
    if principal.department_path:
        return statement.where(User.department_id.in_(subtree_department_ids(principal)))
    return statement.where(User.id == principal.user_id)


def list_departments(session: Session, principal: Principal) -> list[Department]:
    return list(session.scalars(scoped(select(Department), Department, principal).order_by(Department.path)))


def get_department(session: Session, principal: Principal, department_id: int) -> Department | None:
    return session.scalars(
        scoped(select(Department).where(Department.id == department_id), Department, principal)
    ).one_or_none()


def staff_query(principal: Principal, *, department_id: int | None = None, search: str | None = None,
                status: StaffStatus | None = None) -> Select[Any]:
    statement = scoped(select(Staff), Staff, principal)
    if department_id is not None:
        statement = statement.where(Staff.department_id == department_id)
    if status:
        statement = statement.where(Staff.status == status)
    if search:
        # autoescape: a search for "_" or "%" means those characters, not wildcards
        statement = statement.where(Staff.name.contains(search, autoescape=True)
                                    | Staff.userid.contains(search, autoescape=True))
    return statement


def get_staff(session: Session, principal: Principal, staff_id: int) -> Staff | None:
    return session.scalars(scoped(select(Staff).where(Staff.id == staff_id), Staff, principal)).one_or_none()


def find_staff_by_userid(session: Session, corp_id: int, userid: str) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.corp_id == corp_id, Staff.userid == userid)).one_or_none()


def users_query(principal: Principal) -> Select[Any]:
    return scoped(select(User), User, principal)


def get_user(session: Session, principal: Principal, user_id: int) -> User | None:
    return session.scalars(scoped(select(User).where(User.id == user_id), User, principal)).one_or_none()


def staff_count_by_department(session: Session, principal: Principal) -> dict[int, int]:
    statement = scoped(
        select(Staff.department_id, func.count()).group_by(Staff.department_id), Staff, principal
    )
    return {dept: count for dept, count in session.execute(statement) if dept is not None}


def staff_names(session: Session, principal: Principal, staff_ids: set[int]) -> dict[int, str]:
    """Names of the given staff members that are in the principal's scope."""
    statement = staff_query(principal).where(Staff.id.in_(staff_ids))
    return {staff.id: staff.name for staff in session.scalars(statement)}


def staff_in_scope_by_userid(session: Session, principal: Principal, userid: str) -> Staff | None:
    return session.scalars(staff_query(principal).where(Staff.userid == userid)).first()
