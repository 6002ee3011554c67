"""Fixtures of the journey tests: the brand's admin principal, a journey factory and a runner on the
test clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from siyu.journey import service
from siyu.journey.runner import JourneyRunner
from siyu.kit.tenancy import Principal
from siyu.models import Role
from tests.tag.conftest import run_jobs  # noqa: F401 — fixture (every due job until none is left)


def admin(corp) -> Principal:
    return Principal(user_id=corp.users["admin"], corp_id=corp.corp_id, role=Role.admin)


@pytest.fixture
def corp(brand):
    return brand[0]


@pytest.fixture
def runner(database, clock) -> JourneyRunner:
    return JourneyRunner(database, clock=clock, batch_size=500, idle_seconds=0.01)


@pytest.fixture
def live_journey(database, clock, corp) -> Callable[..., int]:
    """``live_journey(nodes, trigger=…, reentry=…, goal=…)``: a published journey's id."""

    def make(nodes: list[dict[str, Any]], *, trigger: dict | None = None, **extra: Any) -> int:
        definition = {"trigger": trigger or {"type": "manual"}, "nodes": nodes, **extra}
        with database.session() as session:
            journey = service.create(session, admin(corp), clock, name="测试旅程", definition=definition)
            service.publish(session, admin(corp), clock, journey.id)
            return journey.id

    return make


@pytest.fixture
def enrol(database, clock, corp) -> Callable[[int, list[int]], list[int]]:
    def run(journey_id: int, customer_ids: list[int]) -> list[int]:
        with database.session() as session:
            return service.enrol(session, admin(corp), clock, journey_id, customer_ids).enrolled

    return run
