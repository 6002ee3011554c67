"""``siyu seed`` / ``siyu demo``: generate the fictional fruit retailer 鲜果时光 (slug ``xianguo``).

The brand has HQ → regional branches → city stores → staff, console users for every role,
customers with Chinese names, mobile numbers and WeCom identities, relations to shopping guides,
18 months of orders with seasonality and Pareto/NBD-like repeat buying (see ``plan`` and
``seasonality``), and the Segment-spec events of its mini program and stores, following each
customer's orders (see ``events``). Output is deterministic for a seed and the injected clock.

Idempotency and crash safety come from one transaction: the whole brand is written in a single
unit of work, so it either exists completely or not at all. A seed killed half-way leaves nothing
(SQLite rolls back its WAL, PostgreSQL the transaction) and the next run starts afresh; a corp that
exists is therefore a completed brand, and seeding it again does nothing.
"""

from __future__ import annotations

import random
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain, islice
from time import perf_counter

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from siyu.ingest.keys import new_write_key
from siyu.kit.clock import get_clock
from siyu.kit.db import Database
from siyu.kit.errors import InvalidInput, SiyuError
from siyu.models import Corp, Customer, Event, Identity, IngestSource, Order, Relation
from siyu.seed.brand import BRAND_NAME, CONSOLE_USERS, BrandLayout, create_brand
from siyu.seed.events import (
    EVENT_COLUMNS,
    SOURCE_KIND,
    SOURCE_NAME,
    EventBuilder,
    EventCustomer,
    anonymous_share,
    plan_event_budgets,
    split_total,
)
from siyu.seed.names import NameSource, PhoneNumbers
from siyu.seed.orders import ORDER_COLUMNS, OrderBuilder
from siyu.seed.plan import CustomerPlan, plan_customers
from siyu.seed.population import CUSTOMER_COLUMNS, IDENTITY_COLUMNS, RELATION_COLUMNS, PopulationBuilder
from siyu.seed.progress import SeedProgress, TableTiming
from siyu.seed.scales import SCALES, Scale, Window, history_window
from siyu.seed.seasonality import Calendar
from siyu.seed.sinks import BulkWriter, writer_for

DEMO_CORP_SLUG = "xianguo"
DEMO_ADMIN_USERNAME = "admin"
#: Printed by ``siyu demo``; every demo console user (see ``brand.CONSOLE_USERS``) shares it.
DEMO_ADMIN_PASSWORD = "siyu-demo-2026"
BULK_TABLES = ("customer", "identity", "relation", "customer_order", "event")
#: customers whose orders are generated, written and followed by their events at a time
ORDER_SLICE = 2_000


class UnknownScale(InvalidInput):
    """The requested scale is not one of ``SCALES``."""


class ScaleNeedsPostgres(SiyuError):
    """The bench scale is refused on SQLite before anything is written."""

    status_code = 409
    code = "seed_needs_postgres"


@dataclass
class SeedReport:
    """What a seed run did. ``created`` is False when the brand already existed."""

    slug: str
    corp_id: int
    created: bool
    counts: dict[str, int]
    seconds: float = 0.0
    tables: dict[str, TableTiming] = field(default_factory=dict)


