"""Fixtures of the tag tests: the brand's principals and a worker that runs queued jobs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siyu.kit.jobs import Worker, load_handler_modules
from siyu.kit.settings import get_settings
from siyu.kit.tenancy import Principal
from siyu.models import Job, JobStatus, Role
from tests.auth.bearer import bearer
from tests.integrations.wecom.conftest import wecom_emulator, wecom_emulator_factory  # noqa: F401 — fixtures


@pytest.fixture
def process_settings(settings, monkeypatch):
    """Jobs read the process settings: give them the test's secret key."""
    monkeypatch.setenv("SIYU_SECRET_KEY", settings.secret_key)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def run_jobs(database, clock):
    """Run every due job (and the jobs they enqueue) until none is left; returns the names run."""
    load_handler_modules()

    def run() -> list[str]:
        names = []
        worker = Worker(database, clock=clock, worker_id="tag-tests", lease_seconds=30)
        while True:
            with database.session() as session:
                due = session.scalars(select(Job.name).where(Job.status == JobStatus.queued,
                                                             Job.due_at <= clock.now()).order_by(Job.id)).all()
            if not due:
                return names
            names.extend(due)
            worker.run_once()

    return run


@pytest.fixture
def admin_headers(database, brand):
    corp, _ = brand
    return bearer(database, corp.users["admin"])


def principal(corp, role: str = "admin") -> Principal:
    """A principal of ``corp`` with ``role`` (corp-wide roles only)."""
    return Principal(user_id=corp.users[role], corp_id=corp.corp_id, role=Role(role))
