"""The red-packet ledger for financial reconciliation: CSV (UTF-8 with BOM, so Excel opens it in
Chinese) and XLSX (openpyxl, write-only), one row per packet with the order or campaign it rewards."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.i18n import translate
from siyu.models.order import Order
from siyu.models.org import Staff
from siyu.models.red_packet import RedPacket
from siyu.red_packet.service import ledger_query

COLUMNS = ("id", "created_at", "bill_no", "amount_yuan", "status", "paid_at", "payment_ref", "customer_id",
           "staff", "order", "campaign", "reason_key", "failure")


def _rows(session: Session, corp_id: int, start: datetime | None, end: datetime | None) -> Iterable[list]:
    packets = list(session.scalars(ledger_query(corp_id, start=start, end=end).order_by(RedPacket.id)))
    staff = dict(session.execute(select(Staff.id, Staff.name).where(
        Staff.id.in_({p.staff_id for p in packets if p.staff_id}))).all())
    orders = {order_id: f"{platform}:{order_no}" for order_id, platform, order_no in session.execute(
        select(Order.id, Order.platform, Order.order_no)
        .where(Order.id.in_({p.order_id for p in packets if p.order_id})))}
    for packet in packets:
        yield [packet.id, packet.created_at.isoformat(), packet.bill_no, f"{packet.amount / 100:.2f}", packet.status,
               packet.paid_at.isoformat() if packet.paid_at else "", packet.payment_ref or "", packet.customer_id or "",
               staff.get(packet.staff_id, ""), orders.get(packet.order_id, ""), packet.campaign or "",
               packet.reason_key, packet.failure or ""]


def headers(language: str | None) -> list[str]:
    return [translate(f"red_packet.column.{column}", language) for column in COLUMNS]


def to_csv(session: Session, corp_id: int, *, language: str | None = None, start: datetime | None = None,
           end: datetime | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers(language))
    writer.writerows(_rows(session, corp_id, start, end))
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(session: Session, corp_id: int, *, language: str | None = None, start: datetime | None = None,
            end: datetime | None = None) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(translate("red_packet.export.sheet", language))
    sheet.append(headers(language))
    for row in _rows(session, corp_id, start, end):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

