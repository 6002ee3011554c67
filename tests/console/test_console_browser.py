"""The console in Debian's chromium: log in, read the dashboard, walk the organisation, retry a dead
job, open an area that is not built, switch language and back, log out. Screenshots go to
test-output/screenshots/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from siyu.models import Job
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def screenshots(output_dir):
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shoot


def _log_in(page, username: str, password: str = PASSWORD) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_failed_login_shows_the_error_in_chinese(page, seeded, screenshots):
    # given the login page reached by opening the console without a session
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    screenshots(page, "login")

    # when the password is wrong
    _log_in(page, seeded[0].login("admin"), "wrong-password")

    # then the page says so, in Chinese, and the session stays logged out
    expect(page.locator(".alert-error")).to_have_text("用户名或密码错误")
    expect(page.locator("input[name=username]")).to_have_value("admin@alpha")
    screenshots(page, "login-failed")
    page.goto("/org")
    expect(page).to_have_url(re.compile(r"/login\?next=/org$"))


def test_operator_tour(page, seeded, sales_history, dead_job, database, screenshots):
    brand = seeded[0]
    # given the login page
    page.goto("/login")

    # when the admin logs in, then the dashboard shows the corp's real counts and draws its charts
    _log_in(page, brand.login("admin"))
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".topbar .corp-name")).to_have_text("甲品牌")
    expect(page.locator(".user-role")).to_have_text("管理员")
    # 8 customers of make_brand plus the history's sum of k % 3 for k = 1..17, which is 18
    expect(page.locator("[data-kpi=customers] .kpi-value")).to_have_text("26")
    expect(page.locator("[data-kpi=relations] .kpi-value")).to_have_text("6")
    expect(page.locator("[data-kpi=staff] .kpi-value")).to_have_text("3")
    expect(page.locator("[data-kpi=stores] .kpi-value")).to_have_text("2")
    expect(page.locator("#chart-sales")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#chart-customers")).to_have_attribute("data-rendered", "true")
    screenshots(page, "dashboard")

    # when they open the organisation from the navigation
    page.click("nav [data-area=org]")
    expect(page).to_have_url(re.compile(r"/org$"))
    expect(page.locator("nav [data-area=org]")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator(".tree-node")).to_have_count(4)
    expect(page.locator("[data-table=staff] tbody tr")).to_have_count(3)
    # then searching narrows the staff list in place (htmx), without leaving the page
    page.fill("input[name=q]", "导购3")
    expect(page.locator("[data-table=staff] tbody tr")).to_have_count(1)
    expect(page.locator("[data-staff=alpha-s3]")).to_be_visible()
    page.fill("input[name=q]", "")
    expect(page.locator("[data-table=staff] tbody tr")).to_have_count(3)
    # and a refused form shows the reason next to its field
    page.click("text=新建员工")
    staff_form = page.locator("form[data-form=staff]")
    staff_form.locator("input[name=userid]").fill("alpha-s1")
    staff_form.locator("input[name=name]").fill("重复的导购")
    staff_form.locator("button[type=submit]").click()
    expect(page.locator("[data-field='staff.userid'] .field-error")).to_contain_text("员工账号 alpha-s1 已存在")
    screenshots(page, "organisation")

    # when they open the jobs, filter the dead ones and retry the one there
    page.click("nav [data-area=jobs]")
    page.click(".status-card[data-status=dead]")
    row = page.locator(f"#job-{dead_job}")
    expect(row).to_contain_text("supplier API refused the request: invalid coupon id")
    expect(row.locator(".badge")).to_have_text("失败")
    screenshots(page, "jobs-dead")
    row.locator("[data-action=retry]").click()
    # then the row says it is queued again, and so does the database
    expect(row.locator(".badge")).to_have_text("排队中")
    expect(row.locator(".row-note")).to_have_text("已重新排队")
    expect(page.locator("[data-count=dead]")).to_have_text("0")
    expect(page.locator("[data-count=queued]")).to_have_text("1")
    screenshots(page, "jobs-retried")
    with database.session() as session:
        assert session.scalar(select(Job.status).where(Job.id == dead_job)).value == "queued"

    # when they open an area that is not built, then it says so and names the issue, with no data
    page.click("nav [data-area=archive]")
    expect(page.locator("[data-not-built=archive] h2")).to_have_text("此功能尚未上线")
    expect(page.locator("[data-not-built=archive] .issue")).to_contain_text("会话存档与合规")
    screenshots(page, "not-built")

    # when they switch to English, then the same page comes back in English
    page.click(".topbar [data-language=en]")
    expect(page).to_have_url(re.compile(r"/archive$"))
    expect(page.locator("[data-not-built=archive] h2")).to_have_text("Not built yet")
    expect(page.locator("nav [data-area=org]")).to_contain_text("Organisation")
    screenshots(page, "not-built-en")
    page.click("nav [data-area=home]")
    expect(page.locator("[data-kpi=orders] .kpi-label")).to_have_text("Orders, last 30 days")
    expect(page.locator("#chart-sales")).to_have_attribute("data-rendered", "true")
    screenshots(page, "dashboard-en")
    page.click("nav [data-area=jobs]")
    expect(page.locator(".status-card[data-status=dead] .kpi-label")).to_have_text("Dead")
    screenshots(page, "jobs-en")

    # and back to Chinese
    page.click(".topbar [data-language=zh-CN]")
    expect(page).to_have_url(re.compile(r"/jobs$"))
    expect(page.locator(".status-card[data-status=dead] .kpi-label")).to_have_text("失败")

    # when they log out, then the console is closed again
    page.click("[data-action=logout]")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_store_manager_sees_their_store_only(page, seeded, sales_history, screenshots):
    brand = seeded[0]
    page.goto("/login")
    _log_in(page, brand.login("store_manager"))
    # 5 customers of store 1 plus the 18 history customers, all of store 1
    expect(page.locator("[data-kpi=customers] .kpi-value")).to_have_text("23")
    expect(page.locator("[data-kpi=stores] .kpi-value")).to_have_text("1")
    expect(page.locator("nav [data-area=wecom]")).to_have_count(0)
    page.click("nav [data-area=org]")
    expect(page.locator(".tree-node")).to_have_count(1)
    expect(page.locator("[data-table=staff] tbody tr")).to_have_count(2)
    expect(page.locator("form[data-form=staff]")).to_have_count(0)
    screenshots(page, "organisation-store-manager")
