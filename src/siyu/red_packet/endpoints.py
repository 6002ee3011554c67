"""REST: the red-packet budget, the ledger and its reconciliation export."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request, Response

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, request_language, require
from siyu.kit.pagination import Page, paginate
from siyu.models.red_packet import RedPacket
from siyu.red_packet import export, schemas, service

router = APIRouter(tags=["red packets"])


def budget_out(budget) -> schemas.Budget:
    return schemas.Budget.model_validate(budget).model_copy(update={"merchant_key_set": bool(budget.mch_key_encrypted)})


@router.get("/red-packets/budget", response_model=schemas.Budget, dependencies=[require("customers.read")])
def get_budget(session: DbSession, principal: CurrentPrincipal):
    return budget_out(service.budget_of(session, principal.corp_id))


@router.put("/red-packets/budget", response_model=schemas.Budget, dependencies=[require("settings.write")])
def update_budget(body: schemas.BudgetUpdate, request: Request, session: DbSession, principal: CurrentPrincipal,
                  clock: AppClock):
    changes = body.model_dump(exclude={"mch_key"}, exclude_none=True)
    budget = service.update_budget(session, principal.corp_id, clock, mch_key=body.mch_key,
                                   secret_key=request.app.state.settings.secret_key, **changes)
    return budget_out(budget)


@router.get("/red-packets", response_model=Page[schemas.RedPacket], dependencies=[require("customers.read")])
def ledger(session: DbSession, principal: CurrentPrincipal, cursor: str | None = None,
           limit: int = Query(50, ge=1, le=500)):
    items, next_cursor = paginate(session, service.ledger_query(principal.corp_id), RedPacket.id, limit=limit,
                                  cursor=cursor)
    return Page(items=[schemas.RedPacket.model_validate(p) for p in items], next_cursor=next_cursor)


@router.get("/red-packets/export.{kind}", dependencies=[require("customers.read")])
def export_ledger(kind: str, request: Request, session: DbSession, principal: CurrentPrincipal,
                  start: datetime | None = None, end: datetime | None = None):
    language = request_language(request)
    if kind == "xlsx":
        content = export.to_xlsx(session, principal.corp_id, language=language, start=start, end=end)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif kind == "csv":
        content = export.to_csv(session, principal.corp_id, language=language, start=start, end=end)
        media = "text/csv; charset=utf-8"
    else:
        return Response(status_code=404)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="red-packets.{kind}"'})
