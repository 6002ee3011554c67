"""Benchmark: generating the fruit brand with ``siyu seed``.

Two runs:

* ``sqlite``: the demo scale (20 k customers, 120 k orders) into a fresh SQLite file — what
  ``make demo`` pays on first start.
* ``postgres``: the bench scale (1 M customers, 10 M orders) into the PostgreSQL database
  ``siyu_bench``, which later benchmarks reuse and which is therefore left in place. When it already
  holds the brand nothing is measured unless ``--recreate`` drops and recreates it first.

Reference (the house rule: a ratio against a reference on the same data in the same process): after
seeding, each bulk table is copied by the database itself — ``INSERT INTO ref_<table> SELECT … FROM
<table>`` into a twin with the same columns, indexes, unique and foreign-key constraints. That is
the same rows, of the same width, in the same order, with no client at all: the rate the database
can absorb these rows at. The ratio siyu/reference says how close Python generation plus COPY (or
executemany on SQLite) comes to it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from dataclasses import dataclass
from time import perf_counter

from sqlalchemy import MetaData, Table, create_engine, select, text

from bench.machine import describe_database, describe_machine, peak_memory_mib
from siyu.kit.db import NAMING_CONVENTION, Base, Database
from siyu.kit.migrate import upgrade
from siyu.models import Corp
from siyu.seed.event_backfill import add_events
from siyu.seed.generator import BULK_TABLES, SeedReport, run_seed
from siyu.seed.scales import SCALES

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/siyu_bench"
SEED = 20260101


@dataclass
class TableFigures:
    table: str
    rows: int
    seconds: float
    reference_seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def reference_rate(self) -> float:
        return self.rows / self.reference_seconds if self.reference_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.reference_rate if self.reference_rate else 0.0


def reference_table(name: str) -> Table:
    """A twin of table ``name`` (``ref_<name>``) with the same columns, indexes and constraints,
    foreign keys still pointing at the real parent tables."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    twin = Base.metadata.tables[name].to_metadata(metadata, name=f"ref_{name}")
    for item in (*twin.constraints, *twin.indexes):
        if isinstance(item.name, str) and not item.name.startswith("ref_"):
            # constraint and index names are schema-wide on PostgreSQL and SQLite
            item.name = f"ref_{item.name}"
    return twin


def measure_reference(database: Database, corp_id: int, table_name: str,
                      limit: int | None = None) -> tuple[int, float]:
    """Rows of the corp in ``table_name`` and the seconds the database takes to insert them again
    into a twin table (creation and removal of the twin not counted); with ``limit``, only the
    first ``limit`` rows by id (a sample of a big table)."""
    source = Base.metadata.tables[table_name]
    twin = reference_table(table_name)
    columns = ", ".join(f'"{c.name}"' for c in source.columns)
    with database.engine.begin() as connection:
        twin.drop(connection, checkfirst=True)
        twin.create(connection)
    started = perf_counter()
    with database.engine.begin() as connection:
        rows = connection.execute(text(
            f'INSERT INTO "{twin.name}" ({columns}) SELECT {columns} FROM "{table_name}" '
            f"WHERE corp_id = :corp" + ("" if limit is None else f" ORDER BY id LIMIT {int(limit)}")),
            {"corp": corp_id}).rowcount
    seconds = perf_counter() - started
    with database.engine.begin() as connection:
        twin.drop(connection)
    return rows, seconds


#: the reference copies at most this many events (the first by id) and its rate stands for all
EVENT_SAMPLE = 2_000_000


def compare(database: Database, report: SeedReport) -> list[TableFigures]:
    figures = []
    for table in BULK_TABLES:
        timing = report.tables[table]
        with database.session() as session:
            stored = session.scalar(text(f'SELECT count(*) FROM "{table}" WHERE corp_id = :corp'),
                                    {"corp": report.corp_id})
        if stored != timing.rows:
            raise AssertionError(f"{table}: seeded {timing.rows} rows but found {stored}")
        limit = EVENT_SAMPLE if table == "event" and stored > EVENT_SAMPLE else None
        copied, reference_seconds = measure_reference(database, report.corp_id, table, limit)
        # a sampled reference is scaled to the whole table at its own rate
        figures.append(TableFigures(table, stored, timing.seconds, reference_seconds * stored / copied))
    return figures


