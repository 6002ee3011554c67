"""``siyu sync wecom --corp SLUG [--full]``: a sync in this process with a progress bar per phase."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import select

from siyu.integrations.wecom.client import WeComClientFactory
from siyu.integrations.wecom.sync import FULL, PHASES, WeComSync
from siyu.integrations.wecom.sync_runner import SyncProgress, phase_counts
from siyu.kit.clock import get_clock
from siyu.kit.db import init_database
from siyu.kit.errors import NotFound, SiyuError
from siyu.kit.i18n import translate
from siyu.kit.settings import Settings
from siyu.models.corp import Corp
from siyu.models.wecom import WeComSyncRun


def _summary(counts: dict) -> str:
    """The most telling numbers of a phase, e.g. ``rows 31200 · created 31200``."""
    keys = ("rows", "customers_created", "relations_created", "relations_ended", "created", "updated",
            "groups_created", "members_joined", "contacts_fetched", "resigned", "deleted")
    return " · ".join(f"{key} {counts[key]}" for key in keys if counts.get(key))


class _Bars:
    """One rich progress bar per phase, advanced by the sync's progress reports."""

    def __init__(self, progress: Progress, language: str) -> None:
        self.progress = progress
        self.language = language
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, report: SyncProgress) -> None:
        if report.phase == "done":
            return
        label = translate(f"wecom_sync.phase.{report.phase}", self.language)
        task = self.tasks.get(report.phase)
        if task is None:
            task = self.tasks[report.phase] = self.progress.add_task(label, total=report.total)
        summary = _summary(report.counts.get(report.phase, {}))
        self.progress.update(task, completed=report.done, total=report.total,
                             description=f"{label} {summary}".strip())


def run_sync_command(settings: Settings, *, corp_slug: str, full: bool, echo: Callable[[str], None]) -> int:
    """Run (or resume) the corp's sync; returns the process exit code."""
    language = settings.default_language
    database = init_database(settings.database_url)
    clock = get_clock()
    with database.session() as session:
        corp = session.scalars(select(Corp).where(Corp.slug == corp_slug)).one_or_none()
        if corp is None:
            echo(NotFound("error.corp_not_found", slug=corp_slug).message(language))
            return 1
        corp_id, corp_name = corp.id, corp.name

    def sessions():
        return database.session(immediate=True)

    console = Console()
    started = time.monotonic()
    with WeComClientFactory(sessions, clock, settings=settings) as clients, Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console) as progress:
        sync = WeComSync(sessions, clients, clock, progress=_Bars(progress, language))
        try:
            run_id = sync.start(corp_id, FULL if full else None)
            with database.session() as session:
                kind = session.get(WeComSyncRun, run_id).kind
            progress.console.print(translate("wecom_sync.cli.started", language, run_id=run_id,
                                             corp=corp_name,
                                             kind=translate(f"wecom_sync.kind.{kind}", language)))
            run = sync.run(run_id)
        except SiyuError as error:
            echo(translate("wecom_sync.cli.failed", language, error=error.message(language)))
            return 1
        except Exception as error:  # noqa: BLE001 — the run keeps the error; the operator gets a hint
            echo(translate("wecom_sync.cli.failed", language, error=f"{type(error).__name__}: {error}"))
            return 1
    for phase in PHASES[run.kind]:
        summary = _summary(phase_counts(run.counts, phase))
        echo(f"  {translate(f'wecom_sync.phase.{phase}', language)}: {summary or '—'}")
    echo(translate("wecom_sync.cli.finished", language, seconds=round(time.monotonic() - started, 1)))
    return 0
