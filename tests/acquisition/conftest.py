"""The live setting of acquisition tests: siyu served over loopback HTTP, connected to an emulated WeCom
corp with three members that POSTs its encrypted callbacks to siyu, and a simulated merchant account
for red packets. ``Live.drain()`` runs workers until nothing is due (the test clock does not move)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from siyu.kit.jobs import Worker
from siyu.models import Staff
from tests.e2e.conftest import siyu_server  # noqa: F401 — fixture
from tests.factories import api_token
from tests.integrations.wecom.conftest import EMULATOR_CORP, wecom_emulator_factory  # noqa: F401 — fixture
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401 — fixture

TOKEN = "AcqToken2026"
AES_KEY = "Zq3bX9kLm2Pw7Rt5Yv8Nc4Hd6Jf1Gs0Ae3Ui9Oo7Kl5"


@dataclass
class Live:
    server: object
    emulator: object
    database: object
    clock: object
    corp_id: int
    headers: dict[str, str]
    #: emulator userid → siyu staff id, in userid order
    staff: dict[str, int]
    mch_id: str

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.server.url}/api/v1{path}", headers=self.headers, timeout=10, **kwargs)

    def simulate(self, action: str, **body) -> dict:
        answer = httpx.post(f"{self.emulator.url}/simulate/{EMULATOR_CORP}/{action}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        self.wait_callbacks()
        return answer.json()

    def wait_callbacks(self) -> None:
        assert self.emulator.app.state.callbacks.wait_idle(10)

    def drain(self) -> int:
        total = ran = Worker(self.database, clock=self.clock, lease_seconds=30).run_once()
        while ran:
            ran = Worker(self.database, clock=self.clock, lease_seconds=30).run_once()
            total += ran
        return total

    def messages(self, kind: str) -> list[dict]:
        answer = httpx.get(f"{self.emulator.url}/simulate/{EMULATOR_CORP}/messages", timeout=10).json()
        return [m for m in answer if m["kind"] == kind]

    def merchant(self) -> dict:
        return httpx.get(f"{self.emulator.url}/simulate/payment/merchants/{self.mch_id}", timeout=10).json()


@pytest.fixture
def live(siyu_server, wecom_emulator_factory, client, brand, database, clock, process_secret_key):  # noqa: F811
    emulator = wecom_emulator_factory(callback_retry_delays=(0.05, 0.1))
    emulator.seed(departments=1, staff=3, customers=0, groups=0)
    userids = sorted(emulator.state.corps[EMULATOR_CORP].members)
    corp_id = brand[0].corp_id
    staff = {}
    with database.session() as session:  # the address book sync brought the members over
        for index, userid in enumerate(userids):
            member = Staff(corp_id=corp_id, userid=userid, name=f"顾问{index + 1}")
            session.add(member)
            session.flush()
            staff[userid] = member.id
    headers = api_token(client, brand[0], "admin")
    saved = httpx.put(f"{siyu_server.url}/api/v1/wecom/connection", headers=headers, json={
        "wecom_corp_id": EMULATOR_CORP, "contact_secret": emulator.contact_secret, "callback_token": TOKEN,
        "encoding_aes_key": AES_KEY, "api_base": emulator.base_url})
    assert saved.status_code == 200, saved.text
    callback_url = siyu_server.url + "/wecom/" + saved.json()["callback_url"].split("/wecom/", 1)[1]
    configured = httpx.put(f"{emulator.url}/simulate/{EMULATOR_CORP}/config", json={
        "callback_url": callback_url, "callback_token": TOKEN, "encoding_aes_key": AES_KEY,
        "verify_callback_url_now": True})
    assert configured.status_code == 200, configured.text
    merchant = httpx.post(f"{emulator.url}/simulate/payment/merchants", json={"balance": 100_000}).json()
    budget = httpx.put(f"{siyu_server.url}/api/v1/red-packets/budget", headers=headers, json={
        "mch_id": merchant["mch_id"], "mch_key": merchant["key"], "pay_api_base": emulator.url + "/"})
    assert budget.status_code == 200, budget.text
    yield Live(siyu_server, emulator, database, clock, corp_id, headers, staff, merchant["mch_id"])
