"""Console fixtures: clients logged in per role, a sales history for the charts, a dead job, and the
real app served by uvicorn on a loopback port for Playwright."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from siyu.kit.jobs import PermanentJobError, Worker, enqueue, job_handler
from siyu.models import Customer, Job, Order
from tests.factories import BrandFixture, login

FAILING_JOB = "console_test.always_fails"


@job_handler(FAILING_JOB, max_attempts=1)
def _always_fails(context, **_: object) -> None:
    raise PermanentJobError("supplier API refused the request: invalid coupon id")


@pytest.fixture
def seeded(clock, brand) -> tuple[BrandFixture, BrandFixture]:
    """Both corps of ``brand``, created while the test clock (2026-01-05 09:00 UTC) is in force."""
    return brand


@pytest.fixture
def console(app, seeded) -> Iterator[Callable[[str], TestClient]]:
    """``console("admin")``: a TestClient logged into corp alpha's console as that role."""
    clients: list[TestClient] = []

    def open_as(role: str) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        response = login(client, seeded[0], role)
        assert response.status_code == 303, response.text
        return client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no csrf-token meta"
    return match.group(1)


@pytest.fixture
def sales_history(database, seeded, clock) -> dict[str, int]:
    """Orders and new customers in the 18 months before the clock for corp alpha's first store:
    month ``k`` months ago gets ``k % 5 + 1`` orders of 100.00 and ``k % 3`` new customers.
    Returns the orders per ``YYYY-MM`` label (in Asia/Shanghai)."""
    from zoneinfo import ZoneInfo

    brand = seeded[0]
    zone = ZoneInfo("Asia/Shanghai")
    now = clock.now().astimezone(zone)
    per_month: dict[str, int] = {}
    with database.session() as session:
        for k in range(1, 18):
            index = now.year * 12 + now.month - 1 - k
            middle = datetime(index // 12, index % 12 + 1, 15, 12, tzinfo=zone).astimezone(UTC)
            per_month[middle.astimezone(zone).strftime("%Y-%m")] = k % 5 + 1
            for n in range(k % 5 + 1):
                session.add(Order(corp_id=brand.corp_id, platform="pos", shop="history", order_no=f"h{k}-{n}",
                                  store_id=brand.store_ids[0], staff_id=brand.staff_ids[0],
                                  amount=Decimal("100.00"), paid_at=middle + timedelta(hours=n)))
            for n in range(k % 3):
                session.add(Customer(corp_id=brand.corp_id, name=f"历史客户{k}-{n}",
                                     home_store_id=brand.store_ids[0],
                                     first_seen_at=middle))
    return per_month


@pytest.fixture
def dead_job(database, seeded, clock) -> int:
    """A job of corp alpha that failed for good through the real worker, with its error kept."""
    with database.session() as session:
        enqueue(session, FAILING_JOB, {"coupon_id": 7}, corp_id=seeded[0].corp_id, clock=clock)
    Worker(database, clock=clock, lease_seconds=60).run_once()
    with database.session() as session:
        job = session.query(Job).filter(Job.name == FAILING_JOB).one()
        assert job.status.value == "dead"
        return job.id


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server(app, seeded) -> Iterator[str]:
    """The real application served by uvicorn in a background thread on a free loopback port."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser build).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it is
    open, which would break later tests that call ``asyncio.run``; closing it per module ends it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser tab (own cookies) at a desktop size, with ``base_url`` set to the live app."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1440, "height": 900},
                                   locale="zh-CN")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def kpis(html: str) -> dict[str, str]:
    """The dashboard's figures by ``data-kpi`` name, as shown (``"¥531.00"``)."""
    return {name: value.strip() for name, value in
            re.findall(r'data-kpi="(\w+)">.*?class="kpi-value">([^<]*)', html, flags=re.S)}


def rows(html: str, attribute: str) -> list[str]:
    """Values of ``data-<attribute>`` on table rows, in page order (``rows(page, "staff")``)."""
    return re.findall(rf'<tr[^>]* data-{attribute}="([^"]+)"', html)


def field_error(html: str, field: str) -> str | None:
    """The error shown next to the form field ``form.name`` (``"staff.userid"``), if any."""
    match = re.search(rf'data-field="{re.escape(field)}">.*?</label>', html, flags=re.S)
    assert match, f"no field {field} on the page"
    error = re.search(r'class="field-error"[^>]*>([^<]*)<', match.group(0))
    return error.group(1) if error else None
