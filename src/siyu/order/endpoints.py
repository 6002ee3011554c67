"""REST: orders in real time, the order list, and order file imports with their reports."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, request_language, require
from siyu.kit.errors import InvalidInput, NotFound
from siyu.kit.pagination import Page, paginate
from siyu.models.order import Order, OrderImport
from siyu.order import reading, repository, schemas, service

router = APIRouter(tags=["orders"])


@router.post("/orders", response_model=schemas.OrderSubmissionResult, dependencies=[require("customers.write")])
def submit_orders(body: schemas.OrderSubmission, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    """Up to 500 orders (``{"orders": [...]}``, a bare list, or one bare order). Idempotent on
    (platform, shop, order_no): a repeated order is ``unchanged``; a new status, amount or refund
    ``updated``. A store manager posts only for their own stores (every order names one)."""
    return service.submit_orders(session, principal, body.orders, clock)


@router.get("/orders", response_model=Page[schemas.OrderRecord], dependencies=[require("orders.read")])
def list_orders(session: DbSession, principal: CurrentPrincipal, platform: str | None = None,
                shop: str | None = None, order_no: str | None = None, customer_id: int | None = None,
                store_id: int | None = None, limit: int = Query(50), cursor: str | None = None):
    statement = repository.orders_query(principal, platform=platform, shop=shop, order_no=order_no,
                                        customer_id=customer_id, store_id=store_id)
    rows, next_cursor = paginate(session, statement, Order.id, limit=limit, cursor=cursor)
    return Page(items=[schemas.OrderRecord.model_validate(row) for row in rows], next_cursor=next_cursor)


def _mapping(raw: str | None) -> object:
    if raw is None or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidInput("order.error.mapping_not_json", field="mapping") from error


@router.post("/order-imports", response_model=schemas.OrderImportReport, status_code=202,
             dependencies=[require("customers.write")])
def create_order_import(request: Request, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                        file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX")],
                        platform: Annotated[str, Form(description="taobao, tmall, jd, youzan, douyin, pos")],
                        shop: Annotated[str, Form(max_length=64)] = "",
                        mapping: Annotated[str | None, Form(description='{"target_field": "column"}')] = None):
    """Upload an order file; a job imports it. Poll ``GET /order-imports/{import_id}`` for the report."""
    preset, checked = service.check_import_request(principal, platform, _mapping(mapping))
    file.file.seek(0, 2)
    if file.file.tell() == 0:
        raise InvalidInput("order.error.empty_file", field="file")
    file.file.seek(0)
    stored = reading.store_upload(request.app.state.settings.var_dir, principal.corp_id, file.filename or "",
                                   file.file)
    try:
        record = service.create_import(session, principal, principal.corp_id, preset=preset, shop=shop.strip(),
                                       filename=file.filename or stored.name, stored_path=stored,
                                       mapping=checked, clock=clock)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return service.describe_import(record, request_language(request))


@router.get("/order-imports", response_model=Page[schemas.OrderImportReport], dependencies=[require("orders.read")])
def list_order_imports(request: Request, session: DbSession, principal: CurrentPrincipal,
                       limit: int = Query(20), cursor: str | None = None):
    rows, next_cursor = paginate(session, repository.imports_query(principal), OrderImport.id, limit=limit,
                                 cursor=cursor)
    language = request_language(request)
    return Page(items=[service.describe_import(row, language) for row in rows], next_cursor=next_cursor)


def _import(session, principal, import_id: int) -> OrderImport:
    record = repository.get_import(session, principal, import_id)
    if record is None:
        raise NotFound("order.error.import_not_found")
    return record


@router.get("/order-imports/{import_id}", response_model=schemas.OrderImportReport,
            dependencies=[require("orders.read")])
def get_order_import(import_id: int, request: Request, session: DbSession, principal: CurrentPrincipal):
    return service.describe_import(_import(session, principal, import_id), request_language(request))


@router.get("/order-imports/{import_id}/rejects", response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "The rejected rows with reasons"}},
            dependencies=[require("orders.read")])
def get_order_import_rejects(import_id: int, session: DbSession, principal: CurrentPrincipal):
    """The rejected rows as CSV: the file's own columns, then 行号/row, 列/column, 原因 and reason."""
    path = service.rejects_file(_import(session, principal, import_id))
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"order-import-{import_id}-rejects.csv")
