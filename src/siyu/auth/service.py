"""Authentication: console logins (throttled), sessions and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.auth import repository
from siyu.kit.clock import Clock
from siyu.kit.errors import NotFound, TooManyRequests
from siyu.kit.security import (
    hash_api_token,
    new_api_token,
    verify_password,
    verify_password_for_missing_user,
)
from siyu.kit.settings import Settings, get_settings
from siyu.kit.tenancy import Principal
from siyu.models.user import ApiToken, LoginAttempt, Role, User

LOGIN_KEY_LENGTH = LoginAttempt.__table__.c.username.type.length


def principal_for_user(session: Session, user: User) -> Principal:
    """The principal of ``user``. Only a store manager gets a department subtree as data scope;
    for every other role a department is informational (see ``Principal.department_path``)."""
    path = None
    if user.role == Role.store_manager:
        path = repository.department_path(session, user.corp_id, user.department_id)
    return Principal(
        user_id=user.id, corp_id=user.corp_id, role=user.role, username=user.username,
        display_name=user.display_name, department_id=user.department_id, department_path=path,
        staff_id=user.staff_id, language=user.language,
    )


def principal_for_session(session: Session, user_id: int | None, version: int | None) -> Principal | None:
    if not user_id:
        return None
    user = repository.get_user(session, int(user_id))
    if user is None or not user.is_active or user.session_version != version:
        return None
    return principal_for_user(session, user)


def principal_for_token(session: Session, secret: str, clock: Clock) -> Principal | None:
    token = repository.find_active_token(session, hash_api_token(secret))
    if token is None:
        return None
    user = repository.get_user(session, token.user_id)
    if user is None or not user.is_active or user.corp_id != token.corp_id:
        return None
    now = clock.now()
    # Touch last_used_at at most once a minute to keep API calls from writing on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return principal_for_user(session, user)


def _resolve_login_name(session: Session, login: str) -> list[User]:
    """``name`` or ``name@corp-slug``."""
    if "@" in login:
        username, slug = login.rsplit("@", 1)
        corp_id = repository.corp_id_by_slug(session, slug)
        if corp_id is None:
            return []
        user = repository.find_user_by_corp_and_username(session, corp_id, username)
        return [user] if user is not None and user.is_active else []
    return repository.find_users_by_username(session, login)


def _throttle_key(session: Session, login: str, candidates: list[User]) -> str:
    """Failures count per account, however it was spelled: ``admin`` and ``admin@corp`` share one
    budget, so switching spellings does not buy an attacker more guesses."""
    if len(candidates) == 1:
        user = candidates[0]
        login = f"{user.username}@{repository.corp_slug(session, user.corp_id)}"
    # The column is bounded; a longer login must be refused as a failure, not crash the request.
    return login.lower()[:LOGIN_KEY_LENGTH]


@dataclass
class LoginResult:
    user: User | None
    #: set when the same username exists in several corps and ``name@corp`` is needed
    ambiguous: bool = False


def authenticate(session: Session, login: str, password: str, client_address: str, clock: Clock,
                 settings: Settings | None = None) -> LoginResult:
    """Check a console login. Raises ``TooManyRequests`` while the account or address is throttled
    (even for the right password); failures are recorded (and committed by the caller) so the
    throttle holds across processes."""
    settings = settings or get_settings()
    login = login.strip()
    now = clock.now()
    since = now - timedelta(seconds=settings.login_window_seconds)
    candidates = _resolve_login_name(session, login)
    key = _throttle_key(session, login, candidates)
    if (
        repository.count_recent_failures(session, username=key, since=since) >= settings.login_max_failures
        or repository.count_recent_failures(session, client_address=client_address, since=since)
        >= settings.login_max_failures * 4
    ):
        raise TooManyRequests("error.login_throttled", minutes=settings.login_window_seconds // 60)
    if len(candidates) > 1:
        verify_password_for_missing_user(password)
        return LoginResult(None, ambiguous=True)
    user = candidates[0] if candidates else None
    if user is None:
        verify_password_for_missing_user(password)
    elif verify_password(password, user.password_hash):
        repository.clear_failures(session, key)
        user.last_login_at = now
        return LoginResult(user)
    repository.record_failure(session, key, client_address, now)
    return LoginResult(None)


def create_token(session: Session, principal: Principal, name: str) -> tuple[ApiToken, str]:
    secret, token_hash, prefix = new_api_token()
    token = ApiToken(corp_id=principal.corp_id, user_id=principal.user_id, name=name,
                     token_hash=token_hash, prefix=prefix)
    session.add(token)
    session.flush()
    return token, secret


def revoke_token(session: Session, principal: Principal, token_id: int, clock: Clock) -> ApiToken:
    token = repository.get_own_token(session, principal, token_id)
    if token is None:
        raise NotFound("error.token_not_found")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    return token


def list_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    return repository.list_tokens(session, principal)