def run_seed(database: Database, *, scale: str, corp_slug: str | None, seed: int, echo: Callable[[str], None],
             interactive: bool | None = None) -> SeedReport:
    """Generate the fruit-retail brand ``corp_slug`` (default ``xianguo``) at ``scale`` (tiny, demo,
    bench) unless it exists. History ends at the injected clock's now. ``interactive`` forces the
    progress bars on or off (default: on when stdout is a terminal)."""
    chosen = check_scale(scale, database.url)
    slug = corp_slug or DEMO_CORP_SLUG
    started = perf_counter()
    with database.session(immediate=True) as session:
        # two processes seeding at once (two ``siyu demo`` starts): the second waits here for the first
        # to commit and then finds the brand. SQLite gets the same from BEGIN IMMEDIATE.
        if not database.is_sqlite:
            lock_key = zlib.crc32(f"seed:{slug}".encode())
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
        existing = session.scalar(select(Corp.id).where(Corp.slug == slug))
        if existing is not None:
            counts = count_rows(session, existing)
            echo(f"brand {slug} already exists ({counts['customer']:,} customers, "
                 f"{counts['customer_order']:,} orders, {counts['event']:,} events); nothing to do")
            return SeedReport(slug, existing, False, counts)
        progress = SeedProgress(echo, interactive=interactive)
        corp_id = _generate(session, chosen, slug, seed, progress, echo)
    if not database.is_sqlite:
        # fresh statistics for the planner: the demo and later benchmarks query these tables at once
        analysed = perf_counter()
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE " + ", ".join(BULK_TABLES))
            connection.commit()
        echo(f"  analyze    {'(statistics)':<15} {'':>16} {perf_counter() - analysed:>8.1f} s")
    seconds = perf_counter() - started
    counts = {name: timing.rows for name, timing in progress.tables.items() if name in BULK_TABLES}
    echo(f"seeded {BRAND_NAME} ({slug}) in {seconds:.1f} s: {counts['customer']:,} customers, "
         f"{counts['customer_order']:,} orders, {counts['event']:,} events")
    echo("  console users: " + ", ".join(f"{u}@{slug}" for u, _role, _name in CONSOLE_USERS)
         + f" / password {DEMO_ADMIN_PASSWORD}")
    return SeedReport(slug, corp_id, True, counts, seconds, dict(progress.tables))


def check_scale(scale: str, database_url: str) -> Scale:
    """The named scale, or an error when it is unknown or too big for the database at the URL."""
    chosen = SCALES.get(scale)
    if chosen is None:
        raise UnknownScale("error.seed_unknown_scale", scale=scale, choices=", ".join(SCALES))
    if chosen.needs_postgres and database_url.startswith("sqlite"):
        raise ScaleNeedsPostgres("error.seed_needs_postgres", scale=scale, customers=f"{chosen.customers:,}",
                                 orders=f"{chosen.orders:,}")
    return chosen


def count_rows(session: Session, corp_id: int) -> dict[str, int]:
    """Rows of the corp in each bulk table."""
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)
                                                .where(model.corp_id == corp_id))
            for model in (Customer, Identity, Relation, Order, Event)}


def _generate(session: Session, scale: Scale, slug: str, seed: int, progress: SeedProgress,
              echo: Callable[[str], None]) -> int:
    now = get_clock().now()
    window = history_window(now)
    calendar = Calendar(window)
    rng = random.Random(seed)
    names = NameSource()
    phones = PhoneNumbers(random.Random(f"{seed}:phones"), scale.customers)
    echo(f"seeding {BRAND_NAME} ({slug}), scale {scale.name}: {scale.stores} stores, {scale.staff:,} staff, "
         f"{scale.customers:,} customers, {scale.orders:,} orders, {scale.events:,} events from "
         f"{window.start} to "
         f"{window.end - timedelta(days=1)}")
    with progress.phase("brand", {"organisation": None}) as phase, phase.timed("organisation"):
        brand = create_brand(session, slug=slug, scale=scale, window=window, rng=rng, names=names,
                             phones=phones, password=DEMO_ADMIN_PASSWORD)
        session.flush()
        departments = 1 + len(brand.branch_ids) + len(brand.stores)
        phase.advance("organisation", 1 + departments + len(brand.staff) + len(brand.users))
    with progress.phase("plan", {"customer plan": scale.customers}) as phase, phase.timed("customer plan"):
        plan = plan_customers(scale, brand, calendar, rng)
        phase.advance("customer plan", scale.customers)
    source_id = create_event_source(session, brand.corp_id, now)
    writer = writer_for(session.connection())
    customer_ids = _write_population(writer, scale, seed, plan, brand, window, names, phones, progress)
    _write_orders_and_events(writer, scale, slug, seed, plan, brand, calendar, customer_ids, source_id, progress)
    return brand.corp_id


def create_event_source(session: Session, corp_id: int, now: datetime | None) -> int:
    """The mini program's ingest source the seeded events come from. Its write key is thrown away:
    an operator rotates it in the console to send real events."""
    _secret, key_hash, prefix = new_write_key()
    source = IngestSource(corp_id=corp_id, name=SOURCE_NAME, kind=SOURCE_KIND, write_key_hash=key_hash,
                          write_key_prefix=prefix, enabled=True, last_event_at=now)
    session.add(source)
    session.flush()
    return source.id


