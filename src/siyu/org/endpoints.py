"""REST: departments, staff and console users."""

from __future__ import annotations

from fastapi import APIRouter, Query

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.kit.errors import NotFound
from siyu.kit.pagination import Page, paginate
from siyu.models.org import Staff as StaffModel
from siyu.models.org import StaffStatus
from siyu.models.user import User as UserModel
from siyu.org import repository, schemas, service

router = APIRouter(tags=["organisation"])


@router.get("/departments", response_model=list[schemas.Department], dependencies=[require("org.read")])
def list_departments(session: DbSession, principal: CurrentPrincipal):
    return repository.list_departments(session, principal)


@router.get("/departments/{department_id}", response_model=schemas.Department,
            dependencies=[require("org.read")])
def get_department(department_id: int, session: DbSession, principal: CurrentPrincipal):
    department = repository.get_department(session, principal, department_id)
    if department is None:
        raise NotFound("error.department_not_found")
    return department


@router.post("/departments", response_model=schemas.Department, status_code=201,
             dependencies=[require("org.write")])
def create_department(body: schemas.DepartmentCreate, session: DbSession, principal: CurrentPrincipal):
    return service.create_department(session, principal, body)


@router.patch("/departments/{department_id}", response_model=schemas.Department,
              dependencies=[require("org.write")])
def update_department(department_id: int, body: schemas.DepartmentUpdate, session: DbSession,
                      principal: CurrentPrincipal):
    return service.update_department(session, principal, department_id, body)


@router.get("/staff", response_model=Page[schemas.Staff])
def list_staff(session: DbSession, principal: CurrentPrincipal, department_id: int | None = None,
               q: str | None = None, status: StaffStatus | None = None, limit: int = Query(50),
               cursor: str | None = None):
    statement = repository.staff_query(principal, department_id=department_id, search=q, status=status)
    rows, next_cursor = paginate(session, statement, StaffModel.id, limit=limit, cursor=cursor)
    return Page(items=[schemas.Staff.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/staff/{staff_id}", response_model=schemas.Staff)
def get_staff(staff_id: int, session: DbSession, principal: CurrentPrincipal):
    staff = repository.get_staff(session, principal, staff_id)
    if staff is None:
        raise NotFound("error.staff_not_found")
    return staff


@router.post("/staff", response_model=schemas.Staff, status_code=201, dependencies=[require("org.write")])
def create_staff(body: schemas.StaffCreate, session: DbSession, principal: CurrentPrincipal):
    return service.create_staff(session, principal, body)


@router.patch("/staff/{staff_id}", response_model=schemas.Staff, dependencies=[require("org.write")])
def update_staff(staff_id: int, body: schemas.StaffUpdate, session: DbSession, principal: CurrentPrincipal,
                 clock: AppClock):
    return service.update_staff(session, principal, staff_id, body, clock)


@router.get("/users", response_model=Page[schemas.User], dependencies=[require("org.read")])
def list_users(session: DbSession, principal: CurrentPrincipal, limit: int = Query(50), cursor: str | None = None):
    rows, next_cursor = paginate(session, repository.users_query(principal), UserModel.id, limit=limit,
                                 cursor=cursor)
    return Page(items=[schemas.User.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/users/{user_id}", response_model=schemas.User, dependencies=[require("org.read")])
def get_user(user_id: int, session: DbSession, principal: CurrentPrincipal):
    user = repository.get_user(session, principal, user_id)
    if user is None:
        raise NotFound("error.user_not_found")
    return user


@router.post("/users", response_model=schemas.User, status_code=201, dependencies=[require("users.write")])
def create_user(body: schemas.UserCreate, session: DbSession, principal: CurrentPrincipal):
    return service.create_user(session, principal, body)


@router.patch("/users/{user_id}", response_model=schemas.User, dependencies=[require("users.write")])
def update_user(user_id: int, body: schemas.UserUpdate, session: DbSession, principal: CurrentPrincipal):
    return service.update_user(session, principal, user_id, body)
