"""Fixtures of the staff task tests (shared with the loyalty tests)."""

from tests.console.conftest import chromium, console, live_server, page, seeded  # noqa: F401 — fixtures
from tests.loyalty.conftest import corp, programme  # noqa: F401 — fixtures
