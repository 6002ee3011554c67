"""The broadcast wizard and dashboard and the policy page in Debian's chromium, against the WeCom
emulator; screenshots go to test-output/screenshots/ for a person to look at."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.broadcast.conftest import drain, wired, worker  # noqa: F401
from tests.console.conftest import chromium, live_server, page, seeded  # noqa: F401
from tests.console.test_console_browser import _log_in, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


def test_operator_previews_sends_and_follows_a_broadcast(page, seeded, wired, worker, clock, screenshots):
    # given an admin on the policy page, who saves a policy
    page.goto("/login")
    _log_in(page, seeded[0].login("admin"))
    page.goto("/settings/policy")
    page.fill("input[name=marketing_cap]", "3")
    page.click("[data-action=save-policy]")
    expect(page.locator("[data-notice=saved]")).to_be_visible()
    screenshots(page, "policy-settings")
    # when they compose a broadcast with two variants and a holdout, and preview it
    page.goto("/broadcasts/new")
    page.fill("input[name=name]", "双十二鲜果节")
    page.fill("textarea[name=text_a]", "{staff_name}（{store}）：双十二鲜果 8 折")
    page.fill("textarea[name=text_b]", "双十二鲜果 8 折，到店再送果切")
    screenshots(page, "broadcast-wizard")
    page.click("[data-action=preview-broadcast]")
    expect(page.locator("[data-kpi=audience] .kpi-value")).to_have_text("8")
    expect(page.locator("#chart-staff")).to_have_attribute("data-rendered", "true")
    screenshots(page, "broadcast-preview")
    # then sending it creates the WeCom tasks; staff confirm; the dashboard shows the delivery
    page.click("[data-action=send]")
    expect(page.locator("[data-status=scheduled]")).to_be_visible()
    drain(worker, clock)
    for message in list(wired.wecom_corp.mass_messages.values()):
        for userid in list(message.task_status):
            wired.emulator.simulator.staff_confirm_mass_task(wired.emulator.corp_id, message.msgid, userid)
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    page.reload()
    expect(page.locator("[data-kpi=delivered] .kpi-value")).to_have_text("6")
    expect(page.locator("#chart-touches")).to_have_attribute("data-rendered", "true")
    screenshots(page, "broadcast-dashboard")
    assert re.search(r"^\d+ / \d+$", page.locator("[data-kpi=confirmed] .kpi-value").inner_text())
    page.click(".topbar [data-language=en]")
    expect(page.locator("[data-kpi=delivered] .kpi-label")).to_have_text("Delivered")
    screenshots(page, "broadcast-dashboard-en")
    page.goto("/settings/policy")
    screenshots(page, "policy-settings-en")
