"""Events for a brand seeded before the seed generated them, added chunk by chunk and resumable.

``run_seed`` writes a brand's events in the same transaction as everything else. A brand seeded by
an older version has customers and orders but no events; ``add_events`` gives it the scale's events
from what is stored: the customers in id order (the seed's customer numbering), their stored
orders and joining times, and the same budgets, funnels and browsing as ``seed.events``. Each chunk
of customers (with its share of anonymous events) is one committed transaction, so a run that is
stopped resumes after the last committed chunk; a brand that has all its events is left alone.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain, groupby
from operator import itemgetter
from time import perf_counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.kit.clock import get_clock
from siyu.kit.db import Database
from siyu.kit.errors import Conflict, NotFound
from siyu.models import Corp, Customer, Department, DepartmentKind, Event, IngestSource, Order
from siyu.seed.events import (
    EVENT_COLUMNS,
    SOURCE_NAME,
    EventBuilder,
    EventCustomer,
    anonymous_share,
    plan_event_budgets,
    split_total,
)
from siyu.seed.generator import create_event_source
from siyu.seed.orders import ORDER_COLUMNS
from siyu.seed.scales import history_window
from siyu.seed.seasonality import Calendar
from siyu.seed.sinks import writer_for

#: customers per committed chunk
CHUNK = 5_000
#: a progress line every so many chunks
REPORT_EVERY = 20


@dataclass
class BackfillReport:
    corp_id: int
    #: events the brand should have, events written by this run, events it had before
    planned: int
    written: int
    existing: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def add_events(database: Database, *, corp_slug: str, total: int, seed: int,
               echo: Callable[[str], None], chunk: int = CHUNK, max_chunks: int | None = None) -> BackfillReport:
    """Give the brand ``corp_slug`` its ``total`` seeded events, resuming after the last chunk a
    previous run committed; ``max_chunks`` stops after so many chunks (to run it in pieces)."""
    started = perf_counter()
    with database.session() as session:
        corp_id = session.scalar(select(Corp.id).where(Corp.slug == corp_slug))
        if corp_id is None:
            raise NotFound("error.seed_no_brand", slug=corp_slug)
        source_id = _event_source(session, corp_id)
        ids, homes, joined, counts = _customers(session, corp_id)
        store_names = dict(session.execute(select(Department.id, Department.name).where(
            Department.corp_id == corp_id, Department.kind == DepartmentKind.store)).all())
        latest = session.scalar(select(func.max(Event.customer_id)).where(Event.corp_id == corp_id))
        existing = session.scalar(select(func.count()).select_from(Event).where(Event.corp_id == corp_id))
    identified, anonymous = split_total(total)
    budgets = plan_event_budgets(counts, identified, random.Random(f"{seed}:event-plan"))
    customers = len(ids)
    first = 0 if latest is None else (bisect_right(ids, latest) + chunk - 1) // chunk * chunk
    if first >= customers:
        echo(f"brand {corp_slug} already has its events ({existing:,}); nothing to do")
        return BackfillReport(corp_id, total, 0, existing, perf_counter() - started)
    done = sum(budgets[:first]) + anonymous_share(anonymous, customers, 0, first)
    if existing != done:
        raise Conflict("error.seed_events_mismatch", slug=corp_slug, existing=f"{existing:,}", expected=f"{done:,}")
    builder = EventBuilder(corp_id=corp_id, source_id=source_id, calendar=Calendar(history_window(get_clock().now())),
                           store_names=store_names,
                           next_number=done)
    remaining = identified + anonymous - done
    echo(f"adding {remaining:,} events to {corp_slug} (customers {first:,} … {customers - 1:,}, "
         f"{existing:,} events there already)")
    written = 0
    for number, low in enumerate(range(first, customers, chunk)):
        if max_chunks is not None and number == max_chunks:
            break
        high = min(customers, low + chunk)
        with database.session() as session:
            orders = _orders(session, corp_id, ids[low], ids[high - 1])
            rng = random.Random(f"{seed}:events:backfill:{low}")
            rows = chain.from_iterable(
                builder.customer_events(rng, EventCustomer(index, ids[index], homes[index] or None,
                                                           joined[index], orders.get(ids[index], ())),
                                        budgets[index]) for index in range(low, high))
            rows = chain(rows, builder.anonymous_events(rng, anonymous_share(anonymous, customers, low, high)))
            written += writer_for(session.connection()).write(Event.__table__, EVENT_COLUMNS, rows,
                                                               lambda _rows: None)
        if (number + 1) % REPORT_EVERY == 0 or high == customers:
            seconds = perf_counter() - started
            echo(f"  events     {written:>11,} / {remaining:,} rows {seconds:>8.1f} s "
                 f"{written / seconds:>11,.0f} rows/s")
    if not database.is_sqlite:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE event")
            connection.commit()
    return BackfillReport(corp_id, total, written, existing, perf_counter() - started)


def _event_source(session: Session, corp_id: int) -> int:
    source_id = session.scalar(select(IngestSource.id).where(IngestSource.corp_id == corp_id,
                                                            IngestSource.name == SOURCE_NAME))
    return create_event_source(session, corp_id, None) if source_id is None else source_id


def _customers(session: Session, corp_id: int) -> tuple[array, array, list, array]:
    """Customer ids in id order, home store ids (0: none), joining times, order counts."""
    ids, homes, joined = array("q"), array("q"), []
    rows = session.execute(select(Customer.id, Customer.home_store_id, Customer.first_seen_at)
                           .where(Customer.corp_id == corp_id).order_by(Customer.id)
                           .execution_options(yield_per=50_000))
    for customer_id, home, first_seen in rows:
        ids.append(customer_id)
        homes.append(home or 0)
        joined.append(first_seen)
    per_customer = dict(session.execute(select(Order.customer_id, func.count()).where(
        Order.corp_id == corp_id, Order.customer_id.is_not(None)).group_by(Order.customer_id)).all())
    return ids, homes, joined, array("i", (per_customer.get(i, 0) for i in ids))


def _orders(session: Session, corp_id: int, first_id: int, last_id: int) -> dict[int, list[tuple]]:
    """The stored orders (``ORDER_COLUMNS``) of customers ``first_id … last_id``, by customer, in
    time order."""
    table = Order.__table__
    rows = session.execute(select(*(table.c[c] for c in ORDER_COLUMNS)).where(
        table.c.corp_id == corp_id, table.c.customer_id.between(first_id, last_id))
        .order_by(table.c.customer_id, table.c.paid_at, table.c.id))
    return {customer_id: list(group) for customer_id, group in groupby(map(tuple, rows), key=itemgetter(1))}
