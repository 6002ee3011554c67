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
    # One statement per dialect, the rows going in as parameters: the callback endpoint's hot path
    # reuses one compiled statement (executed as one multi-row INSERT) instead of building one per row.
    dialect = session.get_bind().dialect.name
    if dialect not in _inbox_inserts:
        table = WeComCallback.__table__
        _inbox_inserts[dialect] = (dialect_insert(session, table).on_conflict_do_nothing(index_elements=["event_key"])
                                   .returning(table.c.id, table.c.event_key))
    return _inbox_inserts[dialect]


def insert_inbox_events(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Store new events (``status`` received) in one statement; returns event key → id of the rows
    inserted. A key already in the inbox (or twice in ``rows``) is inserted once: the atomic
    ``INSERT … ON CONFLICT DO NOTHING`` keeps concurrent duplicate deliveries out."""
    return {key: callback_id for callback_id, key in session.execute(_inbox_insert(session), rows)}


def inbox_ids_of_keys(session: Session, event_keys: list[str]) -> dict[str, int]:
    if not event_keys:
        return {}
    rows = session.execute(select(WeComCallback.event_key, WeComCallback.id)
                           .where(WeComCallback.event_key.in_(event_keys)))
    return {key: callback_id for key, callback_id in rows}


def add_log_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Rejected or duplicate deliveries: logged with no event key, never handled."""
    if rows:
        session.execute(WeComCallback.__table__.insert(), rows)


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
