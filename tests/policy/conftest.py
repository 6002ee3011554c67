"""A brand (two corps, see ``factories.make_brand``) and helpers to ask the gate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siyu.models.policy import TouchChannel, TouchPriority
from siyu.policy import TouchRequest

#: Monday 2026-01-05 17:00 in Shanghai: outside quiet hours, first day of a natural week
MONDAY_AFTERNOON = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def ask(customer_id: int, channel: TouchChannel = TouchChannel.journey,
        priority: TouchPriority = TouchPriority.marketing, **extra) -> TouchRequest:
    return TouchRequest(customer_id=customer_id, channel=channel, priority=priority, **extra)


@pytest.fixture
def corp(brand):
    return brand[0]
