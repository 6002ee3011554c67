"""A moment created in Debian's chromium, sent to the WeCom emulator by the worker, published and
synced; screenshots of the list and the detail go to test-output/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.broadcast.conftest import drain, wired, worker  # noqa: F401
from tests.console.conftest import chromium, live_server, page, seeded  # noqa: F401
from tests.console.test_console_browser import _log_in, screenshots  # noqa: F401
from tests.integrations.wecom.conftest import wecom_emulator, wecom_emulator_factory  # noqa: F401
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401
from tests.moment.test_moments import vip  # noqa: F401

pytestmark = pytest.mark.browser


def test_operator_creates_a_moment_and_follows_its_touches(page, seeded, wired, worker, clock, vip, screenshots):
    tag_id, tagged = vip
    page.goto("/login")
    _log_in(page, seeded[0].login("hq_operator"))
    page.goto("/moments/new")
    page.fill("textarea[name=text]", "新品上架：阳光玫瑰，到店试吃")
    page.select_option("select[name=staff_ids]", [str(s) for s in wired.brand.staff_ids[:2]])
    page.select_option("select[name=tag_ids]", [str(tag_id)])
    page.click("[data-action=create-moment]")
    expect(page.locator("[data-status=creating]")).to_be_visible()
    drain(worker, clock)
    moment = next(iter(wired.wecom_corp.moments.values()))
    simulator, corp_id = wired.emulator.simulator, wired.emulator.corp_id
    simulator.staff_publish_moment(corp_id, moment.moment_id, wired.userid[wired.brand.staff_ids[0]])
    simulator.customer_comment_moment(corp_id, moment.moment_id, wired.userid[wired.brand.staff_ids[0]],
                                      wired.external[tagged[0]], like=True)
    page.reload()
    page.click("[data-action=sync]")
    expect(page.locator("[data-notice=syncing]")).to_be_visible()
    drain(worker, clock)
    page.reload()
    expect(page.locator("[data-kpi=visible] .kpi-value")).to_have_text("1")
    expect(page.locator("tr[data-touch]")).to_have_count(1)
    screenshots(page, "moment-detail")
    page.goto("/moments")
    screenshots(page, "moment-list")
    page.click(".topbar [data-language=en]")
    page.goto(f"/moments/{page.locator('tr[data-moment]').first.get_attribute('data-moment')}")
    expect(page.locator("[data-kpi=likes] .kpi-label")).to_have_text("Likes")
    screenshots(page, "moment-detail-en")
