"""POST /api/v1/order-imports: an upload becomes an import and a job; the job's report and rejects
are read back through the API; another corp's import is invisible; refused uploads leave nothing."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from siyu.kit.jobs import Worker
from siyu.models import Job, OrderImport
from tests.auth.bearer import bearer
from tests.order import files
from tests.order.test_validation import BAD_FILE

API = "/api/v1/order-imports"


@pytest.fixture
def taobao_csv(tmp_path) -> bytes:
    return files.write(tmp_path / "ExportOrderList", "gbk", files.TAOBAO_HEADER, BAD_FILE).read_bytes()


def _run_jobs(database, clock) -> None:
    import siyu.order.tasks  # noqa: F401 — registers order.import

    Worker(database, clock=clock, lease_seconds=60).run_once()


def _uploads(settings) -> list[str]:
    folder = settings.var_dir / "imports"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_an_upload_is_imported_by_its_job_and_reported(client, database, clock, settings, brand, taobao_csv):
    # given corp alpha's HQ operator and a Taobao export with bad rows
    alpha = brand[0]
    headers = bearer(database, alpha.users["hq_operator"])

    # when they upload it
    created = client.post(API, headers=headers, data={"platform": "taobao", "shop": "果园旗舰店"},
                          files={"file": ("ExportOrderList.csv", taobao_csv, "text/csv")})

    # then an import is queued with its job, the file kept under var/imports/<corp>/
    assert created.status_code == 202, created.text
    queued = created.json()
    assert (queued["status"], queued["filename"], queued["total_rows"], queued["shop"]) == (
        "queued", "ExportOrderList.csv", 0, "果园旗舰店")
    with database.session() as session:
        job = session.scalars(select(Job)).one()
        assert (job.name, job.args, job.corp_id) == ("order.import", {"import_id": queued["id"]}, alpha.corp_id)
        stored = session.get(OrderImport, queued["id"]).stored_path
    assert stored.startswith(str((settings.var_dir / "imports" / str(alpha.corp_id)).resolve()))

    # and when the worker runs the job, the report says what happened, in the reader's language
    _run_jobs(database, clock)
    report = client.get(f"{API}/{queued['id']}", headers=headers | {"Accept-Language": "en"}).json()
    assert (report["status"], report["total_rows"], report["inserted_rows"], report["rejected_rows"],
            report["has_rejects"]) == ("done", 8, 2, 6, True)
    assert report["rejects_sample"][1] == {"row": 4, "column": "买家实际支付金额", "reason_key": "order.reject.amount_invalid",
                                           "reason": "not an amount", "value": "12,3.4x"}

    # and the rejects come back as CSV with the reasons
    rejects = client.get(f"{API}/{queued['id']}/rejects", headers=headers)
    assert rejects.status_code == 200
    assert rejects.headers["content-type"] == "text/csv; charset=utf-8"
    records = list(csv.reader(io.StringIO(rejects.content.decode("utf-8-sig"))))
    assert [record[-4] for record in records[1:]] == ["3", "4", "5", "6", "7", "9"]
    listed = client.get(API, headers=headers).json()
    assert [item["id"] for item in listed["items"]] == [queued["id"]]


def test_another_corps_import_is_invisible(client, database, clock, brand, taobao_csv):
    # given an import of corp alpha, run to its end
    alpha, beta = brand
    created = client.post(API, headers=bearer(database, alpha.users["admin"]), data={"platform": "taobao"},
                          files={"file": ("orders.csv", taobao_csv, "text/csv")}).json()
    _run_jobs(database, clock)

    # when corp beta's admin looks for it
    headers = bearer(database, beta.users["admin"])
    one = client.get(f"{API}/{created['id']}", headers=headers)
    rejects = client.get(f"{API}/{created['id']}/rejects", headers=headers)
    listed = client.get(API, headers=headers)

    # then it does not exist for them
    assert (one.status_code, one.json()["error"]["code"]) == (404, "not_found")
    assert (rejects.status_code, rejects.json()["error"]["code"]) == (404, "not_found")
    assert listed.json() == {"items": [], "next_cursor": None}


def test_store_managers_see_no_imports(client, database, clock, brand, taobao_csv):
    alpha = brand[0]
    created = client.post(API, headers=bearer(database, alpha.users["admin"]), data={"platform": "taobao"},
                          files={"file": ("orders.csv", taobao_csv, "text/csv")}).json()

    headers = bearer(database, alpha.users["store_manager"])

    assert client.get(f"{API}/{created['id']}", headers=headers).status_code == 404
    assert client.get(API, headers=headers).json()["items"] == []


@pytest.mark.parametrize(("role", "data", "upload", "status", "field"), [
    ("store_manager", {"platform": "taobao"}, ("o.csv", b"x"), 403, None),
    ("staff", {"platform": "taobao"}, ("o.csv", b"x"), 403, None),
    ("admin", {"platform": "pinduoduo"}, ("o.csv", b"x"), 422, "platform"),
    ("admin", {}, ("o.csv", b"x"), 422, "platform"),
    ("admin", {"platform": "taobao", "mapping": "{not json"}, ("o.csv", b"x"), 422, "mapping"),
    ("admin", {"platform": "taobao", "mapping": '{"colour": "颜色"}'}, ("o.csv", b"x"), 422, "mapping"),
    ("admin", {"platform": "taobao", "mapping": '["订单编号"]'}, ("o.csv", b"x"), 422, "mapping"),
    ("admin", {"platform": "taobao"}, ("o.csv", b""), 422, "file"),
    ("admin", {"platform": "taobao"}, None, 422, "file"),
    ("admin", {"platform": "taobao", "shop": "店" * 65}, ("o.csv", b"x"), 422, "shop"),
])
def test_a_refused_upload_leaves_nothing(client, database, settings, brand, role, data, upload, status, field):
    alpha = brand[0]

    response = client.post(API, headers=bearer(database, alpha.users[role]), data=data,
                           files={"file": upload} if upload else None)

    assert response.status_code == status, response.text
    assert response.json()["error"].get("field") == field
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderImport)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert _uploads(settings) == []


def test_a_mapping_travels_with_the_upload(client, database, clock, brand, tmp_path):
    alpha = brand[0]
    header = ["客户昵称" if h == "买家" else h for h in files.YOUZAN_HEADER]
    content = files.write(tmp_path / "youzan", "xlsx", header, files.YOUZAN_ROWS).read_bytes()
    headers = bearer(database, alpha.users["admin"])

    created = client.post(API, headers=headers, data={"platform": "youzan", "mapping": '{"buyer": "客户昵称"}'},
                          files={"file": ("youzan.xlsx", content)}).json()
    _run_jobs(database, clock)

    report = client.get(f"{API}/{created['id']}", headers=headers).json()
    assert (report["status"], report["mapping"], report["inserted_rows"]) == ("done", {"buyer": "客户昵称"}, 2)
    assert [o.buyer_value for o in files.stored_orders(database, alpha.corp_id)] == ["有赞会员阿花", "橙子控"]
    no_rejects = client.get(f"{API}/{created['id']}/rejects", headers=headers)
    assert (no_rejects.status_code, report["has_rejects"]) == (404, False)
