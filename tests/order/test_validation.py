"""Bad rows are reported row by row (row number, column, reason in zh-CN and en), written to the
rejects file with the file's own cells, and the good rows are imported all the same."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from siyu.order.validation import cell_text, parse_amount, parse_time
from tests.order import files
from tests.order.files import local

GOOD = files.TAOBAO_ROWS[0]


def _row(order_no: str, **changes) -> list:
    row = list(files.TAOBAO_ROWS[1])
    row[0] = order_no
    for header, value in changes.items():
        row[files.TAOBAO_HEADER.index(header)] = value
    return row


BAD_FILE = [
    GOOD,                                                          # row 2
    _row(""),                                                      # row 3: no order number
    _row("3125561234567890201", 买家实际支付金额="12,3.4x"),         # row 4
    _row("3125561234567890202", 订单付款时间="2025-13-45 10:00:00"),  # row 5
    _row("3125561234567890203", 买家实际支付金额="-5.00"),           # row 6
    _row("3125561234567890204", 订单状态="神秘状态"),                # row 7
    _row("3125561234567890205"),                                   # row 8: good
    _row("3125561234567890206", 订单状态="等待买家付款", 订单付款时间=""),  # row 9: not paid yet
]
EXPECTED_ZH = [
    (3, "订单编号", "order.reject.missing", "缺少必填值", ""),
    (4, "买家实际支付金额", "order.reject.amount_invalid", "金额无法识别", "12,3.4x"),
    (5, "订单付款时间", "order.reject.date_invalid", "日期时间无法识别", "2025-13-45 10:00:00"),
    (6, "买家实际支付金额", "order.reject.amount_negative", "金额不能为负数", "-5.00"),
    (7, "订单状态", "order.reject.status_unknown", "未知的订单状态", "神秘状态"),
    (9, "订单状态", "order.reject.unpaid", "订单尚未付款，不导入", "等待买家付款"),
]
EN = {
    "order.reject.missing": "required value is missing",
    "order.reject.amount_invalid": "not an amount",
    "order.reject.date_invalid": "not a date and time",
    "order.reject.amount_negative": "amount is negative",
    "order.reject.status_unknown": "unknown order status",
    "order.reject.unpaid": "order not paid yet: not imported",
}


@pytest.mark.parametrize("form", ["gbk", "xlsx"])
def test_bad_rows_are_reported_and_rejected_while_good_rows_are_imported(database, clock, brand, tmp_path,
                                                                          form):
    # given a Taobao export with two good rows and six bad ones
    corp = brand[0]
    path = files.write(tmp_path / "orders", form, files.TAOBAO_HEADER, BAD_FILE)

    # when it is imported
    report = files.run_file(database, clock, corp.corp_id, path, "taobao")

    # then the good orders are stored and nothing else
    assert (report.status, report.total_rows, report.inserted_rows, report.rejected_rows) == ("done", 8, 2, 6)
    assert [o.order_no for o in files.stored_orders(database, corp.corp_id)] == [
        "3125561234567890123", "3125561234567890205"]

    # and each problem names its row, its column and the reason, in zh-CN ...
    assert [(p.row, p.column, p.reason_key, p.reason, p.value) for p in report.rejects_sample] == EXPECTED_ZH
    # ... and in en
    english = files.report(database, report.id, "en")
    assert [(p.row, p.column, p.reason) for p in english.rejects_sample] == [
        (row, column, EN[key]) for row, column, key, _, _ in EXPECTED_ZH]

    # and the rejects file holds the rejected rows with their own cells and the reasons
    assert report.has_rejects is True
    with open(_rejects_path(database, report.id), encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0] == [*files.TAOBAO_HEADER, "行号/row", "列/column", "原因", "reason"]
    assert [record[-4:] for record in records[1:]] == [
        [str(row), column, zh, EN[key]] for row, column, key, zh, _ in EXPECTED_ZH]
    assert [record[0] for record in records[1:]] == ["", "3125561234567890201", "3125561234567890202",
                                                     "3125561234567890203", "3125561234567890204",
                                                     "3125561234567890206"]
    assert records[2][files.TAOBAO_HEADER.index("买家实际支付金额")] == "12,3.4x"


def _rejects_path(database, import_id):
    from siyu.models import OrderImport

    with database.session() as session:
        return session.get(OrderImport, import_id).rejects_path


def test_a_bad_line_rejects_every_line_of_its_order(database, clock, brand, tmp_path):
    # given a JD export whose two-line order has a bad quantity on its second line
    corp = brand[0]
    rows = [list(r) for r in files.JD_ROWS]
    rows[1][files.JD_HEADER.index("订购数量")] = "一箱"
    path = files.write(tmp_path / "jd", "bom", files.JD_HEADER, rows)

    # when it is imported
    report = files.run_file(database, clock, corp.corp_id, path, "jd")

    # then the whole order is out (an order is imported with all its lines or not at all), the
    # other order is in
    assert (report.inserted_rows, report.rejected_rows) == (1, 2)
    assert [(p.row, p.column, p.reason_key, p.value) for p in report.rejects_sample] == [
        (2, "订单号", "order.reject.other_line", "251900000001"),
        (3, "订购数量", "order.reject.quantity_invalid", "一箱"),
    ]
    assert [o.order_no for o in files.stored_orders(database, corp.corp_id)] == ["251900000002"]


def test_unknown_stores_and_staff_of_a_pos_file_are_rejected(database, clock, brand, tmp_path):
    corp = brand[0]
    rows = files.pos_rows("乙品牌门店1", "alpha-s9")  # corp beta's store; nobody called alpha-s9
    path = files.write(tmp_path / "pos", "bom", files.POS_HEADER, rows)

    report = files.run_file(database, clock, corp.corp_id, path, "pos")

    assert (report.inserted_rows, report.rejected_rows) == (0, 2)
    assert [(p.row, p.column, p.reason_key, p.value) for p in report.rejects_sample] == [
        (2, "store_code", "order.reject.unknown_store", "乙品牌门店1"),
        (2, "staff_userid", "order.reject.unknown_staff", "alpha-s9"),
        (3, "store_code", "order.reject.unknown_store", "乙品牌门店1"),
    ]
    assert files.stored_orders(database, corp.corp_id) == []


def test_a_refund_above_the_amount_is_rejected(database, clock, brand, tmp_path):
    corp = brand[0]
    path = files.write(tmp_path / "tb", "bom", files.TAOBAO_HEADER, [_row("3125561234567890300", 退款金额=99.0)])

    report = files.run_file(database, clock, corp.corp_id, path, "taobao")

    assert [(p.row, p.column, p.reason_key, p.value) for p in report.rejects_sample] == [
        (2, "退款金额", "order.reject.refund_exceeds_amount", "99.00 > 88.50")]


@pytest.mark.parametrize(("value", "expected"), [
    ("1234", Decimal("1234.00")), ("1,234.50", Decimal("1234.50")), ("¥88.5", Decimal("88.50")),
    ("12元", Decimal("12.00")), (59.9, Decimal("59.90")), (3, Decimal("3.00")), ("0.125", Decimal("0.13")),
    ("12,3.4x", "amount_invalid"), ("1,23", "amount_invalid"), ("", "missing"), ("-0.01", "amount_negative"),
    ("12345678901", "amount_too_large"), (float("nan"), "amount_invalid"),
])
def test_amounts(value, expected):
    assert parse_amount(value) == expected


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-11-11 00:01:02", datetime(2025, 11, 10, 16, 1, 2, tzinfo=UTC)),
    ("2025/11/11 8:05", datetime(2025, 11, 11, 0, 5, tzinfo=UTC)),
    ("2025年11月11日 08:00:00", datetime(2025, 11, 11, 0, 0, tzinfo=UTC)),
    ("2025-11-11", datetime(2025, 11, 10, 16, 0, tzinfo=UTC)),
    ("2025-11-11T10:00:00+00:00", datetime(2025, 11, 11, 10, 0, tzinfo=UTC)),
    (local("2025-11-11 08:00:00"), datetime(2025, 11, 11, 0, 0, tzinfo=UTC)),
    (date(2025, 11, 11), datetime(2025, 11, 10, 16, 0, tzinfo=UTC)),
    (45972.5, datetime(2025, 11, 11, 4, 0, tzinfo=UTC)),
    ("", None),
    ("2025-13-45 10:00:00", "date_invalid"), ("昨天下午", "date_invalid"), ("11/11/2025", "date_invalid"),
])
def test_times_are_read_in_the_corp_zone(value, expected):
    assert parse_time(value, SHANGHAI) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ('="3125561234567890123"', "3125561234567890123"), ("'13800138000", "13800138000"),
    (13800138000.0, "13800138000"), ("  tb_小明 ", "tb_小明"), (None, ""),
])
def test_cells_lose_the_wrappers_exports_put_around_numbers(value, expected):
    assert cell_text(value) == expected


def test_phones_are_normalised_and_junk_is_dropped(database, clock, brand, tmp_path):
    # given POS rows with phones written in every way a till or an export writes them
    corp = brand[0]
    phones = ["+86 132-0013-2000", "0086 13200132001", "8613200132002", "132 0013 2003", "00000000000",
              "132****2005", "unknown"]
    rows = [[f"P{n}", "甲品牌门店1", "", "", phone, 10.0, local("2025-12-20 10:00:00"), "", "", ""]
            for n, phone in enumerate(phones)]
    path = files.write(tmp_path / "pos", "bom", files.POS_HEADER, rows)

    # when they are imported
    files.run_file(database, clock, corp.corp_id, path, "pos")

    # then the orders carry the 11-digit number, or no phone at all
    assert [o.phone for o in files.stored_orders(database, corp.corp_id)] == [
        "13200132000", "13200132001", "13200132002", "13200132003", None, None, None]
