"""The orders page in Debian's chromium: upload a GBK export, watch the report fill in by itself
(htmx polling) while a worker imports it, download the rejects. Screenshots go to
test-output/screenshots/."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from siyu.kit.jobs import Worker
from tests.factories import PASSWORD
from tests.order import files
from tests.order.test_validation import BAD_FILE

pytestmark = pytest.mark.browser


def test_an_import_is_followed_live_in_the_browser(page, seeded, database, clock, output_dir, tmp_path):
    import siyu.order.tasks  # noqa: F401 — registers order.import

    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = files.write(tmp_path / "ExportOrderList", "gbk", files.TAOBAO_HEADER, BAD_FILE)

    # given the admin on the orders page
    page.goto("/login")
    page.fill("input[name=username]", seeded[0].login("admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/orders")
    expect(page.locator("h1")).to_have_text("订单")

    # when they upload a Taobao export (GBK) with the taobao preset
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=platform]", "taobao")
    page.fill("input[name=shop]", "果园旗舰店")
    page.click("[data-action=upload]")

    # then the report page waits for the job ...
    expect(page).to_have_url(re.compile(r"/orders/imports/\d+$"))
    expect(page.locator("#report")).to_have_attribute("data-import-status", "queued")
    page.screenshot(path=str(folder / "order-import-queued.png"), full_page=True)

    # ... and fills in by itself once a worker has run it, without a reload
    stop = threading.Event()
    worker = Worker(database, clock=clock, lease_seconds=60, idle_seconds=0.1, stop=stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        expect(page.locator("#report")).to_have_attribute("data-import-status", "done", timeout=15_000)
    finally:
        stop.set()
        thread.join(timeout=10)
    expect(page.locator("[data-count=inserted]")).to_have_text("2")
    expect(page.locator("[data-count=rejected]")).to_have_text("6")
    expect(page.locator("[data-reject-row]")).to_have_count(6)
    page.screenshot(path=str(folder / "order-import-report.png"), full_page=True)

    # and the rejects download as a CSV
    with page.expect_download() as download:
        page.click("[data-action=download-rejects]")
    saved = tmp_path / "rejects.csv"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8-sig").splitlines()[0].endswith("行号/row,列/column,原因,reason")

    # and the imports list shows it done
    page.goto("/orders")
    expect(page.locator("[data-import]")).to_have_attribute("data-import-status", "done")
    page.screenshot(path=str(folder / "orders.png"), full_page=True)
