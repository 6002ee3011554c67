"""Paying through the emulated merchant API (a refusal is recorded on the ledger, never retried into a
double payment) and the reconciliation export (CSV and XLSX with the order each packet rewards)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from siyu.models import Customer, Identity, Order, RedPacket
from siyu.red_packet import service
from tests.acquisition.conftest import live, siyu_server, wecom_emulator_factory, process_secret_key  # noqa: F401


def _grant(live, amount: int, key: str, *, order: bool = False) -> int:
    with live.database.session() as session:
        customer = Customer(corp_id=live.corp_id, name="张三")
        session.add(customer)
        session.flush()
        session.add(Identity(corp_id=live.corp_id, customer_id=customer.id, kind="openid", value=f"oOpen{key}"))
        order_id = None
        if order:
            row = Order(corp_id=live.corp_id, customer_id=customer.id, platform="jd", order_no="JD778899",
                        amount=Decimal("99"), paid_at=live.clock.now())
            session.add(row)
            session.flush()
            order_id = row.id
        return service.grant(session, live.corp_id, customer_id=customer.id, amount=amount, reason_key=key,
                             order_id=order_id, clock=live.clock, campaign="双十一").id


def test_a_packet_the_merchant_cannot_pay_is_failed_and_paid_packets_are_not_paid_twice(live):
    # Given a merchant with 1.50 yuan left
    merchant = httpx.post(f"{live.emulator.url}/simulate/payment/merchants", json={"balance": 150}).json()
    assert live.api("PUT", "/red-packets/budget", json={"mch_id": merchant["mch_id"], "mch_key": merchant["key"]}
                    ).status_code == 200
    live.mch_id = merchant["mch_id"]
    paid, short = _grant(live, 100, "campaign:1"), _grant(live, 100, "campaign:2")
    # When the outbox delivers both
    live.drain()
    # Then the first is paid; the second is refused (NOTENOUGH) and recorded, with no retry
    with live.database.session() as session:
        rows = {p.id: (p.status, p.failure) for p in session.scalars(select(RedPacket))}
    assert rows == {paid: ("paid", None), short: ("failed", "NOTENOUGH")}
    assert [(p["total_amount"], p["status"]) for p in live.merchant()["packets"]] == [(100, "SENT")]
    assert live.merchant()["balance"] == 50
    assert live.drain() == 0


def test_the_ledger_exports_as_csv_and_xlsx(live):
    _grant(live, 188, "order_binding:1", order=True)
    live.drain()
    csv_response = live.api("GET", "/red-packets/export.csv")
    assert csv_response.status_code == 200
    assert csv_response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["编号", "创建时间", "商户单号", "金额（元）", "状态"]
    assert [(r[3], r[4], r[9], r[10], r[11]) for r in rows[1:]] == [("1.88", "paid", "jd:JD778899", "双十一",
                                                                      "order_binding:1")]
    xlsx = live.api("GET", "/red-packets/export.xlsx", params={"lang": "en"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "Red packets"
    assert values[0][:4] == ["ID", "Created", "Bill no.", "Amount (CNY)"]
    assert [(v[3], v[4], v[9]) for v in values[1:]] == [("1.88", "paid", "jd:JD778899")]
