"""The staff task page through the real app: filters, each role's scope, completing and
cancelling from the list, completion per store and the chart's data."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from siyu.models import StaffTask
from tests.console.conftest import csrf_of, rows


def _chart(html: str) -> dict:
    return json.loads(re.search(r'id="tasks-data">(.*?)</script>', html, flags=re.S).group(1))["chart"]


def test_the_open_tasks_and_completion_per_staff_and_store(console, programme):
    html = console("admin").get("/staff-tasks").text
    # seven tasks: every second one done, the overdue open ones expired; the list shows open ones
    assert len(rows(html, "task")) == 2
    assert _chart(html) == {"staff": ["导购1", "导购2", "导购3"], "done": [1, 1, 1], "expired": [1, 0, 1],
                            "open": [1, 1, 0]}
    stores = re.findall(r'data-store="([^"]+)"><td>[^<]*</td><td class="num">(\d+)</td>.*?(\d+\.\d)%', html,
                        flags=re.S)
    assert stores == [("甲品牌门店1", "5", "66.7"), ("甲品牌门店2", "2", "50.0")]


def test_filters_and_every_status(console, programme):
    client = console("admin")
    assert len(rows(client.get("/staff-tasks", params={"status": "all"}).text, "task")) == 7
    assert len(rows(client.get("/staff-tasks", params={"status": "done"}).text, "task")) == 3
    only_s3 = client.get("/staff-tasks", params={"status": "all", "staff_id": programme.staff_ids[2]}).text
    assert len(rows(only_s3, "task")) == 2
    calls = client.get("/staff-tasks", params={"status": "all", "kind": "call_back"}).text
    assert len(rows(calls, "task")) == 2


def test_a_staff_user_sees_and_completes_their_own(console, programme, database):
    client = console("staff")
    page = client.get("/staff-tasks", params={"status": "all"}).text
    assert len(rows(page, "task")) == 2
    assert "导购1" not in page
    with database.session() as session:
        others = session.scalar(select(StaffTask.id).where(StaffTask.staff_id == programme.staff_ids[0],
                                                           StaffTask.status == "open"))
    token = csrf_of(page)
    assert client.post(f"/staff-tasks/{others}/complete", data={"csrf_token": token}).status_code == 404
    with database.session() as session:
        assert session.get(StaffTask, others).status.value == "open"


def test_completing_and_cancelling_from_the_list(console, programme, database):
    client = console("store_manager")
    page = client.get("/staff-tasks").text
    open_ids = [int(task_id) for task_id in rows(page, "task")]
    assert len(open_ids) == 2
    token = csrf_of(page)
    done = client.post(f"/staff-tasks/{open_ids[0]}/complete", data={"csrf_token": token, "back": "/staff-tasks"},
                       follow_redirects=False)
    cancelled = client.post(f"/staff-tasks/{open_ids[1]}/cancel",
                            data={"csrf_token": token, "back": "https://evil.example/"}, follow_redirects=False)
    assert (done.headers["location"], cancelled.headers["location"]) == (
        "/staff-tasks?notice=done", "/staff-tasks?notice=cancelled")
    with database.session() as session:
        assert [session.get(StaffTask, i).status.value for i in open_ids] == ["done", "cancelled"]
    assert "任务已完成" in client.get("/staff-tasks?notice=done").text
