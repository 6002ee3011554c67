"""Queries behind WeCom address-book changes: departments and staff looked up by their WeCom ids.

These run in jobs acting for one corp (no principal), so every statement names ``corp_id``.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.models.org import Department, Staff


def department_by_wecom_id(session: Session, corp_id: int, wecom_id: int) -> Department | None:
    return session.scalars(
        select(Department).where(Department.corp_id == corp_id, Department.wecom_id == wecom_id)
    ).one_or_none()


def staff_by_userid(session: Session, corp_id: int, userid: str) -> Staff | None:
    statement = select(Staff).where(Staff.corp_id == corp_id, Staff.userid == userid)
    return session.scalars(statement).one_or_none()


def staff_ids_by_userid(session: Session, corp_id: int, userids: list[str]) -> dict[str, int]:
    if not userids:
        return {}
    rows = session.execute(select(Staff.userid, Staff.id)
                           .where(Staff.corp_id == corp_id, Staff.userid.in_(userids)))
    return {key: value for key, value in rows}


def insert_staff_if_absent(session: Session, values: dict) -> None:
    """Insert a staff row unless (corp_id, userid) exists — concurrent handlers may race here."""
    session.execute(dialect_insert(session, Staff.__table__).values(**values)
                    .on_conflict_do_nothing(index_elements=["corp_id", "userid"]))


def move_subtree(session: Session, corp_id: int, old_path: str, new_path: str) -> None:
    """Rewrite the materialised path of every department under ``old_path`` (itself included)."""
    session.execute(
        update(Department)
        .where(Department.corp_id == corp_id, Department.path.startswith(old_path))
        .values(path=new_path + func.substr(Department.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )


def has_children(session: Session, department_id: int) -> bool:
    statement = select(Department.id).where(Department.parent_id == department_id).limit(1)
    return session.scalars(statement).first() is not None
