"""``siyu import orders FILE --platform taobao --corp SLUG``: an import run in this process, with a
progress bar, ending with the report and the path of the rejects file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from siyu.kit.clock import get_clock
from siyu.kit.db import init_database
from siyu.kit.errors import SiyuError
from siyu.kit.i18n import translate
from siyu.kit.settings import Settings
from siyu.models.order import OrderImport
from siyu.order import importer, repository, service
from siyu.order.presets import check_mapping, preset_for


def run_import_command(settings: Settings, *, path: Path, platform: str, corp_slug: str, shop: str,
                       mapping: str | None, echo: Callable[..., None], show_progress: bool = True) -> int:
    """Import ``path`` for the corp; returns the exit status (0: done, 1: refused or failed)."""
    language = settings.default_language
    try:
        preset = preset_for(platform)
        checked = check_mapping(json.loads(mapping) if mapping else None)
    except SiyuError as error:
        echo(error.message(language), err=True)
        return 1
    except ValueError:
        echo(translate("order.error.mapping_not_json", language, field="--mapping"), err=True)
        return 1
    if not path.is_file():
        echo(translate("order.import.file_missing", language), err=True)
        return 1
    database = init_database(settings.database_url)
    clock = get_clock()
    with database.session() as session:
        corp = repository.corp_by_slug(session, corp_slug)
        if corp is None:
            echo(translate("order.cli.no_corp", language, slug=corp_slug), err=True)
            return 1
        rejects_dir = Path(settings.var_dir).resolve() / "imports" / str(corp.id)
        rejects_dir.mkdir(parents=True, exist_ok=True)
        # the file is read where it lies: a CLI user owns it, no copy is needed
        record = service.create_import(session, None, corp.id, preset=preset, shop=shop, filename=path.name,
                                       stored_path=path.resolve(), mapping=checked, clock=clock,
                                       enqueue_job=False, rejects_dir=rejects_dir)
        import_id = record.id

    def sessions():
        return database.session(immediate=True)

    if show_progress:
        _run_with_bar(sessions, import_id, clock, language)
    else:
        importer.run_import(sessions, import_id, clock)
    with database.session() as session:
        report = service.describe_import(session.get(OrderImport, import_id), language)
    echo(translate("order.cli.summary", language, id=report.id, status=translate(
        f"order.import.status.{report.status}", language), total=report.total_rows, inserted=report.inserted_rows,
        updated=report.updated_rows, unchanged=report.unchanged_rows, rejected=report.rejected_rows))
    if report.error:
        echo(report.error, err=True)
    for problem in report.rejects_sample[:10]:
        echo(translate("order.cli.problem", language, row=problem.row, column=problem.column,
                       reason=problem.reason, value=problem.value))
    if report.has_rejects:
        echo(translate("order.cli.rejects", language, path=record.rejects_path))
    return 0 if report.status == "done" else 1


def _run_with_bar(sessions, import_id: int, clock, language: str) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TextColumn("{task.fields[rows]:,}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(translate("order.cli.importing", language), total=100, rows=0)

        def advance(rows: int, fraction: float | None) -> None:
            bar.update(task, completed=(fraction or 0) * 100, rows=rows)

        importer.run_import(sessions, import_id, clock, on_progress=advance)
