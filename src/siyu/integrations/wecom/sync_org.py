"""Sync of the address book: departments (with materialised paths) and staff, plus the follow users.

Each function fetches from WeCom, then writes in one transaction of its own; the address book is
small (hundreds of departments, thousands of staff), so a crash simply repeats the step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from siyu.integrations.wecom import errors
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError
from siyu.integrations.wecom.schemas import DepartmentInfo, UserInfo
from siyu.kit.db import dialect_insert
from siyu.models.org import Department, DepartmentKind, Staff, StaffStatus

#: Answers meaning "this secret/IP may not read details": fall back to the id-only APIs (reference §2).
RESTRICTED = frozenset({errors.API_FORBIDDEN, errors.NO_PRIVILEGE, errors.IP_NOT_ALLOWED})
WECOM_RESIGNED = 5


def fetch_departments(client: WeComClient) -> list[DepartmentInfo]:
    """The visible department tree; ids and parents only where names may not be read."""
    try:
        return client.department_list().department
    except WeComApiError as error:
        if error.errcode not in RESTRICTED:
            raise
    return [DepartmentInfo(id=d.id, parentid=d.parentid, order=d.order)
            for d in client.department_simplelist().department_id]


def fetch_members(client: WeComClient, department_ids: Iterable[int]) -> list[UserInfo]:
    """Every member of the given departments (each department listed on its own, as WeCom now asks)."""
    members: dict[str, UserInfo] = {}
    detailed = True
    for department_id in department_ids:
        if detailed:
            try:
                rows = client.user_list(department_id).userlist
            except WeComApiError as error:
                if error.errcode not in RESTRICTED:
                    raise
                detailed = False
        if not detailed:
            rows = [UserInfo(userid=u.userid, name=u.name, department=u.department)
                    for u in client.user_simplelist(department_id).userlist]
        for member in rows:
            members.setdefault(member.userid, member)
    return list(members.values())


@dataclass
class OrgCounts:
    created: int = 0
    updated: int = 0
    resigned: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "resigned": self.resigned}


def upsert_departments(session: Session, corp_id: int, departments: list[DepartmentInfo], now: datetime
                       ) -> OrgCounts:
    """Insert new departments, rename/move changed ones and recompute every synced path.

    The WeCom root adopts the corp's existing head-office department when it is not linked yet, so a
    corp created in siyu does not end up with two head offices. Kinds are guessed only on insert
    (root → hq, a department with children → branch, a leaf → store); operators may change them.
    """
    counts = OrgCounts()
    by_id = {d.id: d for d in departments}
    children = {d.parentid for d in departments}
    roots = [d.id for d in departments if d.parentid not in by_id]
    local = {row.wecom_id: row for row in session.execute(
        select(Department.id, Department.wecom_id, Department.name, Department.parent_id, Department.path)
        .where(Department.corp_id == corp_id, Department.wecom_id.is_not(None)))}
    if len(roots) == 1 and roots[0] not in local:
        head_offices = session.scalars(select(Department.id).where(
            Department.corp_id == corp_id, Department.wecom_id.is_(None), Department.parent_id.is_(None),
            Department.kind == DepartmentKind.hq)).all()
        if len(head_offices) == 1:
            session.execute(update(Department).where(Department.id == head_offices[0])
                            .values(wecom_id=roots[0], updated_at=now))
    missing = [d for d in departments if d.id not in local]
    if missing:
        statement = dialect_insert(session, Department.__table__).on_conflict_do_nothing(
            index_elements=["corp_id", "wecom_id"])
        created = session.execute(statement.returning(Department.__table__.c.id), [
            {"corp_id": corp_id, "wecom_id": d.id, "name": (d.name or str(d.id))[:200], "path": "/",
             "kind": (DepartmentKind.hq if d.id in roots else
                      DepartmentKind.branch if d.id in children else DepartmentKind.store),
             "created_at": now, "updated_at": now} for d in missing]).all()
        counts.created = len(created)
    local = {row.wecom_id: row for row in session.execute(
        select(Department.id, Department.wecom_id, Department.name, Department.parent_id, Department.path)
        .where(Department.corp_id == corp_id, Department.wecom_id.is_not(None)))}
    paths: dict[int, str] = {}

    def path_of(wecom_id: int) -> str:
        if wecom_id not in paths:
            parent = by_id[wecom_id].parentid
            prefix = path_of(parent) if parent in by_id and parent != wecom_id else "/"
            paths[wecom_id] = f"{prefix}{local[wecom_id].id}/"
        return paths[wecom_id]

    changes, created_ids = [], {d.id for d in missing}
    for department in departments:
        row = local[department.id]
        parent = local[department.parentid].id if department.parentid in by_id else None
        name = (department.name or row.name)[:200]
        path = path_of(department.id)
        if (name, parent, path) != (row.name, row.parent_id, row.path):
            changes.append({"b_id": row.id, "b_name": name, "b_parent": parent, "b_path": path})
            # a department created above gets its real path here: that is not an update
            counts.updated += department.id not in created_ids
    if changes:
        table = Department.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            name=bindparam("b_name"), parent_id=bindparam("b_parent"), path=bindparam("b_path"),
            updated_at=now), changes)
    return counts


def _department_ids(session: Session, corp_id: int) -> dict[int, int]:
    return dict(session.execute(select(Department.wecom_id, Department.id).where(
        Department.corp_id == corp_id, Department.wecom_id.is_not(None))).all())


def upsert_staff(session: Session, corp_id: int, members: list[UserInfo], now: datetime, *,
                 keep_userids: set[str] | None = None) -> OrgCounts:
    """Insert and update staff from WeCom members.

    With ``keep_userids`` (a full sync), active staff that WeCom listed neither as members nor as
    follow users are marked resigned: they left the corp.
    """
    counts = OrgCounts()
    departments = _department_ids(session, corp_id)
    existing = {row.userid: row for row in session.execute(
        select(Staff.id, Staff.userid, Staff.name, Staff.mobile, Staff.department_id, Staff.status)
        .where(Staff.corp_id == corp_id))}
    inserts, changes = [], []
    for member in members:
        department = member.main_department if member.main_department in departments else next(
            (d for d in member.department if d in departments), None)
        department_id = departments.get(department) if department is not None else None
        status = StaffStatus.resigned if member.status == WECOM_RESIGNED else StaffStatus.active
        row = existing.get(member.userid)
        if row is None:
            inserts.append({"corp_id": corp_id, "userid": member.userid,
                            "name": (member.name or member.userid)[:100],
                            "mobile": member.mobile[:32] or None, "department_id": department_id,
                            "status": status,
                            "resigned_at": now if status == StaffStatus.resigned else None,
                            "created_at": now, "updated_at": now})
            continue
        values = {"name": (member.name or row.name)[:100], "mobile": member.mobile[:32] or row.mobile,
                  "department_id": department_id if department_id is not None else row.department_id,
                  "status": status}
        if values != {"name": row.name, "mobile": row.mobile, "department_id": row.department_id,
                      "status": row.status}:
            resigned_at = now if status == StaffStatus.resigned else None
            changes.append({"b_id": row.id, **{f"b_{k}": v for k, v in values.items()},
                            "b_resigned": resigned_at})
    if keep_userids is not None:
        listed = {m.userid for m in members} | keep_userids
        for userid, row in existing.items():
            if userid not in listed and row.status == StaffStatus.active:
                changes.append({"b_id": row.id, "b_name": row.name, "b_mobile": row.mobile,
                                "b_department_id": row.department_id, "b_status": StaffStatus.resigned,
                                "b_resigned": now})
                counts.resigned += 1
    if inserts:
        statement = dialect_insert(session, Staff.__table__).on_conflict_do_nothing(
            index_elements=["corp_id", "userid"])
        counts.created = len(session.execute(statement.returning(Staff.__table__.c.id), inserts).all())
    if changes:
        table = Staff.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            name=bindparam("b_name"), mobile=bindparam("b_mobile"),
            department_id=bindparam("b_department_id"), status=bindparam("b_status"),
            resigned_at=bindparam("b_resigned"), updated_at=now), changes)
    counts.updated = len(changes) - counts.resigned
    return counts


def ensure_staff(session: Session, corp_id: int, userids: Iterable[str], now: datetime) -> int:
    """Make sure a staff row exists for each userid (named after the userid until the address book
    says better); returns how many were created. Existing staff are left as they are."""
    rows = [{"corp_id": corp_id, "userid": userid, "name": userid[:100], "status": StaffStatus.active,
             "created_at": now, "updated_at": now} for userid in dict.fromkeys(userids)]
    if not rows:
        return 0
    statement = dialect_insert(session, Staff.__table__).on_conflict_do_nothing(
        index_elements=["corp_id", "userid"])
    return len(session.execute(statement.returning(Staff.__table__.c.id), rows).all())
