"""The full trait recompute (order aggregates + R/F/M scores + lifecycle) against a hand-written
DuckDB query over the same data.

    python -m bench rfm [--database-url postgresql://…/siyu_bench] [--corp-id N] [--in-place] [--no-record]

The data is the bench population (``siyu seed --scale bench``: 1 M customers, 10 M orders). By
default the benchmark copies that database (``CREATE DATABASE … TEMPLATE``), migrates the copy to
the current schema and drops it at the end, so the shared bench database is never written;
``--in-place`` runs on the given database, which must already be at the current schema: its trait
rows of the corp are deleted for the empty-table run and end as the last recompute wrote them (the
predicted-value columns, which the recompute does not write, are kept aside and put back), i.e. as a
normal recompute would leave them.

siyu's side is ``siyu.customer.traits.recompute_corp`` in one transaction, committed, as the job
runs it: every live customer's aggregates staged in one pass over the corp's orders, the cut points
measured on them, every trait row written with its scores. It runs on an empty trait table (every
row inserted), then — after a ``VACUUM ANALYZE``, as autovacuum would have done by the next night —
twice more at the same moment (the steady state of a nightly repair: every aggregate recomputed,
unchanged rows not rewritten; the better run is reported).

The reference is one DuckDB statement (``DUCKDB_QUERY``) computing the same traits — the same
aggregates, favourites with the same tie rule, the same percentile_disc cut points, scores, classes
and stages — into a table, in this process, with as many threads as the machine has cores. Loading
DuckDB (PostgreSQL ``COPY`` to CSV, then ``read_csv``) is timed apart and excluded from the ratio.
Both results are then compared row by row; the benchmark fails if a single trait differs.

Last, incremental maintenance: 20,000 random customers get one new order each and
``mark_customers_changed`` recomputes them, in a transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from sqlalchemy import create_engine, text

from bench.machine import describe_database, describe_machine, drop_database

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
COLUMNS = ("customer_id", "first_order_at", "last_order_at", "order_count", "total_spend", "average_spend",
           "refund_total", "favourite_category", "favourite_store_id", "channels", "recency_score",
           "frequency_score", "monetary_score", "rfm_class", "lifecycle_stage")

DUCKDB_QUERY = """
CREATE OR REPLACE TABLE duck_traits AS
WITH o AS (
    SELECT customer_id, status IN ('paid', 'shipped', 'completed') AS counted, category, store_id, platform,
           amount, refund_amount, paid_at
    FROM orders
),
totals AS (
    SELECT customer_id,
           min(paid_at) FILTER (WHERE counted) AS first_order_at,
           max(paid_at) FILTER (WHERE counted) AS last_order_at,
           count(*) FILTER (WHERE counted) AS order_count,
           sum(amount - refund_amount) FILTER (WHERE counted) AS total_spend,
           sum(refund_amount) AS refund_total,
           list_sort(list_distinct(list(platform) FILTER (WHERE counted))) AS channels
    FROM o GROUP BY customer_id
),
-- the most frequent value, ties to the smallest: the minimum of (-count, value)
favourite_category AS (
    SELECT customer_id, min({'n': -n, 'v': category}).v AS category
    FROM (SELECT customer_id, category, count(*) AS n FROM o WHERE counted AND category IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id
),
favourite_store AS (
    SELECT customer_id, min({'n': -n, 'v': store_id}).v AS store_id
    FROM (SELECT customer_id, store_id, count(*) AS n FROM o WHERE counted AND store_id IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id
),
traits AS MATERIALIZED (
    SELECT c.id AS customer_id, t.first_order_at, t.last_order_at, coalesce(t.order_count, 0) AS order_count,
           coalesce(t.total_spend, 0)::DECIMAL(14, 2) AS total_spend,
           -- in whole cents, rounded half away from zero like PostgreSQL's numeric round (a DOUBLE
           -- division could land a half cent on the wrong side)
           CASE WHEN t.order_count > 0
                THEN (sign(t.total_spend) * ((abs(t.total_spend * 100)::BIGINT * 2 + t.order_count)
                                             // (2 * t.order_count)))::DECIMAL(14, 0) / 100
                ELSE 0 END::DECIMAL(12, 2) AS average_spend,
           coalesce(t.refund_total, 0)::DECIMAL(14, 2) AS refund_total, fc.category AS favourite_category,
           fs.store_id AS favourite_store_id, coalesce(t.channels, []) AS channels,
           epoch($now) - epoch(t.last_order_at) AS recency_seconds
    FROM customers c LEFT JOIN totals t ON t.customer_id = c.id
    LEFT JOIN favourite_category fc ON fc.customer_id = c.id LEFT JOIN favourite_store fs ON fs.customer_id = c.id
),
-- percentile_disc cut points among buyers (the value at row ceil(q·n))
cuts AS (
    SELECT quantile_disc(recency_seconds, [0.2, 0.4, 0.6, 0.8]) AS r,
           quantile_disc(order_count, [0.2, 0.4, 0.6, 0.8]) AS f,
           quantile_disc(total_spend, [0.2, 0.4, 0.6, 0.8]) AS m
    FROM traits WHERE order_count > 0
),
scored AS MATERIALIZED (
    SELECT t.*,
        CASE WHEN order_count > 0 THEN 5 - ((recency_seconds > r[1])::INT + (recency_seconds > r[2])::INT
                                           + (recency_seconds > r[3])::INT + (recency_seconds > r[4])::INT) END
            AS recency_score,
        CASE WHEN order_count > 0 THEN 1 + (order_count > f[1])::INT + (order_count > f[2])::INT
                                         + (order_count > f[3])::INT + (order_count > f[4])::INT END AS frequency_score,
        CASE WHEN order_count > 0 THEN 1 + (total_spend > m[1])::INT + (total_spend > m[2])::INT
                                         + (total_spend > m[3])::INT + (total_spend > m[4])::INT END AS monetary_score
    FROM traits t, cuts
),
-- "above the corp's mean score": from the lowest integer score above sum / buyers
high AS (
    SELECT sum(recency_score) // count(*) + 1 AS r, sum(frequency_score) // count(*) + 1 AS f,
           sum(monetary_score) // count(*) + 1 AS m
    FROM scored WHERE order_count > 0
)
SELECT s.* EXCLUDE (recency_seconds),
    CASE WHEN order_count > 0 THEN
        CASE WHEN monetary_score >= high.m THEN 'important_' ELSE 'general_' END ||
        CASE WHEN recency_score >= high.r AND frequency_score >= high.f THEN 'value'
             WHEN recency_score >= high.r THEN 'develop'
             WHEN frequency_score >= high.f THEN 'keep' ELSE 'retain' END
    END AS rfm_class,
    CASE WHEN order_count = 0 THEN 'prospect'
         WHEN first_order_at > $now - to_days(CAST($new_days AS INTEGER)) THEN 'new'
         WHEN last_order_at >= $now - to_days(CAST($active_days AS INTEGER)) THEN 'active'
         WHEN last_order_at >= $now - to_days(CAST($lost_days AS INTEGER)) THEN 'dormant'
         ELSE 'lost' END AS lifecycle_stage
FROM scored s, high
"""

#: Rows of one side missing or different on the other (compared on every column above).
DIFFERENCES = """
SELECT count(*) FROM (
    (SELECT * FROM pg_traits EXCEPT SELECT * FROM duck_result)
    UNION ALL
    (SELECT * FROM duck_result EXCEPT SELECT * FROM pg_traits)
)
"""


@dataclass
class Figures:
    machine: str
    database: str
    customers: int
    orders: int
    export_seconds: float
    load_seconds: float
    siyu_cold_seconds: float
    siyu_warm_seconds: float
    duckdb_seconds: float
    differences: int
    incremental_customers: int = 0
    incremental_seconds: float = 0.0


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _copy_database(url: str) -> tuple[str, str]:
    """A migrated copy of the bench database (the copy needs nobody connected to the source)."""
    from siyu.kit.migrate import upgrade

    source = url.rsplit("/", 1)[1]
    name = f"siyu_bench_rfm_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(_sqlalchemy_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    admin.dispose()
    copy = url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(_sqlalchemy_url(copy))
    return copy, name


def _copy_out(url: str, query: str, path: Path) -> None:
    with (psycopg.connect(url) as connection, connection.cursor() as cursor, path.open("wb") as file,
          cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy):
        for chunk in copy:
            file.write(chunk)


def _utc_text(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


def _load_duckdb(url: str, corp_id: int, folder: Path) -> tuple[duckdb.DuckDBPyConnection, float, float]:
    started = time.perf_counter()
    _copy_out(url, f"SELECT o.customer_id, o.status, o.category, o.store_id, o.platform, o.amount, o.refund_amount, "
                   f"{_utc_text('o.paid_at')} FROM customer_order o JOIN customer c ON c.id = o.customer_id "
                   f"WHERE o.corp_id = {corp_id} AND c.merged_into_id IS NULL", folder / "orders.csv")
    _copy_out(url, f"SELECT id FROM customer WHERE corp_id = {corp_id} AND merged_into_id IS NULL",
              folder / "customers.csv")
    exported = time.perf_counter()
    duck = duckdb.connect(config={"threads": os.cpu_count() or 1})
    duck.execute(f"""CREATE TABLE orders AS SELECT * FROM read_csv('{folder / "orders.csv"}', header = false,
        columns = {{'customer_id': 'BIGINT', 'status': 'VARCHAR', 'category': 'VARCHAR', 'store_id': 'BIGINT',
                    'platform': 'VARCHAR', 'amount': 'DECIMAL(12,2)', 'refund_amount': 'DECIMAL(12,2)',
                    'paid_at': 'TIMESTAMP'}})""")
    duck.execute(f"""CREATE TABLE customers AS SELECT * FROM read_csv('{folder / "customers.csv"}', header = false,
        columns = {{'id': 'BIGINT'}})""")
    return duck, exported - started, time.perf_counter() - exported


def _siyu_recompute(database, corp_id: int, clock) -> float:
    from siyu.customer.traits import recompute_corp

    started = time.perf_counter()
    with database.session() as session:
        recompute_corp(session, corp_id, clock=clock)
    return time.perf_counter() - started


SAVED_PREDICTIONS = "bench_rfm_saved_predictions"
PREDICTIONS = ("probability_alive", "expected_purchases_90d", "expected_average_spend", "predicted_value_90d")


def _restore_predictions(database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(
            f"UPDATE customer_trait t SET {', '.join(f'{c} = s.{c}' for c in PREDICTIONS)} "
            f"FROM {SAVED_PREDICTIONS} s WHERE t.customer_id = s.customer_id"))
        connection.execute(text(f"DROP TABLE {SAVED_PREDICTIONS}"))


#: customers given one new order each for the incremental measurement
INCREMENTAL_CUSTOMERS = 20_000


def _incremental(database, corp_id: int, clock, customers: int = INCREMENTAL_CUSTOMERS) -> tuple[int, float]:
    """Trait maintenance as ingest drives it: ``customers`` random customers each get one new order
    (inserted in the transaction, not timed), then ``mark_customers_changed`` — the call order
    import and event expansion make — recomputes them. The transaction is rolled back, so the bench
    brand keeps its orders and traits. Returns (customers, seconds)."""
    from siyu.customer.traits import mark_customers_changed

    with database.session() as session:
        ids = list(session.execute(text(
            "SELECT id FROM customer WHERE corp_id = :c AND merged_into_id IS NULL ORDER BY random() LIMIT :n"),
            {"c": corp_id, "n": customers}).scalars())
        session.execute(text(
            "INSERT INTO customer_order (corp_id, customer_id, platform, shop, order_no, status, category, amount, "
            "item_count, refund_amount, paid_at, created_at, updated_at, source) "
            "SELECT :c, id, 'miniprogram', 'bench-incremental', 'INC' || id, 'paid', '日常水果', 36.50, 1, 0, "
            ":now, :now, :now, 'bench' FROM unnest(CAST(:ids AS bigint[])) AS id"),
            {"c": corp_id, "ids": ids, "now": clock.now()})
        started = time.perf_counter()
        mark_customers_changed(session, corp_id, ids, clock=clock)
        session.flush()
        seconds = time.perf_counter() - started
        session.rollback()
    return len(ids), seconds


def _compare(url: str, corp_id: int, duck: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """How many trait rows differ between the two engines (0 when they agree on every column)."""
    names = ", ".join(name if name != "channels" else "channels::text"
                      for name in COLUMNS if name not in ("first_order_at", "last_order_at"))
    _copy_out(url, f"SELECT {names}, {_utc_text('first_order_at')}, {_utc_text('last_order_at')} "
                   f"FROM customer_trait WHERE corp_id = {corp_id}", folder / "traits.csv")
    duck.execute(f"""CREATE OR REPLACE TABLE pg_traits AS SELECT * FROM read_csv('{folder / "traits.csv"}',
        header = false, columns = {{'customer_id': 'BIGINT', 'order_count': 'BIGINT',
        'total_spend': 'DECIMAL(14,2)', 'average_spend': 'DECIMAL(12,2)', 'refund_total': 'DECIMAL(14,2)',
        'favourite_category': 'VARCHAR', 'favourite_store_id': 'BIGINT', 'channels': 'VARCHAR',
        'recency_score': 'INTEGER', 'frequency_score': 'INTEGER', 'monetary_score': 'INTEGER',
        'rfm_class': 'VARCHAR', 'lifecycle_stage': 'VARCHAR', 'first_order_at': 'TIMESTAMP',
        'last_order_at': 'TIMESTAMP'}})""")
    duck.execute("""CREATE OR REPLACE TABLE duck_result AS SELECT customer_id, order_count, total_spend, average_spend,
        refund_total, favourite_category, favourite_store_id, to_json(channels)::VARCHAR AS channels,
        recency_score, frequency_score, monetary_score, rfm_class, lifecycle_stage, first_order_at, last_order_at
        FROM duck_traits""")
    return duck.execute(DIFFERENCES).fetchone()[0]


def run(url: str, corp_id: int | None) -> Figures:
    from siyu.kit.clock import TestClock
    from siyu.kit.db import Database

    database = Database(url)
    with database.engine.connect() as connection:
        if corp_id is None:
            corp_id = connection.execute(text(
                "SELECT corp_id FROM customer GROUP BY corp_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        customers = connection.execute(text("SELECT count(*) FROM customer WHERE corp_id = :c AND merged_into_id IS NULL"),
                                       {"c": corp_id}).scalar_one()
        orders = connection.execute(text("SELECT count(*) FROM customer_order WHERE corp_id = :c"),
                                    {"c": corp_id}).scalar_one()
        settings = connection.execute(text("SELECT new_days, active_days, lost_days FROM corp_trait_settings "
                                           "WHERE corp_id = :c"), {"c": corp_id}).one_or_none() or (30, 90, 365)
        # The predicted-value columns are not the recompute's: keep them aside and put them back after,
        # so an in-place run leaves the traits as a normal recompute would.
        connection.execute(text(f"DROP TABLE IF EXISTS {SAVED_PREDICTIONS}"))
        connection.execute(text(
            f"CREATE TABLE {SAVED_PREDICTIONS} AS SELECT customer_id, {', '.join(PREDICTIONS)} FROM customer_trait "
            "WHERE corp_id = :c AND probability_alive IS NOT NULL"), {"c": corp_id})
        connection.execute(text("DELETE FROM customer_trait WHERE corp_id = :c"), {"c": corp_id})
        connection.commit()
    # An earlier run's rows are dead tuples until vacuumed: the first run must meet an empty table.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM customer_trait"))
    # One moment for both engines: recency and stages are relative to it.
    now = datetime.now(UTC).replace(microsecond=0)
    clock = TestClock(now)
    print(f"corp {corp_id}: {customers:,} live customers, {orders:,} orders; now = {now.isoformat()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="siyu-rfm-") as folder_name:
        folder = Path(folder_name)
        duck, export_seconds, load_seconds = _load_duckdb(url, corp_id, folder)
        print(f"DuckDB loaded (excluded): export {export_seconds:.1f} s, read_csv {load_seconds:.1f} s", flush=True)
        cold = _siyu_recompute(database, corp_id, clock)
        print(f"siyu recompute, empty trait table: {cold:.1f} s", flush=True)
        # What autovacuum does before the next night: the new rows' visibility is settled once.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE customer_trait"))
        warm_runs = [_siyu_recompute(database, corp_id, clock) for _ in range(2)]
        warm = min(warm_runs)
        _restore_predictions(database)
        print(f"siyu recompute, again (steady state): {', '.join(f'{t:.1f}' for t in warm_runs)} s", flush=True)
        parameters = {"now": now.replace(tzinfo=None), "new_days": settings[0], "active_days": settings[1],
                      "lost_days": settings[2]}
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            duck.execute(DUCKDB_QUERY, parameters)
            timings.append(time.perf_counter() - started)
        print(f"DuckDB query: {', '.join(f'{t:.1f}' for t in timings)} s", flush=True)
        differences = _compare(url, corp_id, duck, folder)
    changed, incremental = _incremental(database, corp_id, clock)
    print(f"incremental: {changed:,} customers with a new order each re-aggregated and rescored in "
          f"{incremental:.1f} s ({changed / incremental:,.0f} customers/s); rolled back", flush=True)
    figures = Figures(describe_machine(), describe_database(database.engine), customers, orders, export_seconds,
                      load_seconds, cold, warm, min(timings), differences, changed, incremental)
    database.dispose()
    return figures


def _report(figures: Figures) -> str:
    cold, warm = figures.siyu_cold_seconds / figures.duckdb_seconds, figures.siyu_warm_seconds / figures.duckdb_seconds
    return "\n".join([
        f"## Trait recompute (aggregates + R/F/M) vs DuckDB — {figures.machine}",
        "",
        f"{figures.database}. {figures.customers:,} customers, {figures.orders:,} orders (`python -m bench rfm`).",
        (f"DuckDB load excluded: PostgreSQL COPY to CSV {figures.export_seconds:.1f} s, read_csv "
         f"{figures.load_seconds:.1f} s. Results compared row by row: {figures.differences} differing traits."),
        "",
        "| run | seconds | × DuckDB |",
        "|---|---:|---:|",
        f"| siyu `recompute_corp`, empty trait table | {figures.siyu_cold_seconds:.1f} | {cold:.1f} |",
        f"| siyu `recompute_corp`, steady state (best of 2) | {figures.siyu_warm_seconds:.1f} | {warm:.1f} |",
        f"| DuckDB, one hand-written query (best of 2) | {figures.duckdb_seconds:.1f} | 1.0 |",
        "",
        (f"Incremental (`mark_customers_changed`, one new order for each of {figures.incremental_customers:,} "
         f"random customers, rolled back): {figures.incremental_seconds:.1f} s, "
         f"{figures.incremental_customers / max(figures.incremental_seconds, 1e-9):,.0f} customers/s."),
        "",
    ])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench rfm", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "SIYU_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/siyu_bench"))
    parser.add_argument("--corp-id", type=int, default=None, help="the corp to recompute (default: the largest)")
    parser.add_argument("--in-place", action="store_true", help="run on the database itself (at the current schema)")
    parser.add_argument("--no-record", action="store_true", help="do not append the figures to docs/benchmarks.md")
    options = parser.parse_args(argv)
    name = None
    url = options.database_url
    if not options.in_place:
        url, name = _copy_database(options.database_url)
    try:
        figures = run(url, options.corp_id)
    finally:
        if name is not None:
            drop_database(options.database_url.rsplit("/", 1)[0] + "/postgres", name)
    report = _report(figures)
    print(report)
    if not options.no_record:
        REPORT.parent.mkdir(exist_ok=True)
        with REPORT.open("a", encoding="utf-8") as file:
            file.write("\n" + report)
    if figures.differences:
        print(f"siyu and DuckDB disagree on {figures.differences} traits", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
