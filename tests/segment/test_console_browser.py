"""The segment builder in Debian's chromium: build a segment condition by condition while the live
count follows, save it, read its trend and ask why a customer is not in it. Screenshots go to
test-output/screenshots/segment-*.png for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console.conftest import chromium, live_server, page, seeded  # noqa: F401  (fixtures)
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def shoot(output_dir):
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return lambda tab, name: tab.screenshot(path=str(folder / f"segment-{name}.png"), full_page=True)


def test_build_save_and_explain_a_segment(page, population, shoot):  # noqa: F811
    # given the admin logged in, on the segments page
    page.goto("/login")
    page.fill("input[name=username]", population.brand.login("admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/segments")
    expect(page.locator("[data-preset='rfm.important_value']")).to_have_text("重要价值客户")
    shoot(page, "list")

    # when a new segment starts: total spend ≥ 500 → c0 only
    page.click("[data-action=new]")
    expect(page.locator("[data-live-count]")).to_have_text("1")

    # and the first condition becomes "tag T1" (c0, c2), then "city 上海" is added (still c0, c2)
    page.select_option("select[name='r-0.type']", "tag")
    expect(page.locator("select[name='r-0.tags']")).to_be_visible()
    page.select_option("select[name='r-0.tags']", str(population.tags["T1"]))
    expect(page.locator("[data-live-count]")).to_have_text("2")
    page.select_option("select[data-role=add][data-group=r]", "add:r:city")
    page.fill("input[name='r-1.in']", "上海")
    page.locator("input[name='r-1.in']").dispatch_event("change")
    expect(page.locator("[data-count='r-1'] strong")).to_have_text("2")
    # and a NOT group "any of: RFM 重要价值客户" narrows it to c2
    page.select_option("select[data-role=add][data-group=r]", "add:r:any")
    page.select_option("select[name='r-2-0.type']", "rfm")
    page.check("input[name='r-2.not']")
    expect(page.locator("[data-live-count]")).to_have_text("1")
    expect(page.locator("[data-sample] li")).to_have_count(1)
    shoot(page, "builder")

    # and it is saved
    page.fill("input[name=name]", "上海 T1 非重要价值")
    page.click("[data-action=save]")

    # then its page shows one member, draws the trend, and explains why c1 is not in it
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    expect(page.locator("[data-table=members] tr[data-customer]")).to_have_count(1)
    expect(page.locator("#chart-trend")).to_have_attribute("data-rendered", "true")
    page.fill("input[name=customer]", str(population.ids["c1"]))
    page.click("[data-action=why]")
    expect(page.locator("[data-member=no]")).to_be_visible()
    expect(page.locator("#why .why-no").first).to_be_visible()
    shoot(page, "detail")

    # and in English the same page speaks English
    page.click("text=English")
    expect(page.locator("#chart-trend")).to_have_attribute("data-rendered", "true")
    expect(page.get_by_role("heading", name="Members over time")).to_be_visible()
    shoot(page, "detail-en")
