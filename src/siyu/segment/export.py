"""Export a segment's current members as CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.i18n import translate
from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer
from siyu.models.segment import Segment, SegmentMembership

BATCH = 2000
COLUMNS = ("customer_id", "name", "city", "entered_at")


def member_rows(session: Session, principal: Principal, segment: Segment):
    """(customer id, name, city, entered at) of the members the principal may see, by customer id."""
    statement = (scoped(select(Customer.id, Customer.name, Customer.city, SegmentMembership.entered_at),
                        Customer, principal)
                 .join(SegmentMembership, SegmentMembership.customer_id == Customer.id)
                 .where(SegmentMembership.segment_id == segment.id, SegmentMembership.exited_at.is_(None),
                        Customer.merged_into_id.is_(None))
                 .order_by(Customer.id))
    yield from session.execute(statement.execution_options(yield_per=BATCH))


def _headers(language: str) -> list[str]:
    return [translate(f"segment.export.{column}", language) for column in COLUMNS]


def csv_bytes(session: Session, principal: Principal, segment: Segment, language: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_headers(language))
    for customer_id, name, city, entered in member_rows(session, principal, segment):
        writer.writerow([customer_id, name or "", city or "", entered.isoformat() if entered else ""])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(session: Session, principal: Principal, segment: Segment, language: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="members")
    sheet.append(_headers(language))
    for customer_id, name, city, entered in member_rows(session, principal, segment):
        sheet.append([customer_id, name or "", city or "",
                      entered.replace(tzinfo=None).isoformat(sep=" ") if entered else ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(session: Session, principal: Principal, segment: Segment, kind: str,
                    language: str) -> StreamingResponse:
    if kind == "xlsx":
        content, media = xlsx_bytes(session, principal, segment, language), \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content, media = csv_bytes(session, principal, segment, language), "text/csv; charset=utf-8"
    filename = quote(f"{segment.name}.{kind}")
    return StreamingResponse(iter([content]), media_type=media,
                             headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})
