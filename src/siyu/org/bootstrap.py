"""Creating the first corp and user from the command line."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.errors import Conflict, NotFound
from siyu.kit.security import hash_password
from siyu.models.corp import Corp
from siyu.models.org import Department, DepartmentKind
from siyu.models.user import Role, User


def create_corp_with_hq(session: Session, slug: str, name: str) -> Corp:
    corp = Corp(slug=slug, name=name)
    session.add(corp)
    session.flush()
    hq = Department(corp_id=corp.id, kind=DepartmentKind.hq, name=name, path="/")
    session.add(hq)
    session.flush()
    hq.path = f"/{hq.id}/"
    return corp


def create_user_cli(session: Session, *, corp_slug: str, username: str, password: str, role: str,
                    display_name: str | None, create_corp: bool) -> str:
    corp = session.scalars(select(Corp).where(Corp.slug == corp_slug)).one_or_none()
    if corp is None:
        if not create_corp:
            raise NotFound("error.corp_not_found", slug=corp_slug)
        corp = create_corp_with_hq(session, corp_slug, corp_slug)
    if session.scalars(select(User).where(User.corp_id == corp.id, User.username == username)).first():
        raise Conflict("error.username_taken", username=username)
    session.add(User(corp_id=corp.id, username=username, display_name=display_name or username,
                     password_hash=hash_password(password), role=Role(role)))
    return f"created {role} {username}@{corp_slug}"
