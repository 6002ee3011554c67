"""The broadcast wizard's "group chats" choice in Debian's chromium, against the WeCom emulator:
choose owners, preview the groups by owner, send, the owner confirms, the dashboard shows the groups
delivered. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.broadcast.conftest import drain, wired, worker  # noqa: F401
from tests.broadcast.test_flow import _confirm_all
from tests.broadcast.test_group_broadcasts import _groups, _sent_by_owner
from tests.console.conftest import chromium, live_server, page, seeded  # noqa: F401
from tests.console.test_console_browser import _log_in, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


def test_operator_sends_a_broadcast_to_the_groups_of_one_owner(page, seeded, wired, worker, clock, database,
                                                               screenshots):
    # given two owners with groups, mirrored in the emulator
    first, second, _ = wired.brand.staff_ids
    _groups(database, wired, [("wrG1", first), ("wrG2", first), ("wrG3", second)])
    page.goto("/login")
    _log_in(page, seeded[0].login("hq_operator"))
    # when the operator chooses group chats, the first owner, and previews
    page.goto("/broadcasts/new")
    page.fill("input[name=name]", "群内新品试吃")
    page.check("input[name=kind][value=groups]")
    page.select_option("select[name=owner_staff_ids]", str(first))
    page.fill("textarea[name=text_a]", "{staff_name}：本周六门店新品试吃，群友专享")
    screenshots(page, "broadcast-group-wizard")
    page.click("[data-action=preview-broadcast]")
    expect(page.locator("[data-kpi=audience] .kpi-value")).to_have_text("2")
    expect(page.locator("[data-table=groups] tr")).to_have_count(2)
    screenshots(page, "broadcast-group-preview")
    # then sending creates one group task for that owner; once confirmed both groups are delivered
    page.click("[data-action=send]")
    expect(page.locator("[data-status=scheduled]")).to_be_visible()
    drain(worker, clock)
    assert _sent_by_owner(wired) == {wired.userid[first]: ["wrG1", "wrG2"]}
    _confirm_all(wired)
    clock.advance(timedelta(minutes=10))
    drain(worker, clock)
    page.reload()
    expect(page.locator("[data-kpi=delivered] .kpi-value")).to_have_text("2")
    screenshots(page, "broadcast-group-dashboard")
