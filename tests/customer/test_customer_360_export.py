"""Export of the filtered list: CSV and XLSX parsed back cell by cell, chunked walks without gaps or
repeats, refusals before the first byte, and the data scope (a store manager or staff user cannot
export anyone else's customers)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from siyu.customer import export
from tests.auth.bearer import bearer
from tests.customer.customer_360_people import seed_people
from tests.factories import login

API = "/api/v1/customers/export"
HEADER_ZH = ["客户ID", "姓名", "手机号", "性别", "城市", "所属门店", "生命周期", "RFM 分层", "订单数", "累计消费",
             "最近下单", "建档时间", "标签"]


@pytest.fixture
def people(database, brand):
    return seed_people(database, brand)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response) -> list[list[object]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == export.MEDIA_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_csv_export_holds_the_filtered_customers_with_their_columns(client, database, people):
    c = people.c
    headers = bearer(database, people.corp.users["admin"])

    response = client.get(API, params={"format": "csv", "tag_id": people.tag_id}, headers=headers)
    table = _csv(response)

    assert response.headers["x-export-rows"] == "3"
    assert 'filename="customers-' in response.headers["content-disposition"]
    assert table[0] == HEADER_ZH
    assert [row[0] for row in table[1:]] == [str(c[7]), str(c[4]), str(c[0])]
    assert table[3] == [str(c[0]), "alpha客户alpha-s1-0", "13900010000", "", "", "甲品牌门店1", "活跃客户",
                        "重要价值客户", "3", "300.00", "2026-01-01 12:00", "2026-01-01 12:00", "烘焙"]
    assert table[1][1:3] == [f"alpha散客{people.corp.store_ids[1]}", ""]


def test_xlsx_export_holds_the_same_rows_as_numbers_where_they_are_numbers(client, database, people):
    c = people.c
    headers = bearer(database, people.corp.users["admin"])

    table = _xlsx(client.get(API, params={"format": "xlsx", "lifecycle_stage": "active"}, headers=headers))

    assert table[0] == HEADER_ZH
    assert [row[0] for row in table[1:]] == [c[4], c[0]]
    assert table[2][:3] == [c[0], "alpha客户alpha-s1-0", "13900010000"]
    assert table[2][8:10] == [3, 300]
    assert table[1][6:10] == ["活跃客户", "一般价值客户", 2, 88.5]


def test_english_export_has_english_headers_and_labels(client, database, people):
    headers = {**bearer(database, people.corp.users["admin"]), "Accept-Language": "en"}
    table = _csv(client.get(API, params={"rfm_class": "important_value"}, headers=headers))
    assert table[0][:3] == ["Customer ID", "Name", "Phone"]
    assert table[1][6:8] == ["Active", "Important value"]


def test_a_long_export_is_walked_in_chunks_without_gaps_or_repeats(client, database, people, monkeypatch):
    # given chunks of 3 customers (8 customers: three chunks, the last one short)
    monkeypatch.setattr(export, "CHUNK", 3)
    headers = bearer(database, people.corp.users["admin"])

    csv_ids = [int(row[0]) for row in _csv(client.get(API, headers=headers))[1:]]
    xlsx_ids = [row[0] for row in _xlsx(client.get(API, params={"format": "xlsx"}, headers=headers))[1:]]

    assert csv_ids == sorted(people.c, reverse=True)
    assert xlsx_ids == csv_ids


def test_a_store_manager_exports_only_their_stores_customers(client, database, people):
    c = people.c
    headers = bearer(database, people.corp.users["store_manager"])

    theirs = _csv(client.get(API, headers=headers))
    towards_store_2 = _csv(client.get(API, params={"store_id": people.corp.store_ids[1]}, headers=headers))
    towards_s3 = _xlsx(client.get(API, params={"format": "xlsx", "staff_id": people.corp.staff_ids[2]},
                                  headers=headers))

    assert {int(row[0]) for row in theirs[1:]} == {c[0], c[1], c[2], c[3], c[6]}
    assert towards_store_2 == [HEADER_ZH]
    assert towards_s3 == [HEADER_ZH]


def test_a_staff_user_exports_only_their_own_customers(client, database, people):
    c = people.c
    headers = bearer(database, people.corp.users["staff"])

    mine = _csv(client.get(API, headers=headers))
    others = _csv(client.get(API, params={"q": "alpha客户alpha-s1", "match": "prefix"}, headers=headers))

    assert [int(row[0]) for row in mine[1:]] == [c[5], c[4]]
    assert others == [HEADER_ZH]


def test_refusals_come_before_the_download_and_name_the_field(client, database, people, monkeypatch):
    headers = bearer(database, people.corp.users["admin"])
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 5)

    too_many = client.get(API, params={"format": "xlsx"}, headers=headers)
    bad_format = client.get(API, params={"format": "pdf"}, headers=headers)
    bad_filter = client.get(API, params={"min_orders": 3, "max_orders": 1}, headers=headers)
    small_enough = client.get(API, params={"format": "xlsx", "store_id": people.corp.store_ids[1]}, headers=headers)

    assert (too_many.status_code, too_many.json()["error"]["field"]) == (422, "format")
    assert "XLSX" in too_many.json()["error"]["message"]
    assert (bad_format.status_code, bad_format.json()["error"]["field"]) == (422, "format")
    assert (bad_filter.status_code, bad_filter.json()["error"]["field"]) == (422, "max_orders")
    assert len(_xlsx(small_enough)) == 4


def test_console_export_link_downloads_the_filtered_list(app, database, people):
    c = people.c
    with TestClient(app) as console:
        assert login(console, people.corp, "admin").status_code == 303
        page = console.get("/customers", params={"has_phone": "no"})
        link = "/customers/export?has_phone=no&format=xlsx"
        assert f'href="{link}"' in page.text.replace("&amp;", "&")
        table = _xlsx(console.get(link))
    assert [row[0] for row in table[1:]] == [c[7], c[6]]


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(client, database, people):
    # given a customer whose WeCom nickname is a formula
    from siyu.models import Customer

    with database.session() as session:
        session.get(Customer, people.c[6]).name = '=HYPERLINK("http://evil.example","点我")'
    headers = bearer(database, people.corp.users["admin"])

    csv_row = _csv(client.get(API, params={"has_phone": "false"}, headers=headers))[2]
    xlsx_row = _xlsx(client.get(API, params={"has_phone": "false", "format": "xlsx"}, headers=headers))[2]

    assert csv_row[1] == '\'=HYPERLINK("http://evil.example","点我")'
    assert xlsx_row[1] == '\'=HYPERLINK("http://evil.example","点我")'
