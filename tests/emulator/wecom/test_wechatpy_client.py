"""wechatpy's WeCom client (1.8.18) against the emulator on a real loopback server, mounted under a prefix."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from siyu.emulator.wecom import close_emulator, create_emulator_app, get_emulator, seed_corp
from siyu.kit.clock import TestClock


@pytest.fixture
def live():
    """The emulator mounted at /wecom-emulator inside a host app, served by uvicorn on a free port."""
    clock = TestClock()
    emulator = create_emulator_app(clock=clock)
    host = FastAPI()
    host.mount("/wecom-emulator", emulator)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(host, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    state = get_emulator(emulator)
    corp = state.create_corp("wwlive0001", "直播品牌")
    summary = seed_corp(state, "wwlive0001", departments=5, staff=8, customers=40, seed=3)
    yield {"base": f"http://127.0.0.1:{port}/wecom-emulator/cgi-bin/", "state": state, "corp": corp,
           "summary": summary, "clock": clock}
    server.should_exit = True
    thread.join(5)
    close_emulator(emulator)


def client_for(base: str, corp_id: str, secret: str) -> WeChatClient:
    """wechatpy 1.8.18 hard-codes the gettoken URL, so point both it and API_BASE_URL at the emulator."""

    class EmulatorClient(WeChatClient):
        API_BASE_URL = base

        def fetch_access_token(self):
            return self._fetch_access_token(url=base + "gettoken",
                                            params={"corpid": self.corp_id, "corpsecret": self.secret})

    return EmulatorClient(corp_id, secret)


def secret(corp, kind: str) -> str:
    return next(app.secret for app in corp.apps.values() if app.kind == kind)


def test_token_departments_and_users(live):
    client = client_for(live["base"], "wwlive0001", secret(live["corp"], "contact"))
    token = client.access_token
    assert live["state"].tokens[token].corp_id == "wwlive0001"
    departments = client.department.get()
    assert [d["id"] for d in departments][:1] == [1]
    assert len(departments) == 6
    assert {d["name"] for d in departments} >= {"直播品牌", "华东大区"}
    users = client.user.list(department_id=1, fetch_child=True)
    assert sorted(u["userid"] for u in users) == sorted(live["summary"].staff)
    assert all(u["status"] == 1 and isinstance(u["gender"], str) for u in users)
    assert client.user.list(department_id=1, fetch_child=False) == []


def test_external_contact_get_and_add_contact_way(live):
    client = client_for(live["base"], "wwlive0001", secret(live["corp"], "contact"))
    staff = client.external_contact.get_follow_user_list()["follow_user"]
    assert sorted(staff) == sorted(live["summary"].staff)
    userid = next(u for u in staff if live["corp"].customers_by_user.get(u))
    external_userid = client.external_contact.list(userid)["external_userid"][0]
    detail = client.external_contact.get(external_userid)
    assert detail["external_contact"]["external_userid"] == external_userid
    assert userid in [f["userid"] for f in detail["follow_user"]]
    created = client.external_contact.add_contact_way(type=1, scene=2, remark="门店码", state="store_7",
                                                      user=[userid])
    assert len(created["config_id"]) == 32 and created["qr_code"].startswith("http")
    way = client.external_contact.get_contact_way(created["config_id"])["contact_way"]
    assert way["state"] == "store_7" and way["user"] == [userid] and way["skip_verify"] is True


def test_wechatpy_refetches_the_token_after_42001(live):
    client = client_for(live["base"], "wwlive0001", secret(live["corp"], "contact"))
    first = client.access_token
    live["clock"].advance(7201)
    # The emulator answers 42001 for the cached token; wechatpy re-fetches and retries once.
    result = client.external_contact.get_follow_user_list()
    assert sorted(result["follow_user"]) == sorted(live["summary"].staff)
    assert client.session.get(client.access_token_key) != first


def test_wrong_secret_is_refused_with_40001(live):
    client = client_for(live["base"], "wwlive0001", "not-a-secret")
    with pytest.raises(WeChatClientException) as raised:
        client.department.get()
    assert raised.value.errcode == 40001
