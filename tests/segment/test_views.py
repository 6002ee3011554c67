"""The segment console through HTTP: the builder recounts on every change, saves through the
service, and a segment's page explains one customer."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.models.segment import Segment
from tests.factories import login


@pytest.fixture
def admin_console(app, population):
    with TestClient(app) as client:
        assert login(client, population.brand, "admin").status_code == 303
        yield client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _tree(population, **extra) -> dict:
    """A builder post: all of [tag T1, city 上海]."""
    return {"node": ["r", "r-0", "r-1"], "r.type": "all", "r.was": "all",
            "r-0.type": "tag", "r-0.was": "tag", "r-0.mode": "any", "r-0.tags": [str(population.tags["T1"])],
            "r-0.source": "customer", "r-1.type": "city", "r-1.was": "city", "r-1.in": "上海", **extra}


def test_the_builder_counts_the_tree_and_each_condition(admin_console, population):
    csrf = _csrf(admin_console.get("/segments/new").text)

    # when the tree "T1 and 上海" is posted, and then a condition is added to the root
    counted = admin_console.post("/segments/builder", data=_tree(population), headers={"X-CSRF-Token": csrf})
    added = admin_console.post("/segments/builder", data=_tree(population, action="add:r:rfm"),
                               headers={"X-CSRF-Token": csrf})

    # then the live count and each row's own count are shown, and the added RFM row narrows it to c0
    assert counted.status_code == 200
    assert 'data-count="2"' in counted.text
    assert re.findall(r'data-count="(r[-\d]*)"><strong>(\d+)</strong>', counted.text) == [
        ("r", "2"), ("r-0", "2"), ("r-1", "2")]
    assert re.findall(r'data-count="(r[-\d]*)"><strong>(\d+)</strong>', added.text) == [
        ("r", "1"), ("r-0", "2"), ("r-1", "2"), ("r-2", "1")]


def test_a_bad_condition_is_shown_next_to_its_row_and_nothing_is_saved(admin_console, database, population):
    csrf = _csrf(admin_console.get("/segments/new").text)
    tree = _tree(population, **{"r-1.type": "event", "r-1.was": "event", "r-1.name": "view", "r-1.within": "soon",
                                "r-1.performed": "true", "r-1.count_op": ">=", "r-1.count": "1"})

    response = admin_console.post("/segments/save", data={**tree, "name": "坏的", "csrf_token": csrf})

    assert response.status_code == 422
    assert re.search(r'data-node="r-1".*?<div class="seg-problem" role="alert">这里应是时长，如 30d（天）或 4w（周）</div>',
                     response.text, re.S)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Segment)) == 0


def test_saving_opens_the_segment_page_and_why_explains_a_customer(admin_console, database, population):
    csrf = _csrf(admin_console.get("/segments/new").text)

    saved = admin_console.post("/segments/save", data={**_tree(population), "name": "上海 T1", "csrf_token": csrf},
                               follow_redirects=False)
    assert saved.status_code == 303
    page = admin_console.get(saved.headers["location"])
    why = admin_console.get(f"{saved.headers['location']}/why", params={"customer": str(population.ids["c1"])})

    assert page.status_code == 200
    assert re.findall(r'<tr data-customer="(\d+)">', page.text) == [str(population.ids["c2"]),
                                                                   str(population.ids["c0"])]
    assert 'data-member="no"' in why.text
    assert re.findall(r'<span class="why-(yes|no)">', why.text) == ["no", "no", "no"]


def test_a_static_segment_takes_an_uploaded_list_with_a_report(admin_console, database, population):
    csrf = _csrf(admin_console.get("/segments").text)
    created = admin_console.post("/segments/static", data={"name": "名单", "csrf_token": csrf},
                                 follow_redirects=False)
    location = created.headers["location"]

    response = admin_console.post(f"{location}/upload", data={"csrf_token": csrf},
                                  files={"file": ("ids.csv", f"客户ID\n{population.ids['c1']}\nabc\n".encode(),
                                                  "text/csv")})

    assert response.status_code == 200
    assert re.findall(r'data-row="(\d+)" data-outcome="(\w+)"', response.text) == [("2", "added"), ("3", "invalid")]
    assert re.findall(r'<tr data-customer="(\d+)">', response.text) == [str(population.ids["c1"])]
