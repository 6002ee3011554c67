"""Seed progress: bars on a terminal, one line per table everywhere."""

from __future__ import annotations

import io

from rich.console import Console

from siyu.seed.progress import SeedProgress


def _run_phase(progress: SeedProgress) -> None:
    with progress.phase("customers", {"customer": 300, "identity": None}) as phase:
        with phase.timed("customer"):
            phase.advance("customer", 100)
            phase.advance("customer", 200)
        with phase.timed("identity"):
            phase.reporter("identity")(450)


def test_without_a_terminal_each_table_gets_one_summary_line():
    lines: list[str] = []
    progress = SeedProgress(lines.append, interactive=False)
    _run_phase(progress)
    assert [line.split()[:4] for line in lines] == [
        ["customers", "customer", "300", "rows"],
        ["customers", "identity", "450", "rows"],
        ["customers", "(phase)", "750", "rows"],
    ]
    assert all("rows/s" in line for line in lines[:2])
    assert (progress.tables["customer"].rows, progress.tables["identity"].rows) == (300, 450)


def test_on_a_terminal_bars_are_drawn_and_the_same_lines_follow():
    screen = io.StringIO()
    lines: list[str] = []
    progress = SeedProgress(lines.append, interactive=True,
                            console=Console(file=screen, force_terminal=True, width=120))
    _run_phase(progress)
    assert "customers · customer" in screen.getvalue()
    assert [line.split()[1] for line in lines] == ["customer", "identity", "(phase)"]
