"""Seeding at benchmark scale, cursor paging over it, and the population simulator."""

from __future__ import annotations

import time

import httpx
from fastapi.testclient import TestClient

from siyu.emulator.wecom import close_emulator, create_emulator_app, get_emulator, seed_corp
from siyu.emulator.wecom.population import PopulationSimulator
from siyu.emulator.wecom.simulation import Simulator
from siyu.emulator.wecom.state import EmulatorState
from siyu.kit.clock import TestClock


def test_seed_300_staff_and_100000_customers_quickly_and_page_them(harness):
    started = time.perf_counter()
    summary = seed_corp(harness.state, "wwbig00001", departments=30, staff=300, customers=100_000, seed=11)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"seeding took {elapsed:.1f}s"
    assert len(summary.staff) == 300 and summary.customers == 100_000
    corp = harness.state.corps["wwbig00001"]
    assert all("\u4e00" <= m.name[0] <= "\u9fff" for m in corp.members.values())
    harness.credentials["wwbig00001"] = {"contact_secret": next(a.secret for a in corp.apps.values()
                                                                if a.kind == "contact")}
    userids = summary.staff[:3]
    expected = sum(len(corp.customers_by_user[u]) for u in userids)
    seen, cursor, pages = [], "", 0
    while True:
        page = harness.post("externalcontact/batch/get_by_user",
                            {"userid_list": userids, "cursor": cursor, "limit": 500}, corp_id="wwbig00001")
        assert page["errcode"] == 0 and len(page["external_contact_list"]) <= 100  # limit clamped to 100
        seen += [(r["follow_info"]["userid"], r["external_contact"]["external_userid"])
                 for r in page["external_contact_list"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == expected == len(set(seen)) and pages == -(-expected // 100)


def test_seeding_is_deterministic():
    first, second = EmulatorState(TestClock()), EmulatorState(TestClock())
    seed_corp(first, "wwseed0001", staff=10, customers=200, seed=5)
    seed_corp(second, "wwseed0001", staff=10, customers=200, seed=5)
    assert list(first.corps["wwseed0001"].customers) == list(second.corps["wwseed0001"].customers)
    assert [m.name for m in first.corps["wwseed0001"].members.values()] == \
        [m.name for m in second.corps["wwseed0001"].members.values()]


def test_batch_get_by_user_accepts_the_wechatpy_userid_field(harness):
    harness.create_corp()
    userid = harness.staff()[0]
    old = harness.post("externalcontact/batch/get_by_user", {"userid": userid, "limit": 100})
    new = harness.post("externalcontact/batch/get_by_user", {"userid_list": [userid], "limit": 100})
    assert old == new and len(old["external_contact_list"]) == len(harness.get("externalcontact/list",
                                                                              userid=userid)["external_userid"])
    assert harness.post("externalcontact/batch/get_by_user", {"userid_list": []})["errcode"] == 40058


def _population_run(seed: int) -> list[dict]:
    state = EmulatorState(TestClock(), seed=1)
    seed_corp(state, "wwpop00001", staff=8, customers=100, seed=2, groups=3)
    simulator = Simulator(state, seed=1)
    return PopulationSimulator(simulator, "wwpop00001", seed=seed).run_steps(200)


def test_population_is_deterministic_given_a_seed():
    first, second = _population_run(9), _population_run(9)
    assert first == second and len(first) > 100
    assert {entry["action"] for entry in first} >= {"scan", "customer_message", "staff_reply", "join_group"}
    assert _population_run(10) != first


def test_population_scans_carry_the_contact_way_state_into_callbacks(harness):
    harness.create_corp(staff=6, customers=30, groups=2)
    response = harness.client.post("/simulate/wwcorp0001/population/step", json={"count": 60, "seed": 4})
    assert response.status_code == 200
    harness.settle()
    adds = [e for e in harness.receiver.events
            if e.get("ChangeType") in ("add_external_contact", "add_half_external_contact")]
    states = {w.state for w in harness.state.corps["wwcorp0001"].contact_ways.values()}
    assert adds and all(e["State"] in states for e in adds)


def test_population_thread_runs_at_its_rate_and_stops(clock):
    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    app = create_emulator_app(clock=clock, callback_http_client=http, callback_retry_delays=(0, 0))
    with TestClient(app) as client:
        seed_corp(get_emulator(app), "wwpop00002", staff=5, customers=50, seed=1)
        started = client.post("/simulate/wwpop00002/population/start", json={"events_per_minute": 6000, "seed": 3})
        assert started.status_code == 200 and started.json()["running"] is True
        deadline = time.monotonic() + 5
        while client.get("/simulate/wwpop00002/population").json()["performed"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped = client.post("/simulate/wwpop00002/population/stop").json()
        assert stopped["running"] is False and stopped["performed"] >= 5
        performed = stopped["performed"]
        time.sleep(0.1)
        assert client.get("/simulate/wwpop00002/population").json()["performed"] == performed
    close_emulator(app)
    http.close()
