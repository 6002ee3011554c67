"""Progress of a seed: a rich progress bar per phase on a terminal, one summary line per table.

Without a terminal (CI, pipes, tests) nothing redraws; every phase still ends with a line per table
giving its row count, time and rate, which is also what the benchmark records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import perf_counter

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

Echo = Callable[[str], None]


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>10,.0f} rows/s", style="progress.data.speed")


class _CountColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else f"{int(task.total):,}"
        return Text(f"{int(task.completed):>10,} / {total}", style="progress.download")


@dataclass
class TableTiming:
    """Rows written to a table and the seconds spent generating and writing them."""

    rows: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Phase:
    """One phase of the seed; ``timed`` accounts time to a table, ``advance`` moves its bar."""

    tables: dict[str, TableTiming]
    _progress: Progress | None = None
    _tasks: dict[str, int] = field(default_factory=dict)

    def advance(self, table: str, rows: int) -> None:
        self.tables[table].rows += rows
        if self._progress is not None:
            self._progress.advance(self._tasks[table], rows)

    def reporter(self, table: str) -> Callable[[int], None]:
        return lambda rows: self.advance(table, rows)

    @contextmanager
    def timed(self, table: str) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            self.tables[table].seconds += perf_counter() - started


class SeedProgress:
    """Reports phases to ``echo``; draws bars only when stdout is an interactive terminal."""

    def __init__(self, echo: Echo, *, interactive: bool | None = None,
                 console: Console | None = None) -> None:
        self.echo = echo
        self.console = console or Console()
        self.interactive = self.console.is_terminal if interactive is None else interactive
        self.tables: dict[str, TableTiming] = {}

    @contextmanager
    def phase(self, label: str, totals: dict[str, int | None]) -> Iterator[Phase]:
        tables = {name: self.tables.setdefault(name, TableTiming()) for name in totals}
        started = perf_counter()
        if not self.interactive:
            yield Phase(tables)
        else:
            with Progress(TextColumn("{task.description:<24}"), BarColumn(), _CountColumn(), _RateColumn(),
                          TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                          transient=True) as progress:
                tasks = {name: progress.add_task(f"{label} · {name}", total=total)
                         for name, total in totals.items()}
                yield Phase(tables, progress, tasks)
        elapsed = perf_counter() - started
        for name, timing in tables.items():
            self.echo(f"  {label:<10} {name:<15} {timing.rows:>11,} rows {timing.seconds:>8.1f} s "
                      f"{timing.rate:>11,.0f} rows/s")
        if len(tables) > 1:
            self.echo(f"  {label:<10} {'(phase)':<15} {sum(t.rows for t in tables.values()):>11,} rows "
                      f"{elapsed:>8.1f} s")
