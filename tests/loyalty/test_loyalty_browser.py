"""The loyalty and staff task pages in Debian's chromium: the charts draw, a coupon is issued from a
member's page, a task is completed from the list. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _login(page, corp, role: str = "admin") -> None:
    page.goto("/login")
    page.fill("input[name=username]", corp.login(role))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_loyalty_and_staff_tasks_in_the_browser(page, programme, output_dir):
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    _login(page, programme)

    # the overview: levels with their chart, templates with counts, members
    page.goto("/loyalty")
    expect(page.locator("h1")).to_have_text("优惠券/红包/会员")
    expect(page.locator("#chart-levels")).to_have_attribute("data-rendered", "true")
    expect(page.locator("[data-template]")).to_have_count(2)
    page.screenshot(path=str(folder / "loyalty.png"), full_page=True)

    # a member's page: issue the birthday coupon, and it is listed
    page.click(f"[data-member=M{programme.customer_ids[0]}] a")
    expect(page.locator("[data-table=ledger] [data-entry]")).to_have_count(2)
    page.select_option("select[name=template_id]", label="生日八五折")
    page.click("[data-form=coupon] button[type=submit]")
    expect(page.locator("[data-notice=coupon]")).to_be_visible()
    expect(page.locator("[data-table=coupons] [data-coupon]")).to_have_count(2)
    page.screenshot(path=str(folder / "loyalty-member.png"), full_page=True)

    # the staff tasks: the chart draws; completing a task takes it off the open list
    page.goto("/staff-tasks")
    expect(page.locator("#chart-completion")).to_have_attribute("data-rendered", "true")
    expect(page.locator("[data-task]")).to_have_count(2)
    page.locator("[data-form=complete] button").first.click()
    expect(page.locator("[data-notice=done]")).to_be_visible()
    expect(page.locator("[data-task]")).to_have_count(1)
    page.screenshot(path=str(folder / "staff-tasks.png"), full_page=True)

    # and in English
    page.goto("/lang/en?next=/staff-tasks")
    expect(page.locator("h1")).to_have_text("Staff tasks")
    page.goto("/staff-tasks?status=all")
    expect(page.locator("#chart-completion")).to_have_attribute("data-rendered", "true")
    page.screenshot(path=str(folder / "staff-tasks-en.png"), full_page=True)
    page.goto("/loyalty")
    expect(page.locator("#chart-levels")).to_have_attribute("data-rendered", "true")
    page.screenshot(path=str(folder / "loyalty-en.png"), full_page=True)
