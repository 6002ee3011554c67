"""A tiny generated brand, seeded afresh for each test on the test database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from siyu.seed.generator import SeedReport, run_seed

SEED = 20260101


@dataclass
class Seeded:
    report: SeedReport
    lines: list[str]


@pytest.fixture
def seeded(database, clock) -> Seeded:
    """The fruit brand at ``tiny`` scale (6 stores, 12 staff, 200 customers, 1,200 orders) with its
    history ending at the test clock's now (2026-01-05 09:00 UTC)."""
    lines: list[str] = []
    report = run_seed(database, scale="tiny", corp_slug=None, seed=SEED, echo=lines.append, interactive=False)
    return Seeded(report, lines)
