"""Console: orders — upload an order file with a platform preset, follow its import (htmx polls the
progress), read its report and download its rejects; and the latest orders in the viewer's scope.

Uploads go through the same service calls as ``POST /api/v1/order-imports``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.errors import InvalidInput, NotFound, SiyuError
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.order import Order, OrderImport
from siyu.order import reading, repository, service
from siyu.order.presets import PRESETS

router = APIRouter()
PAGE_SIZE = 20
#: the preset choices of the upload form, in the order operators meet them
PLATFORM_CHOICES = tuple(PRESETS)


def _can_import(principal: Principal) -> bool:
    return principal.corp_wide and principal.can("customers.write")


def _page(request: Request, session: Session, principal: Principal, form: FormState | None = None,
          status_code: int = 200):
    language = request_language(request)
    imports, imports_next = paginate(session, repository.imports_query(principal), OrderImport.id,
                                     limit=PAGE_SIZE, cursor=None)
    orders, _ = paginate(session, repository.orders_query(principal), Order.id, limit=PAGE_SIZE, cursor=None)
    context: dict[str, Any] = {
        "form": form or FormState("import", {"platform": "taobao"}),
        "platforms": [(p, f"order.console.platform.{p}") for p in PLATFORM_CHOICES],
        "imports": [service.describe_import(row, language) for row in imports], "imports_next": imports_next,
        "orders": orders, "can_import": _can_import(principal),
    }
    return render(request, "order/index.html", context, status_code=status_code)


@router.get("/orders")
def orders_page(request: Request, session: DbSession, principal: Principal = console_page("orders")):
    return _page(request, session, principal)


@router.post("/orders/imports")
def upload(request: Request, session: DbSession, clock: AppClock,
           file: UploadFile | None = File(None), platform: str = Form(""), shop: str = Form(""),
           mapping: str = Form(""), principal: Principal = console_page("orders", "customers.write")):
    """The upload form: refused fields are shown next to the form; a stored file goes to its report."""
    language = request_language(request)
    form = FormState("import", {"platform": platform, "shop": shop.strip(), "mapping": mapping})
    try:
        parsed = json.loads(mapping) if mapping.strip() else None
    except ValueError:
        form.errors["mapping"] = InvalidInput("order.error.mapping_not_json", field="mapping").message(language)
        return _page(request, session, principal, form, 422)
    try:
        preset, checked = service.check_import_request(principal, platform, parsed)
        if file is None or not file.filename:
            raise InvalidInput("order.error.empty_file", field="file")
        if len(shop.strip()) > 64:
            raise InvalidInput("order.error.shop_too_long", field="shop")
        file.file.seek(0, 2)
        if file.file.tell() == 0:
            raise InvalidInput("order.error.empty_file", field="file")
        file.file.seek(0)
    except SiyuError as error:
        record(error, form, language)
        return _page(request, session, principal, form, error.status_code)
    stored = reading.store_upload(request.app.state.settings.var_dir, principal.corp_id, file.filename, file.file)
    try:
        created = service.create_import(session, principal, principal.corp_id, preset=preset, shop=shop.strip(),
                                        filename=file.filename, stored_path=stored, mapping=checked, clock=clock)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return RedirectResponse(f"/orders/imports/{created.id}", status_code=303)


def _import(session: Session, principal: Principal, import_id: int) -> OrderImport:
    found = repository.get_import(session, principal, import_id)
    if found is None:
        raise NotFound("order.error.import_not_found")
    return found


@router.get("/orders/imports/{import_id}")
def report_page(request: Request, import_id: int, session: DbSession,
                principal: Principal = console_page("orders")):
    report = service.describe_import(_import(session, principal, import_id), request_language(request))
    return render(request, "order/report.html", {"report": report})


@router.get("/orders/imports/{import_id}/progress")
def report_progress(request: Request, import_id: int, session: DbSession,
                    principal: Principal = console_page("orders")):
    """htmx: the report's body, polled while the import is queued or running."""
    report = service.describe_import(_import(session, principal, import_id), request_language(request))
    return render(request, "order/_report_body.html", {"report": report})


@router.get("/orders/imports/{import_id}/row")
def import_row(request: Request, import_id: int, session: DbSession,
               principal: Principal = console_page("orders")):
    """htmx: one row of the imports table, polled while that import is queued or running."""
    report = service.describe_import(_import(session, principal, import_id), request_language(request))
    return render(request, "order/_import_row.html", {"item": report})


@router.get("/orders/imports/{import_id}/rejects")
def rejects_download(import_id: int, session: DbSession, principal: Principal = console_page("orders")):
    path = service.rejects_file(_import(session, principal, import_id))
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"order-import-{import_id}-rejects.csv")
