"""Queries of users, tokens and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal
from siyu.models.corp import Corp
from siyu.models.org import Department
from siyu.models.user import ApiToken, LoginAttempt, User


def find_users_by_username(session: Session, username: str) -> list[User]:
    return list(session.scalars(select(User).where(User.username == username, User.is_active.is_(True))))


def find_user_by_corp_and_username(session: Session, corp_id: int, username: str) -> User | None:
    return session.scalars(select(User).where(User.corp_id == corp_id, User.username == username)).one_or_none()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def department_path(session: Session, corp_id: int, department_id: int | None) -> str | None:
    """The materialised path of a department of ``corp_id`` (never another corp's)."""
    if department_id is None:
        return None
    return session.scalar(select(Department.path).where(Department.id == department_id,
                                                        Department.corp_id == corp_id))


def corp_id_by_slug(session: Session, slug: str) -> int | None:
    return session.scalar(select(Corp.id).where(Corp.slug == slug))


def corp_slug(session: Session, corp_id: int) -> str:
    return session.scalar(select(Corp.slug).where(Corp.id == corp_id)) or ""


def find_active_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).one_or_none()


def list_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken).where(ApiToken.corp_id == principal.corp_id, ApiToken.user_id == principal.user_id)
        .order_by(ApiToken.id.desc())
    ))


def get_own_token(session: Session, principal: Principal, token_id: int) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.corp_id == principal.corp_id,
                               ApiToken.user_id == principal.user_id)
    ).one_or_none()


def count_recent_failures(session: Session, *, username: str | None = None, client_address: str | None = None,
                          since: datetime) -> int:
    statement = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.attempted_at >= since)
    if username is not None:
        statement = statement.where(LoginAttempt.username == username)
    if client_address is not None:
        statement = statement.where(LoginAttempt.client_address == client_address)
    return int(session.scalar(statement) or 0)


def record_failure(session: Session, username: str, client_address: str, when: datetime) -> None:
    session.add(LoginAttempt(username=username, client_address=client_address, attempted_at=when))
    session.flush()


def clear_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
