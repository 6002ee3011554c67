"""Queries of WeCom connections, the callback inbox/log and sync runs.

Console and API reads go through ``scoped``; the callback endpoint and the handler job act for a
corp named by the callback URL or the job, so their lookups take the ``corp_id`` explicitly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.kit.tenancy import Principal, scoped
from siyu.models.wecom import CallbackStatus, WeComCallback, WeComConnection, WeComSyncRun

# -- connection ------------------------------------------------------------------------------------


def connection_of_corp(session: Session, corp_id: int) -> WeComConnection | None:
    """The corp's connection, for the callback endpoint and jobs (no principal there)."""
    return session.scalars(select(WeComConnection).where(WeComConnection.corp_id == corp_id)).one_or_none()


def get_connection(session: Session, principal: Principal) -> WeComConnection | None:
    return session.scalars(scoped(select(WeComConnection), WeComConnection, principal)).one_or_none()


def wecom_corp_id_taken(session: Session, wecom_corp_id: str, corp_id: int) -> bool:
    """Whether another tenant already connected this WeCom corp (the column is unique)."""
    return session.scalars(
        select(WeComConnection.id).where(WeComConnection.wecom_corp_id == wecom_corp_id,
                                         WeComConnection.corp_id != corp_id)
    ).first() is not None


# -- callback inbox --------------------------------------------------------------------------------


_inbox_inserts: dict[str, Any] = {}


def _inbox_insert(session: Session):
    # One statement per dialect with the row as parameters: the callback endpoint's hot path then
    # reuses one compiled statement instead of building and hashing a new one per request.
    dialect = session.get_bind().dialect.name
    if dialect not in _inbox_inserts:
        _inbox_inserts[dialect] = (dialect_insert(session, WeComCallback.__table__)
                                   .on_conflict_do_nothing(index_elements=["event_key"])
                                   .returning(WeComCallback.__table__.c.id))
    return _inbox_inserts[dialect]


def insert_inbox_event(session: Session, values: dict[str, Any]) -> int | None:
    """Store a new event (``status`` received). Returns its id, or None when ``event_key`` is already
    in the inbox — the atomic ``INSERT … ON CONFLICT DO NOTHING`` makes concurrent duplicate
    deliveries safe."""
    return session.execute(_inbox_insert(session), values).scalar_one_or_none()


def inbox_id_of_key(session: Session, event_key: str) -> int | None:
    return session.scalars(select(WeComCallback.id).where(WeComCallback.event_key == event_key)).first()


def add_log_row(session: Session, values: dict[str, Any]) -> None:
    """A rejected or duplicate delivery: logged with no event key, never handled."""
    session.execute(WeComCallback.__table__.insert(), values)


def callback_for_handling(session: Session, callback_id: int) -> WeComCallback | None:
    return session.get(WeComCallback, callback_id)


def mark_callback(session: Session, callback_id: int, status: CallbackStatus, *, at: datetime,
                  reason: str | None = None) -> None:
    session.execute(update(WeComCallback).where(WeComCallback.id == callback_id)
                    .values(status=status, handled_at=at, reason=reason, updated_at=at))


def callbacks_query(principal: Principal, *, status: str | None = None, event: str | None = None,
                    change_type: str | None = None) -> Select[Any]:
    statement = scoped(select(WeComCallback), WeComCallback, principal)
    if status:
        statement = statement.where(WeComCallback.status == status)
    if event:
        statement = statement.where(WeComCallback.event == event)
    if change_type:
        statement = statement.where(WeComCallback.change_type == change_type)
    return statement


def get_callback(session: Session, principal: Principal, callback_id: int) -> WeComCallback | None:
    return session.scalars(
        scoped(select(WeComCallback).where(WeComCallback.id == callback_id), WeComCallback, principal)
    ).one_or_none()


def bump_replay_count(session: Session, callback_id: int, at: datetime) -> None:
    session.execute(update(WeComCallback).where(WeComCallback.id == callback_id)
                    .values(replay_count=WeComCallback.replay_count + 1, status=CallbackStatus.received,
                            reason=None, updated_at=at))


# -- sync runs -------------------------------------------------------------------------------------


def sync_runs_query(principal: Principal, *, kind: str | None = None) -> Select[Any]:
    statement = scoped(select(WeComSyncRun), WeComSyncRun, principal)
    if kind:
        statement = statement.where(WeComSyncRun.kind == kind)
    return statement


def latest_sync_run(session: Session, principal: Principal) -> WeComSyncRun | None:
    return session.scalars(
        scoped(select(WeComSyncRun), WeComSyncRun, principal).order_by(WeComSyncRun.id.desc()).limit(1)
    ).first()
