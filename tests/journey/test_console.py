"""The journey console: create from a template, problems on the node they concern, publish, counts per
node, the enrolment explorer, simulation with its chart, pause/resume — and, in chromium, what an
operator sees (screenshots in test-output/screenshots/journey-*.png)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from siyu.journey import service
from siyu.models import Journey
from tests.console.conftest import chromium, console, csrf_of, live_server, page, seeded  # noqa: F401 — fixtures
from tests.journey.conftest import admin

BROKEN = {"trigger": {"type": "manual"}, "nodes": [
    {"id": "hello", "type": "send_message", "text": "你好", "next": "wait"},
    {"id": "wait", "type": "wait", "duration": {"days": 1}, "next": "ghost"}]}


def _journey_id(database) -> int:
    with database.session() as session:
        return session.scalars(select(Journey.id).order_by(Journey.id.desc())).first()


def test_create_fix_publish_and_follow_a_customer(console, database, corp, clock, runner):
    admin_client = console("admin")
    html = admin_client.get("/journeys").text
    created = admin_client.post("/journeys", data={"name": "新客欢迎", "template": "welcome",
                                                   "csrf_token": csrf_of(html)}, follow_redirects=False)
    assert created.status_code == 303
    journey_id = _journey_id(database)
    page_html = admin_client.get(f"/journeys/{journey_id}").text
    assert 'data-node="welcome"' in page_html and 'data-node="wait_bind"' in page_html
    # when the operator saves a draft with a dangling reference, the problem shows on its node
    saved = admin_client.post(f"/journeys/{journey_id}/draft", data={
        "definition": json.dumps(BROKEN, ensure_ascii=False), "csrf_token": csrf_of(page_html)},
        follow_redirects=True)
    assert re.search(r'data-problem="wait">节点 wait 的字段 next：指向的节点“ghost”不存在。<', saved.text)
    assert 'data-action="publish" disabled' in saved.text
    # a draft that is not JSON is refused next to the editor, and the saved draft is unchanged
    refused = admin_client.post(f"/journeys/{journey_id}/draft", data={"definition": "{oops",
                                                                       "csrf_token": csrf_of(saved.text)})
    assert refused.status_code == 422 and 'data-error="draft"' in refused.text
    with database.session() as session:
        assert session.get(Journey, journey_id).draft == BROKEN
    fixed = dict(BROKEN, nodes=[BROKEN["nodes"][0], dict(BROKEN["nodes"][1], next=None)])
    admin_client.post(f"/journeys/{journey_id}/draft", data={
        "definition": json.dumps(fixed), "csrf_token": csrf_of(saved.text)})
    published = admin_client.post(f"/journeys/{journey_id}/publish", data={"csrf_token": csrf_of(saved.text)},
                                  follow_redirects=True)
    assert 'data-status="live"' in published.text
    with database.session() as session:
        service.enrol(session, admin(corp), clock, journey_id, corp.customer_ids[:2])
    runner.run_until_idle()
    explored = admin_client.get(f"/journeys/{journey_id}", params={"customer": corp.customer_ids[0]}).text
    assert 'data-step="hello"' in explored and "进行中，位于节点 wait（第 1 版）" in explored
    row = re.search(r'<tr data-node="hello".*?</tr>', explored, re.S).group(0)
    assert [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)] == [2, 0, 2, 0]
    simulated = admin_client.post(f"/journeys/{journey_id}/simulate", data={"days": "7",
                                                                           "csrf_token": csrf_of(explored)})
    assert 'data-simulation="done"' in simulated.text and 'id="simulation-chart"' in simulated.text
    paused = admin_client.post(f"/journeys/{journey_id}/pause", data={"csrf_token": csrf_of(explored)},
                               follow_redirects=True)
    assert 'data-status="paused"' in paused.text


def test_staff_cannot_open_journeys(console):
    assert console("staff").get("/journeys").status_code == 403


@pytest.mark.browser
def test_journey_pages_in_chromium(page, seeded, database, clock, output_dir):
    from siyu.journey import templates
    from siyu.journey.runner import JourneyRunner
    from tests.factories import PASSWORD

    corp = seeded[0]
    with database.session() as session:
        journey = service.create(session, admin(corp), clock, name="新客欢迎（七匹狼）",
                                 definition=templates.build("welcome", {"state": "qipilang"}), template="welcome")
        service.publish(session, admin(corp), clock, journey.id)
        service.enrol(session, admin(corp), clock, journey.id, corp.customer_ids)
        broken = service.create(session, admin(corp), clock, name="有问题的草稿", definition=BROKEN)
    JourneyRunner(database, clock=clock).run_until_idle()
    clock.advance(31 * 60)
    JourneyRunner(database, clock=clock).run_until_idle()
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.goto("/login")
    page.fill("input[name=username]", corp.login("admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/journeys")
    page.screenshot(path=str(folder / "journey-list.png"), full_page=True)
    page.goto(f"/journeys/{journey.id}?customer={corp.customer_ids[0]}")
    page.click("button[data-action=simulate]")
    page.wait_for_selector("#simulation-chart canvas")
    page.screenshot(path=str(folder / "journey-detail.png"), full_page=True)
    page.fill("input[name=customer]", str(corp.customer_ids[0]))
    page.click("button[data-action=find]")
    page.wait_for_selector('[data-explorer="result"]')
    page.locator("#explorer").screenshot(path=str(folder / "journey-explorer.png"))
    assert "wait_bind" in page.locator('[data-explorer="result"] .alert').inner_text()
    assert page.locator('tr[data-node="ask_order"] td.num').first.inner_text() == "8"
    page.goto(f"/journeys/{broken.id}?lang=en")
    page.screenshot(path=str(folder / "journey-problems.png"), full_page=True)
    assert "ghost" in page.locator('[data-problem="wait"]').inner_text()
