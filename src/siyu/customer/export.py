"""Export of the filtered customer list as CSV or XLSX, streamed.

The list is walked newest first in chunks of ``CHUNK`` customers, each read in a short transaction
of its own, so neither the rows nor a transaction span the whole export: the full demo list (20 k)
or a bench-scale one (1 M) holds one chunk in memory at a time. CSV bytes leave as each chunk is
written (the browser's download shows them arriving); XLSX rows go through openpyxl's write-only
workbook into a temporary file, which is then streamed and removed. Chosen over a background job:
an export is read-only, the worker queue stays free for work that must survive a crash, and the
operator gets the file in one step; the console shows how many customers the export will hold
before it starts.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.customer import listing_repository as repository
from siyu.customer.listing import CustomerFilter, count_capped_for, day_bounds
from siyu.kit.errors import InvalidInput
from siyu.kit.i18n import translate
from siyu.kit.tenancy import Principal

CHUNK = 2000
FORMATS = ("csv", "xlsx")
#: an XLSX sheet holds 1,048,576 rows, one of them the header
XLSX_MAX_ROWS = 1_048_575
COLUMNS = ("id", "name", "phone", "gender", "city", "home_store", "lifecycle_stage", "rfm_class",
           "order_count", "total_spend", "last_order_at", "created_at", "tags")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

SessionScope = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class ExportPlan:
    """What will be exported: checked before the first byte is sent, so a refusal is a clear error
    and not a broken download."""

    format: str
    wanted: CustomerFilter
    total: int


def plan(session: Session, principal: Principal, wanted: CustomerFilter, zone: ZoneInfo,
         export_format: str) -> ExportPlan:
    """Check the request; ``InvalidInput`` naming the field when it cannot be exported."""
    if export_format not in FORMATS:
        raise InvalidInput("customer.error.choice", field="format", choices=", ".join(FORMATS))
    total, capped = count_capped_for(session, principal, wanted, zone, XLSX_MAX_ROWS)
    if export_format == "xlsx" and capped:
        raise InvalidInput("customer.error.xlsx_too_many", field="format", limit=f"{XLSX_MAX_ROWS:,}")
    return ExportPlan(export_format, wanted, total)


def filename(export_format: str, stamp: str) -> str:
    return f"customers-{stamp}.{export_format}"


def _rows(sessions: SessionScope, principal: Principal, wanted: CustomerFilter, zone: ZoneInfo,
          language: str) -> Iterator[list[object]]:
    """The export's rows, chunk by chunk, each chunk in its own transaction."""
    before: int | None = None
    while True:
        with sessions() as session:
            statement, _ = repository.filtered_customers(session, principal, wanted, day_bounds(wanted, zone))
            rows = repository.rows_after(session, principal, statement, before, CHUNK)
        if not rows:
            return
        for row in rows:
            yield _cells(row, zone, language)
        before = rows[-1].id
        if len(rows) < CHUNK:
            return


#: a cell starting with one of these is a formula to Excel and openpyxl ("=HYPERLINK(…)" as a WeCom
#: nickname): such text is exported with a leading apostrophe, which shows it as the text it is
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str | None) -> str:
    """A text cell that no spreadsheet will run as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _cells(row: repository.ListRow, zone: ZoneInfo, language: str) -> list[object]:
    def when(value):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    return [
        row.id, as_text(row.name), as_text(row.phone), as_text(row.gender), as_text(row.city),
        as_text(row.home_store),
        translate(f"trait.lifecycle_stage.{row.lifecycle_stage}", language) if row.lifecycle_stage else "",
        translate(f"trait.rfm_class.{row.rfm_class}", language) if row.rfm_class else "",
        row.order_count, Decimal(row.total_spend), when(row.last_order_at), when(row.created_at),
        as_text(("、" if language == "zh-CN" else ", ").join(row.tags)),
    ]


def header(language: str) -> list[str]:
    return [translate(f"customer.export.column.{name}", language) for name in COLUMNS]


def csv_stream(sessions: SessionScope, principal: Principal, export: ExportPlan, zone: ZoneInfo,
               language: str) -> Iterator[bytes]:
    """CSV in UTF-8 with a byte-order mark (Excel opens it with the Chinese intact), one write per
    chunk of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(language))
    yield codecs.BOM_UTF8 + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for count, cells in enumerate(_rows(sessions, principal, export.wanted, zone, language), start=1):
        writer.writerow(cells)
        if count % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def xlsx_stream(sessions: SessionScope, principal: Principal, export: ExportPlan, zone: ZoneInfo,
                language: str) -> Iterator[bytes]:
    """XLSX through openpyxl's write-only workbook (rows go to a temporary file as they come), then
    the finished file in 64 KB pieces; the file is removed when the stream ends or is abandoned."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(translate("customer.export.sheet", language))
    sheet.freeze_panes = "B2"
    sheet.append(header(language))
    money_format = "#,##0.00"
    for cells in _rows(sessions, principal, export.wanted, zone, language):
        spend = WriteOnlyCell(sheet, value=cells[9])
        spend.number_format = money_format
        cells[9] = spend
        sheet.append(cells)
    handle, path = tempfile.mkstemp(prefix="siyu-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
        with open(path, "rb") as file:
            while piece := file.read(65536):
                yield piece
    finally:
        os.unlink(path)
