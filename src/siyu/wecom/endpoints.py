"""REST: the corp's WeCom connection (secrets write-only), its test, the callback log with replay,
and sync history — everything the console's WeCom page does."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.integrations.wecom.connection_check import check_connection
from siyu.kit.pagination import Page, paginate
from siyu.models.wecom import WeComCallback, WeComSyncRun
from siyu.wecom import repository, schemas, service

router = APIRouter(prefix="/wecom", tags=["wecom"], dependencies=[require("wecom.admin")])


@router.get("/connection", response_model=schemas.Connection)
def get_connection(request: Request, session: DbSession, principal: CurrentPrincipal):
    connection = service.get_connection(session, principal)
    return service.connection_view(connection, request.app.state.settings.public_base_url)


@router.put("/connection", response_model=schemas.Connection)
def put_connection(data: schemas.ConnectionUpdate, request: Request, session: DbSession,
                   principal: CurrentPrincipal, clock: AppClock):
    settings = request.app.state.settings
    connection = service.save_connection(session, principal, data, clock, settings.secret_key)
    return service.connection_view(connection, settings.public_base_url)


@router.post("/connection/test", response_model=schemas.ConnectionTestResult)
def test_connection(request: Request, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    settings = request.app.state.settings
    return service.run_connection_test(
        session, principal, clock, lambda s, corp_id: check_connection(s, corp_id, clock, settings))


@router.get("/callbacks", response_model=Page[schemas.Callback])
def list_callbacks(session: DbSession, principal: CurrentPrincipal, status: str | None = None,
                   event: str | None = None, change_type: str | None = None, limit: int = Query(50),
                   cursor: str | None = None):
    statement = repository.callbacks_query(principal, status=status, event=event, change_type=change_type)
    rows, next_cursor = paginate(session, statement, WeComCallback.id, limit=limit, cursor=cursor)
    return Page(items=[schemas.Callback.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/callbacks/{callback_id}/replay", response_model=schemas.Callback)
def replay_callback(callback_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.replay_callback(session, principal, callback_id, clock)


@router.get("/sync-runs", response_model=Page[schemas.SyncRun])
def list_sync_runs(session: DbSession, principal: CurrentPrincipal, kind: str | None = None,
                   limit: int = Query(50), cursor: str | None = None):
    rows, next_cursor = paginate(session, repository.sync_runs_query(principal, kind=kind), WeComSyncRun.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[schemas.SyncRun.model_validate(row) for row in rows], next_cursor=next_cursor)
