"""Harness for handler tests: deliver an encrypted event to siyu's callback endpoint, run the worker
once, and read back the callback row. Test modules import the fixtures they use from here."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from siyu.kit.jobs import Worker
from siyu.kit.settings import get_settings
from siyu.models import Job, WeComCallback
from tests.integrations.wecom.delivery import WECOM_CORP, connect, encrypted


class CallbackHarness:
    """siyu (through ``client``) receiving events for ``corp_id`` and handling them with a worker."""

    def __init__(self, client, database, clock, corp_id: int, wecom_corp_id: str = WECOM_CORP) -> None:
        self.client, self.database, self.clock = client, database, clock
        self.corp_id, self.wecom_corp_id = corp_id, wecom_corp_id

    @property
    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def at(self, create_time: int) -> datetime:
        return datetime.fromtimestamp(create_time, UTC)

    def deliver(self, xml: str):
        response = encrypted(xml, self.now, receive_id=self.wecom_corp_id).post(self.client, self.corp_id)
        assert (response.status_code, response.text) == (200, "success"), response.text
        return response

    def run_jobs(self) -> int:
        """One worker pass: claims what is due now (jobs enqueued during the pass wait for the next)."""
        return Worker(self.database, clock=self.clock, lease_seconds=30).run_once()

    def handle(self, xml: str) -> WeComCallback:
        """Deliver ``xml``, run its handler job, and return its inbox row."""
        self.deliver(xml)
        assert self.run_jobs() >= 1
        return self.latest()

    def latest(self) -> WeComCallback:
        with self.database.session() as session:
            return session.scalars(select(WeComCallback).order_by(WeComCallback.id.desc()).limit(1)).one()

    def jobs(self, name: str) -> list[Job]:
        with self.database.session() as session:
            return list(session.scalars(select(Job).where(Job.name == name).order_by(Job.id)))


@pytest.fixture
def process_secret_key(settings):
    """Jobs read secrets with the process settings (``get_settings``); make them use the test's key."""
    before = os.environ.get("SIYU_SECRET_KEY")
    os.environ["SIYU_SECRET_KEY"] = settings.secret_key
    get_settings.cache_clear()
    yield
    if before is None:
        os.environ.pop("SIYU_SECRET_KEY", None)
    else:
        os.environ["SIYU_SECRET_KEY"] = before
    get_settings.cache_clear()


@pytest.fixture
def harness(client, database, clock, brand, settings) -> CallbackHarness:
    """Corp alpha of ``brand`` connected (callback Token and EncodingAESKey only)."""
    corp_id = brand[0].corp_id
    with database.session() as session:
        connect(session, corp_id, settings.secret_key)
    return CallbackHarness(client, database, clock, corp_id)