def print_figures(title: str, database: Database, report: SeedReport, figures: list[TableFigures]) -> None:
    print()
    print(f"## {title}")
    print(f"machine:  {describe_machine()}")
    print(f"database: {describe_database(database.engine)}")
    print(f"{'table':<16}{'rows':>12}{'siyu s':>9}{'siyu rows/s':>13}{'ref s':>9}{'ref rows/s':>13}"
          f"{'ratio':>8}")
    for f in figures:
        print(f"{f.table:<16}{f.rows:>12,}{f.seconds:>9.1f}{f.rate:>13,.0f}{f.reference_seconds:>9.1f}"
              f"{f.reference_rate:>13,.0f}{f.ratio:>8.2f}")
    rows = sum(f.rows for f in figures)
    seconds = sum(f.seconds for f in figures)
    reference = sum(f.reference_seconds for f in figures)
    print(f"{'bulk tables':<16}{rows:>12,}{seconds:>9.1f}{rows / seconds:>13,.0f}{reference:>9.1f}"
          f"{rows / reference:>13,.0f}{(rows / seconds) / (rows / reference):>8.2f}")
    print(f"whole seed (organisation, plan, bulk tables, commit, analyze): {report.seconds:.1f} s; "
          f"peak memory of the process {peak_memory_mib():,.0f} MiB")


def run_sqlite_demo() -> int:
    folder = tempfile.mkdtemp(prefix="siyu-seed-bench-")
    url = f"sqlite:///{folder}/siyu.db"
    try:
        upgrade(url)
        database = Database(url)
        try:
            report = run_seed(database, scale="demo", corp_slug=None, seed=SEED, echo=print,
                              interactive=False)
            print_figures("seed, demo scale, SQLite", database, report, compare(database, report))
        finally:
            database.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _prepare_postgres(url: str, recreate: bool) -> None:
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if recreate:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": name}).first()
            if exists is None:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


def run_postgres(url: str, scale: str, recreate: bool) -> int:
    _prepare_postgres(url, recreate)
    upgrade(url)
    database = Database(url)
    try:
        with database.session() as session:
            existing = session.scalar(select(Corp.id).where(Corp.slug == "xianguo"))
        if existing is not None:
            print(f"{url} already holds the brand; nothing measured (pass --recreate to drop the database "
                  "and measure a fresh seed)")
            return 0
        report = run_seed(database, scale=scale, corp_slug=None, seed=SEED, echo=print, interactive=False)
        print_figures(f"seed, {scale} scale, PostgreSQL", database, report, compare(database, report))
    finally:
        database.dispose()
    return 0


def run_postgres_events(url: str, scale: str) -> int:
    """Events for a brand seeded without them (``siyu.seed.event_backfill``), resumable; then the
    reference on a sample of the events."""
    database = Database(url)
    try:
        report = add_events(database, corp_slug="xianguo", total=SCALES[scale].events, seed=SEED, echo=print)
        print(f"events written {report.written:,} in {report.seconds:.1f} s ({report.rate:,.0f} rows/s); "
              f"{report.existing:,} were there before; peak memory {peak_memory_mib():,.0f} MiB")
        if report.written:
            copied, seconds = measure_reference(database, report.corp_id, "event", EVENT_SAMPLE)
            print(f"reference INSERT … SELECT of the first {copied:,} events: {seconds:.1f} s "
                  f"({copied / seconds:,.0f} rows/s); ratio {report.rate / (copied / seconds):.2f}")
        print(f"database: {describe_database(database.engine)}")
    finally:
        database.dispose()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="run one of the two measurements")
    parser.add_argument("--url", default=os.environ.get("SIYU_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="PostgreSQL database to seed (created if missing; default: %(default)s)")
    parser.add_argument("--scale", default="bench", help="scale of the PostgreSQL run (default: bench)")
    parser.add_argument("--recreate", action="store_true",
                        help="drop and recreate the PostgreSQL database first")
    parser.add_argument("--events-only", action="store_true",
                        help="add the events to a brand seeded without them (resumable), PostgreSQL only")
    args = parser.parse_args(argv)
    if args.events_only:
        return run_postgres_events(args.url, args.scale)
    status = 0
    if args.only in (None, "sqlite"):
        status |= run_sqlite_demo()
    if args.only in (None, "postgres"):
        status |= run_postgres(args.url, args.scale, args.recreate)
    return status