def _write_population(writer: BulkWriter, scale: Scale, seed: int, plan: CustomerPlan, brand: BrandLayout,
                      window: Window, names: NameSource, phones: PhoneNumbers,
                      progress: SeedProgress) -> array:
    builder = PopulationBuilder(corp_id=brand.corp_id, seed=seed, plan=plan, brand=brand, window=window,
                                names=names, phones=phones)
    customer_ids = array("q")
    totals = {"customer": scale.customers, "identity": None, "relation": None}
    with progress.phase("customers", totals) as phase:
        for chunk, start in enumerate(range(0, scale.customers, scale.chunk)):
            stop = min(scale.customers, start + scale.chunk)
            with phase.timed("customer"):
                ids = writer.reserve_ids(Customer.__table__, stop - start)
                customers = builder.customers(chunk, start, ids)
                writer.write(Customer.__table__, CUSTOMER_COLUMNS, customers, phase.reporter("customer"))
            customer_ids.extend(ids)
            with phase.timed("identity"):
                identities, wecom_ids = builder.identities(chunk, start, customers)
                writer.write(Identity.__table__, IDENTITY_COLUMNS, identities, phase.reporter("identity"))
            with phase.timed("relation"):
                relations = builder.relations(chunk, start, customers, wecom_ids)
                writer.write(Relation.__table__, RELATION_COLUMNS, relations, phase.reporter("relation"))
    return customer_ids


def _write_orders_and_events(writer: BulkWriter, scale: Scale, slug: str, seed: int, plan: CustomerPlan,
                             brand: BrandLayout, calendar: Calendar, customer_ids: array, source_id: int,
                             progress: SeedProgress) -> None:
    """Orders, then the events that follow them, ``ORDER_SLICE`` customers at a time (one COPY of
    orders and one of events per slice, so only a slice's orders are held in memory)."""
    orders = OrderBuilder(corp_id=brand.corp_id, slug=slug, seed=seed, plan=plan, brand=brand, calendar=calendar)
    events = EventBuilder(corp_id=brand.corp_id, source_id=source_id, calendar=calendar,
                          store_names={store.id: store.name for store in brand.stores})
    identified, anonymous = split_total(scale.events)
    budgets = plan_event_budgets(plan.orders, identified, random.Random(f"{seed}:event-plan"))
    origin = calendar.window.start_utc
    totals = {"customer_order": scale.orders, "event": scale.events}
    with progress.phase("orders", totals) as phase:
        for chunk, start in enumerate(range(0, scale.customers, scale.chunk)):
            stop = min(scale.customers, start + scale.chunk)
            rng = random.Random(f"{seed}:events:{chunk}")
            rows = orders.build(chunk, start, stop, customer_ids[start:stop])
            for low in range(start, stop, ORDER_SLICE):
                high = min(stop, low + ORDER_SLICE)
                with phase.timed("customer_order"):
                    slice_orders = [list(islice(rows, plan.orders[index])) for index in range(low, high)]
                    writer.write(Order.__table__, ORDER_COLUMNS, chain.from_iterable(slice_orders),
                                 phase.reporter("customer_order"))
                with phase.timed("event"):
                    customers = (EventCustomer(index, customer_ids[index],
                                               brand.stores[plan.store[index]].id,
                                               origin + timedelta(days=plan.joined[index], hours=12),
                                               slice_orders[index - low]) for index in range(low, high))
                    rows_of_events = chain.from_iterable(
                        events.customer_events(rng, customer, budgets[customer.index]) for customer in customers)
                    if high == stop:
                        rows_of_events = chain(rows_of_events, events.anonymous_events(
                            rng, anonymous_share(anonymous, scale.customers, start, stop)))
                    writer.write(Event.__table__, EVENT_COLUMNS, rows_of_events, phase.reporter("event"))


__all__ = ["DEMO_ADMIN_PASSWORD", "DEMO_ADMIN_USERNAME", "DEMO_CORP_SLUG", "SeedReport", "ScaleNeedsPostgres",
           "UnknownScale", "check_scale", "count_rows", "run_seed"]
