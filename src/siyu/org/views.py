"""Console: the organisation — department tree, staff, console users — and the admin's forms to add
a department, a staff member and a user (through ``org.service``, like the REST API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Select, false
from sqlalchemy.orm import Session

from siyu.auth.dependencies import DbSession, request_language
from siyu.console.forms import FormState, blank_to_none, record, validate
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.errors import SiyuError
from siyu.kit.i18n import LANGUAGES, translate
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import CORP_WIDE_ROLES, Principal
from siyu.models.org import Department, DepartmentKind
from siyu.models.org import Staff as StaffModel
from siyu.models.user import Role
from siyu.models.user import User as UserModel
from siyu.org import repository, schemas, service

router = APIRouter()
PAGE_SIZE = 20
#: Notices shown after a successful form post (anything else in ``?notice=`` is ignored), with the
#: section of the page the browser returns to.
NOTICES = {"department": "departments", "staff": "staff", "user": "users"}


@dataclass
class TreeNode:
    """A department with its children and staff counts (its own, and its whole subtree's)."""

    department: Department
    children: list[TreeNode] = field(default_factory=list)
    staff: int = 0
    subtree_staff: int = 0


def department_tree(departments: list[Department], staff_counts: dict[int, int]) -> list[TreeNode]:
    """Roots and children from a scoped list: a store manager's root is their own department."""
    nodes = {d.id: TreeNode(d, staff=staff_counts.get(d.id, 0)) for d in departments}
    roots: list[TreeNode] = []
    for department in departments:
        node = nodes[department.id]
        parent = nodes.get(department.parent_id) if department.parent_id is not None else None
        (parent.children if parent else roots).append(node)

    def total(node: TreeNode) -> int:
        node.subtree_staff = node.staff + sum(total(child) for child in node.children)
        return node.subtree_staff

    for root in roots:
        total(root)
    return roots


def _department_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _staff_statement(principal: Principal, departments: list[Department], search: str | None,
                     department_id: int | None) -> Select[Any]:
    """Staff of the chosen department and everything below it (a branch shows its stores' staff)."""
    statement = repository.staff_query(principal, search=search or None)
    if department_id is not None:
        selected = next((d for d in departments if d.id == department_id), None)
        if selected is None:
            return statement.where(false())
        subtree = [d.id for d in departments if d.path.startswith(selected.path)]
        statement = statement.where(StaffModel.department_id.in_(subtree))
    return statement


def _staff_page(session: Session, principal: Principal, departments: list[Department], q: str | None,
                department_id: int | None, cursor: str | None) -> dict[str, Any]:
    rows, next_cursor = paginate(session, _staff_statement(principal, departments, q, department_id),
                                 StaffModel.id, limit=PAGE_SIZE, cursor=cursor)
    filters = {k: v for k, v in (("q", q or ""), ("department_id", department_id or "")) if v}
    return {"staff": rows, "staff_next": next_cursor, "filters": filters, "filter_query": urlencode(filters),
            "q": q or "", "department_id": department_id,
            "department_names": {d.id: d.name for d in departments}}


def _users_page(session: Session, principal: Principal, departments: list[Department],
                cursor: str | None) -> dict[str, Any]:
    users, next_cursor = paginate(session, repository.users_query(principal), UserModel.id, limit=PAGE_SIZE,
                                  cursor=cursor)
    staff_ids = {u.staff_id for u in users if u.staff_id is not None}
    staff_names: dict[int, str] = {}
    if staff_ids:
        staff_names = repository.staff_names(session, principal, staff_ids)
    return {"users": users, "users_next": next_cursor, "staff_names": staff_names,
            "department_names": {d.id: d.name for d in departments},
            "corp_wide_roles": {role.value for role in CORP_WIDE_ROLES}}


def _page(request: Request, session: Session, principal: Principal, *, q: str | None = None,
          department_id: int | None = None, form: FormState | None = None, notice: str | None = None,
          status_code: int = 200):
    departments = repository.list_departments(session, principal)
    forms = {name: FormState(name) for name in ("department", "staff", "user")}
    if form is not None:
        forms[form.name] = form
    context: dict[str, Any] = {
        "tree": department_tree(departments, repository.staff_count_by_department(session, principal)),
        "departments": departments, "forms": forms, "notice": notice if notice in NOTICES else None,
        "roles": [r.value for r in Role], "kinds": [k.value for k in DepartmentKind], "languages": LANGUAGES,
        "can_write": principal.can("org.write"), "can_write_users": principal.can("users.write"),
    }
    context |= _staff_page(session, principal, departments, q, department_id, None)
    context |= _users_page(session, principal, departments, None)
    return render(request, "org/index.html", context, status_code=status_code)


@router.get("/org")
def org_page(request: Request, session: DbSession, q: str | None = None, department_id: str | None = None,
             notice: str | None = None, principal: Principal = console_page("org")):
    return _page(request, session, principal, q=q, department_id=_department_id(department_id), notice=notice)


@router.get("/org/staff/rows")
def staff_list(request: Request, session: DbSession, q: str | None = None, department_id: str | None = None,
               cursor: str | None = None, principal: Principal = console_page("org")):
    """htmx: the staff table for a search/filter, or (with ``cursor``) the next rows to append."""
    departments = repository.list_departments(session, principal)
    context = _staff_page(session, principal, departments, q, _department_id(department_id), cursor)
    template = "org/_staff_rows.html" if cursor else "org/_staff_list.html"
    return render(request, template, context)


@router.get("/org/users/rows")
def user_rows(request: Request, session: DbSession, cursor: str | None = None,
              principal: Principal = console_page("org")):
    """htmx: the next rows of the users table."""
    departments = repository.list_departments(session, principal)
    return render(request, "org/_user_rows.html", _users_page(session, principal, departments, cursor))


def _refused(request: Request, session: Session, principal: Principal, form: FormState, status_code: int):
    return _page(request, session, principal, form=form, status_code=status_code)


def _created(kind: str) -> RedirectResponse:
    return RedirectResponse(f"/org?notice={kind}#{NOTICES[kind]}", status_code=303)


@router.post("/org/departments")
def create_department(request: Request, session: DbSession, name: str = Form(""), kind: str = Form(""),
                      parent_id: str = Form(""), city: str = Form(""),
                      principal: Principal = console_page("org", "org.write")):
    language = request_language(request)
    form = FormState("department", blank_to_none(
        {"name": name.strip(), "kind": kind, "parent_id": parent_id, "city": city.strip()},
        "parent_id", "city"))
    data = validate(schemas.DepartmentCreate, form, language)
    if data is None:
        return _refused(request, session, principal, form, 422)
    try:
        service.create_department(session, principal, data)
    except SiyuError as exc:
        record(exc, form, language)
        return _refused(request, session, principal, form, exc.status_code)
    return _created("department")


@router.post("/org/staff")
def create_staff(request: Request, session: DbSession, userid: str = Form(""), name: str = Form(""),
                 mobile: str = Form(""), department_id: str = Form(""),
                 principal: Principal = console_page("org", "org.write")):
    language = request_language(request)
    form = FormState("staff", blank_to_none(
        {"userid": userid.strip(), "name": name.strip(), "mobile": mobile.strip(),
         "department_id": department_id},
        "mobile", "department_id"))
    data = validate(schemas.StaffCreate, form, language)
    if data is None:
        return _refused(request, session, principal, form, 422)
    try:
        service.create_staff(session, principal, data)
    except SiyuError as exc:
        record(exc, form, language)
        return _refused(request, session, principal, form, exc.status_code)
    return _created("staff")


@router.post("/org/users")
def create_user(request: Request, session: DbSession, username: str = Form(""), display_name: str = Form(""),
                password: str = Form(""), role: str = Form(""), department_id: str = Form(""),
                staff_userid: str = Form(""), language: str = Form("zh-CN"),
                principal: Principal = console_page("org", "users.write")):
    operator_language = request_language(request)
    form = FormState("user", blank_to_none(
        {"username": username.strip(), "display_name": display_name.strip(), "password": password,
         "role": role,
         "department_id": department_id, "language": language}, "department_id"))
    staff_userid = staff_userid.strip()
    if staff_userid:
        # Operators know staff by their WeCom userid; the schema wants the row id (in scope only).
        found = repository.staff_in_scope_by_userid(session, principal, staff_userid)
        if found is None:
            form.errors["staff_userid"] = translate("error.staff_not_found", operator_language)
        form.values["staff_id"] = found.id if found else None
    data = validate(schemas.UserCreate, form, operator_language)
    # The password is never sent back to the browser.
    form.values["password"] = ""
    form.values["staff_userid"] = staff_userid
    if data is None or form.failed:
        return _refused(request, session, principal, form, 422)
    try:
        service.create_user(session, principal, data)
    except SiyuError as exc:
        record(exc, form, operator_language, rename={"staff_id": "staff_userid"})
        return _refused(request, session, principal, form, exc.status_code)
    return _created("user")
