"""The orders page of the console: the upload form, the imports list, the report with its rejects
and the download; the latest orders in the viewer's scope."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from siyu.kit.jobs import Worker
from siyu.models import Job, OrderImport
from tests.console.conftest import csrf_of, field_error, rows
from tests.order import files
from tests.order.test_validation import BAD_FILE


def _run_jobs(database, clock) -> None:
    import siyu.order.tasks  # noqa: F401 — registers order.import

    Worker(database, clock=clock, lease_seconds=60).run_once()


def _upload(admin, content: bytes, **fields):
    page = admin.get("/orders").text
    data = {"csrf_token": csrf_of(page), "platform": "taobao", "shop": "", "mapping": ""} | fields
    return admin.post("/orders/imports", data=data, files={"file": ("ExportOrderList.csv", content, "text/csv")},
                      follow_redirects=False)


def test_an_operator_uploads_a_file_and_follows_its_import_to_the_report(console, database, clock, brand,
                                                                         tmp_path):
    # given the admin on the orders page
    admin = console("admin")
    page = admin.get("/orders")
    assert page.status_code == 200
    assert 'data-form="import"' in page.text and 'data-area="orders"' in page.text
    assert "导入订单文件" in page.text

    # when they upload a Taobao export with bad rows
    content = files.write(tmp_path / "tb", "gbk", files.TAOBAO_HEADER, BAD_FILE).read_bytes()
    response = _upload(admin, content, shop="果园旗舰店")

    # then they land on the import's report, which polls while the import is queued
    assert response.status_code == 303
    target = response.headers["location"]
    import_id = int(target.rsplit("/", 1)[1])
    report = admin.get(target).text
    assert 'data-import-status="queued"' in report
    assert f'hx-get="/orders/imports/{import_id}/progress" hx-trigger="every 2s"' in report
    listing = admin.get("/orders").text
    assert rows(listing, "import") == [str(import_id)]
    assert f'hx-get="/orders/imports/{import_id}/row"' in listing

    # and once the job ran, the polled body shows the counts and the rejected rows, and stops polling
    _run_jobs(database, clock)
    body = admin.get(f"/orders/imports/{import_id}/progress").text
    assert 'data-import-status="done"' in body and "hx-trigger" not in body
    counts = dict(re.findall(r'data-count="(\w+)">([^<]+)<', body))
    assert counts == {"total": "8", "inserted": "2", "updated": "0", "unchanged": "0", "rejected": "6"}
    assert rows(body, "reject-row") == ["3", "4", "5", "6", "7", "9"]
    assert "金额无法识别" in body and "12,3.4x" in body
    assert f'href="/orders/imports/{import_id}/rejects"' in body
    row = admin.get(f"/orders/imports/{import_id}/row").text
    assert 'data-import-status="done"' in row and "hx-trigger" not in row

    # and the rejects download
    download = admin.get(f"/orders/imports/{import_id}/rejects")
    assert download.status_code == 200
    assert download.content.decode("utf-8-sig").splitlines()[0].endswith("行号/row,列/column,原因,reason")

    # and the new orders are on the orders page
    assert rows(admin.get("/orders").text, "order")[:2] == ["3125561234567890205", "3125561234567890123"]


def test_a_refused_upload_shows_why_next_to_the_field_and_creates_nothing(console, database, settings, tmp_path):
    admin = console("admin")
    content = files.write(tmp_path / "tb", "gbk", files.TAOBAO_HEADER, BAD_FILE).read_bytes()

    not_json = _upload(admin, content, mapping="{买家: 1")
    unknown = _upload(admin, content, mapping='{"colour": "颜色"}')
    empty = _upload(admin, b"")

    assert not_json.status_code == 422
    assert field_error(not_json.text, "import.mapping").startswith("列映射须是 JSON 对象")
    assert field_error(unknown.text, "import.mapping").startswith("列映射中的目标字段 colour 不存在")
    assert field_error(empty.text, "import.file") == "请选择一个非空的 CSV 或 XLSX 文件（字段 file）"
    assert '{"colour": "颜色"}' not in not_json.text and "{买家: 1" in not_json.text
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderImport)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert not (settings.var_dir / "imports").exists() or not any((settings.var_dir / "imports").rglob("*.*"))


def test_staff_see_their_orders_but_cannot_import(console, brand, tmp_path):
    alpha = brand[0]
    staff = console("staff")

    page = staff.get("/orders").text
    refused = staff.post("/orders/imports", data={"csrf_token": csrf_of(page), "platform": "taobao"},
                         files={"file": ("o.csv", b"x", "text/csv")})

    assert 'data-form="import"' not in page and 'data-table="imports"' not in page
    assert sorted(rows(page, "order")) == sorted(f"alpha-{customer}" for customer in alpha.served[alpha.staff_ids[2]])
    assert refused.status_code == 403


def test_the_orders_page_speaks_english(console, database, clock, tmp_path):
    admin = console("admin")
    content = files.write(tmp_path / "tb", "gbk", files.TAOBAO_HEADER, BAD_FILE).read_bytes()
    import_id = int(_upload(admin, content).headers["location"].rsplit("/", 1)[1])
    _run_jobs(database, clock)

    admin.get("/lang/en", follow_redirects=False)
    page = admin.get("/orders").text
    report = admin.get(f"/orders/imports/{import_id}").text

    assert "<h1>Orders</h1>" in page and "Import an order file" in page
    assert f"<h1>Order import #{import_id}</h1>" in report
    assert "not an amount" in report and "Download rejected rows (CSV)" in report
