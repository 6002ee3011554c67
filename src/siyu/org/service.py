"""Organisation rules: the department tree, staff, console users and their roles."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.security import hash_password
from siyu.kit.tenancy import Principal
from siyu.models.org import Department, DepartmentKind, Staff, StaffStatus
from siyu.models.user import Role, User
from siyu.org import repository, schemas


def _department_in_scope(session: Session, principal: Principal, department_id: int, field: str) -> Department:
    department = repository.get_department(session, principal, department_id)
    if department is None:
        raise NotFound("error.department_not_found", field=field)
    return department


def create_department(session: Session, principal: Principal, data: schemas.DepartmentCreate) -> Department:
    """A department under ``parent_id`` (in the principal's scope). The tree is hq → branches →
    stores: an hq is a root, branches and stores need a parent, and a store is a leaf."""
    parent = None
    if data.parent_id is not None:
        parent = _department_in_scope(session, principal, data.parent_id, "parent_id")
        if parent.kind == DepartmentKind.store:
            raise InvalidInput("error.store_cannot_have_children", field="parent_id")
        if data.kind == DepartmentKind.hq:
            raise InvalidInput("error.hq_cannot_have_parent", field="parent_id")
    elif data.kind != DepartmentKind.hq:
        raise InvalidInput("error.department_needs_parent", field="parent_id")
    department = Department(corp_id=principal.corp_id, parent_id=data.parent_id, kind=data.kind,
                            name=data.name, city=data.city, path="/")
    session.add(department)
    session.flush()
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    return department


def update_department(session: Session, principal: Principal, department_id: int,
                      data: schemas.DepartmentUpdate) -> Department:
    """Rename a department or change its city (moving it in the tree is not offered)."""
    department = _department_in_scope(session, principal, department_id, "department_id")
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(department, field, value)
    return department


def create_staff(session: Session, principal: Principal, data: schemas.StaffCreate) -> Staff:
    """A staff member (WeCom member) of the principal's corp; ``userid`` is unique per corp."""
    if data.department_id is not None:
        _department_in_scope(session, principal, data.department_id, "department_id")
    if repository.find_staff_by_userid(session, principal.corp_id, data.userid) is not None:
        raise Conflict("error.staff_userid_taken", field="userid", userid=data.userid)
    staff = Staff(corp_id=principal.corp_id, **data.model_dump())
    session.add(staff)
    try:
        # The unique constraint decides when two requests race past the check above.
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("error.staff_userid_taken", field="userid", userid=data.userid) from exc
    return staff


def update_staff(session: Session, principal: Principal, staff_id: int, data: schemas.StaffUpdate,
                 clock: Clock) -> Staff:
    """Change a staff member in scope; resigning stamps ``resigned_at``, re-activating clears it."""
    staff = repository.get_staff(session, principal, staff_id)
    if staff is None:
        raise NotFound("error.staff_not_found")
    changes = data.model_dump(exclude_unset=True)
    if changes.get("department_id") is not None:
        _department_in_scope(session, principal, changes["department_id"], "department_id")
    if "status" in changes and changes["status"] != staff.status:
        staff.resigned_at = clock.now() if changes["status"] == StaffStatus.resigned else None
    for field, value in changes.items():
        setattr(staff, field, value)
    return staff


def _check_role_scope(session: Session, principal: Principal, role: Role, department_id: int | None,
                      staff_id: int | None) -> None:
    if department_id is not None:
        _department_in_scope(session, principal, department_id, "department_id")
    if staff_id is not None and repository.get_staff(session, principal, staff_id) is None:
        raise NotFound("error.staff_not_found", field="staff_id")
    if role == Role.store_manager and department_id is None:
        raise InvalidInput("error.store_manager_needs_department", field="department_id")
    if role == Role.staff and staff_id is None:
        raise InvalidInput("error.staff_user_needs_staff", field="staff_id")


def create_user(session: Session, principal: Principal, data: schemas.UserCreate) -> User:
    """A console user. Department and staff must be in the principal's scope; a store manager needs
    a department and a staff user a staff member."""
    _check_role_scope(session, principal, data.role, data.department_id, data.staff_id)
    user = User(corp_id=principal.corp_id, username=data.username, display_name=data.display_name,
                password_hash=hash_password(data.password), role=data.role, department_id=data.department_id,
                staff_id=data.staff_id, language=data.language)
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("error.username_taken", field="username", username=data.username) from exc
    return user


def update_user(session: Session, principal: Principal, user_id: int, data: schemas.UserUpdate) -> User:
    """Change a console user in scope. A new password, a new role or deactivation ends every session
    of the user (``session_version``); nobody can deactivate themselves or change their own role."""
    user = repository.get_user(session, principal, user_id)
    if user is None:
        raise NotFound("error.user_not_found")
    changes = data.model_dump(exclude_unset=True)
    role = changes.get("role", user.role)
    _check_role_scope(session, principal, role, changes.get("department_id", user.department_id),
                      changes.get("staff_id", user.staff_id))
    if user.id == principal.user_id and (changes.get("is_active") is False or
                                         ("role" in changes and role != user.role)):
        raise Conflict("error.cannot_demote_self")
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
        user.session_version += 1
    if changes.get("is_active") is False or ("role" in changes and role != user.role):
        user.session_version += 1
    for field, value in changes.items():
        setattr(user, field, value)
    return user
