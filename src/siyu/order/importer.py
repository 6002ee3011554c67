"""Streaming import of an order file: CSV or Excel in, orders and a rejects file out.

Rows flow through in chunks (5 000 rows by default) and each chunk is one transaction: its good
orders are upserted (``service.upsert_orders``), its bad rows appended to the rejects file, the
import's counters advanced. Reading and validating the next chunks happens in a second thread while
the database writes the current one (a bounded queue of two chunks between them). Memory is bounded
by the chunk, never by the file: CSV streams from the disk, XLSX through ``siyu.order.xlsx`` (a
megabyte of the sheet's XML at a time); only legacy XLS goes through python-calamine, which holds the
whole sheet in memory.

The lines of one order (item-level exports: JD, Youzan, Douyin) are adjacent in the file; a chunk
never splits them, and an order is imported with all its lines or rejected with all of them.

Traits: an import refreshes the traits of the customers whose orders it inserted or changed once,
after its last chunk (every ``TRAIT_FLUSH`` customers on very large files) — a customer with orders
spread over the file is recomputed once, not once per chunk.

A retried job resumes after the last committed chunk: the import's ``total_rows`` says how many rows
are done, and the rejects file is cut back to the rejects those rows produced. The traits owed for
the chunks before the crash are not in memory any more, so a resumed import refreshes the customers
of every order written since the import started.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import update
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.jobs import SessionScope
from siyu.models.order import OrderImport
from siyu.order import repository, service
from siyu.order.presets import MissingColumns, Preset, map_columns, preset_for
from siyu.order.reading import RejectsWriter, SourceFile, UnreadableFile, blank_row
from siyu.order.validation import OrderDraft, OrderLine, Problem, RowReader, cell_text, merge_lines

CHUNK_ROWS = 5000
#: pending customers after which an import refreshes their traits before going on
TRAIT_FLUSH = 500_000
#: (rows done, fraction of the file done or None) after each chunk
ProgressCallback = Callable[[int, float | None], None]


# --- one chunk ------------------------------------------------------------------------------------

Group = list[tuple[int, list]]
#: a row read: number, cells, the line (None if refused) and its problems
Entry = tuple[int, list, OrderLine | None, list[Problem]]


@dataclass
class ChunkResult:
    drafts: list[OrderDraft] = field(default_factory=list)
    rejected: list[tuple[int, list, list[Problem]]] = field(default_factory=list)
    rows: int = 0


class ChunkReader:
    """Reads chunks of row groups into orders, resolving POS store codes and staff userids."""

    def __init__(self, preset: Preset, reader: RowReader, corp_id: int, shop: str) -> None:
        self.preset, self.reader, self.corp_id, self.shop = preset, reader, corp_id, shop
        self.stores: dict[str, int | None] = {}
        self.staff: dict[str, int | None] = {}
        self.refund_column = reader.columns.header_of("refund_amount" if "refund_amount" in reader.columns.indexes
                                                      else "amount")
        headers = reader.columns.indexes
        self.store_column = reader.columns.header_of("store_code") if "store_code" in headers else ""
        self.staff_column = reader.columns.header_of("staff_userid") if "staff_userid" in headers else ""

    def _look_up(self, session: Session, lines: list[OrderLine]) -> None:
        codes = {line.store_code for line in lines if line.store_code and line.store_code not in self.stores}
        if codes:
            found = repository.stores_by_code(session, self.corp_id, codes)
            self.stores.update({code: found.get(code) for code in codes})
        userids = {line.staff_userid for line in lines if line.staff_userid and line.staff_userid not in self.staff}
        if userids:
            found = repository.staff_by_userid(session, self.corp_id, userids)
            self.staff.update({userid: found.get(userid) for userid in userids})

    def parse(self, groups: list[Group]) -> list[list[Entry]]:
        """Every row of the chunk read on its own (no database needed)."""
        return [[(number, values, *self.reader.read(number, values)) for number, values in group]
                for group in groups]

    def resolve(self, session: Session, parsed: list[list[Entry]]) -> ChunkResult:
        """Store codes and staff userids looked up, lines merged into orders, bad groups rejected."""
        result = ChunkResult(rows=sum(len(entries) for entries in parsed))
        self._look_up(session, [line for entries in parsed for _, _, line, _ in entries if line is not None])
        for entries in parsed:
            self._order(entries, result)
        return result

    def _order(self, entries: list[Entry], result: ChunkResult) -> None:
        bad = False
        for number, _, line, problems in entries:
            if line is None:
                bad = True
                continue
            if line.store_code and self.stores.get(line.store_code) is None:
                problems.append(Problem(number, self.store_column, "order.reject.unknown_store", line.store_code))
                bad = True
            if line.staff_userid and self.staff.get(line.staff_userid) is None:
                problems.append(Problem(number, self.staff_column, "order.reject.unknown_staff",
                                        line.staff_userid))
                bad = True
        draft, merge_problems = None, []
        if not bad:
            lines = [line for *_, line, _ in entries if line is not None]
            first = lines[0]
            shop = self.shop
            if not shop and self.preset.shop_from_store:
                shop = first.store_code or ""  # till order numbers are unique per store
            draft, merge_problems = merge_lines(self.preset, shop, lines, self.refund_column)
            if draft is not None:
                draft.store_id = self.stores.get(first.store_code) if first.store_code else None
                draft.staff_id = self.staff.get(first.staff_userid) if first.staff_userid else None
                result.drafts.append(draft)
                return
        order_column = self.reader.columns.header_of("order_no")
        for index, (number, values, line, problems) in enumerate(entries):
            if index == 0 and merge_problems:
                problems = problems + merge_problems
            if not problems:
                problems = [Problem(number, order_column, "order.reject.other_line", line.order_no if line else "")]
            result.rejected.append((number, values, problems))


def chunks(rows: Iterator[tuple[int, list]], reader: RowReader, lines_per_order: bool,
           size: int) -> Iterator[list[Group]]:
    """Non-blank data rows in groups (the lines of one order), gathered into chunks of about
    ``size`` rows that never split a group."""
    chunk: list[Group] = []
    count = 0
    group: Group = []
    current = None
    for number, values in rows:
        if blank_row(values):
            continue
        if lines_per_order:
            order_no = reader.order_no_of(values)
            if group and order_no and order_no == current:
                group.append((number, values))
                continue
            current = order_no
        if group:
            chunk.append(group)
            count += len(group)
            if count >= size:
                yield chunk
                chunk, count = [], 0
        group = [(number, values)]
    if group:
        chunk.append(group)
    if chunk:
        yield chunk


# --- the run --------------------------------------------------------------------------------------

def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _fail(sessions: SessionScope, import_id: int, clock: Clock, error: str) -> None:
    with sessions() as session:
        session.execute(update(OrderImport).where(OrderImport.id == import_id).values(
            status="failed", error=error, finished_at=clock.now(), updated_at=clock.now()))


def mark_failed(sessions: SessionScope, import_id: int, clock: Clock, detail: str) -> None:
    """Record an import that cannot finish (its job gave up)."""
    _fail(sessions, import_id, clock, service.encode_error("order.import.crashed", detail=detail[:500]))


def _record(session: Session, import_id: int, result: ChunkResult, outcome: service.UpsertOutcome,
            clock: Clock) -> None:
    """Advance the import's counters (in SQL) and extend its sample of problems."""
    record = session.get(OrderImport, import_id)
    assert record is not None
    sample = list(record.rejects_sample or [])
    for _, _, problems in result.rejected:
        for problem in problems:
            if len(sample) >= service.SAMPLE_SIZE:
                break
            sample.append(problem.as_sample())
    session.execute(update(OrderImport).where(OrderImport.id == import_id).values(
        total_rows=OrderImport.total_rows + result.rows,
        inserted_rows=OrderImport.inserted_rows + outcome.inserted,
        updated_rows=OrderImport.updated_rows + outcome.updated,
        unchanged_rows=OrderImport.unchanged_rows + outcome.unchanged,
        rejected_rows=OrderImport.rejected_rows + len(result.rejected),
        rejects_sample=sample, updated_at=clock.now()).execution_options(synchronize_session=False))


_DONE = object()


def read_ahead(items: Iterator, depth: int = 2) -> Iterator:
    """``items`` produced by a thread of its own, at most ``depth`` ahead of the consumer: the file
    is read and validated while the database writes. An error in the producer is raised here."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as error:  # noqa: BLE001 — handed to the consumer, raised there
            slots.put(error)

    producer = threading.Thread(target=produce, name="order-import-reader", daemon=True)
    producer.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join(timeout=5)


@dataclass
class _Start:
    corp_id: int
    shop: str
    mapping: dict[str, str]
    preset: Preset
    path: Path
    rejects_path: Path
    done: int
    rejected: int
    zone: ZoneInfo
    started_at: object


def _start(sessions: SessionScope, import_id: int, clock: Clock) -> _Start | None:
    with sessions() as session:
        record = repository.import_for_job(session, import_id)
        if record is None or record.status in ("done", "failed"):
            return None
        record.status = "running"
        record.started_at = record.started_at or clock.now()
        return _Start(record.corp_id, record.shop, dict(record.mapping or {}), preset_for(record.platform),
                      Path(record.stored_path or ""), Path(record.rejects_path or ""), record.total_rows,
                      record.rejected_rows, _zone(repository.corp_timezone(session, record.corp_id)),
                      record.started_at)


def run_import(sessions: SessionScope, import_id: int, clock: Clock, *, chunk_rows: int = CHUNK_ROWS,
               on_progress: ProgressCallback | None = None) -> None:
    """Carry import ``import_id`` to its end (resuming after its committed rows). Each chunk commits
    on its own; a file that cannot be read or lacks columns fails the import (not the job)."""
    start = _start(sessions, import_id, clock)
    if start is None:
        return
    if not start.path.is_file():
        return _fail(sessions, import_id, clock, service.encode_error("order.import.file_missing"))
    source = SourceFile(start.path)
    rows = source.rows()
    try:
        headers = next(([cell_text(v) for v in values] for _, values in rows if not blank_row(values)), None)
        if headers is None:
            raise UnreadableFile("no header row")
        columns = map_columns(start.preset, headers, start.mapping)
    except MissingColumns as missing:
        return _fail(sessions, import_id, clock,
                     service.encode_error("order.import.missing_columns", columns="、".join(missing.columns)))
    except UnreadableFile as error:
        return _fail(sessions, import_id, clock, service.encode_error("order.import.unreadable",
                                                                      detail=str(error)[:300]))
    reader = RowReader(start.preset, columns, start.zone)
    chunk_reader = ChunkReader(start.preset, reader, start.corp_id, start.shop)
    rejects = RejectsWriter(start.rejects_path, headers, start.rejected)
    parsed_chunks = read_ahead(chunk_reader.parse(groups) for groups in chunks(
        _skip(rows, start.done), reader, start.preset.lines_per_order, chunk_rows))
    processed, inserted, analysed_at = start.done, 0, 0
    owed: set[int] = set()
    try:
        for parsed in parsed_chunks:
            with sessions() as session:
                result = chunk_reader.resolve(session, parsed)
                # each time this import is about to double what it wrote, the planner's estimates
                # follow (identity resolution and the traits join against these tables)
                analyse = inserted + len(result.drafts) > 2 * analysed_at
                outcome = service.upsert_orders(session, start.corp_id, result.drafts, source=f"import:{import_id}",
                                                clock=clock, refresh_statistics=analyse, refresh_traits=False)
                rejects.write(result.rejected)
                _record(session, import_id, result, outcome, clock)
            processed += result.rows
            inserted += outcome.inserted
            analysed_at = inserted if analyse else analysed_at
            owed |= outcome.customer_ids
            if len(owed) >= TRAIT_FLUSH:
                service.refresh_traits(sessions, start.corp_id, owed, clock)
                owed = set()
            if on_progress:
                on_progress(processed, source.fraction_done())
    except UnreadableFile as error:
        return _fail(sessions, import_id, clock, service.encode_error("order.import.unreadable",
                                                                      detail=str(error)[:300]))
    finally:
        rejects.close()
    if start.done:
        with sessions() as session:
            owed |= repository.customers_with_orders_written_since(session, start.corp_id, start.started_at)
    service.refresh_traits(sessions, start.corp_id, owed, clock)
    with sessions() as session:
        record = session.get(OrderImport, import_id)
        assert record is not None
        record.status = "done"
        record.finished_at = clock.now()
        if not record.rejected_rows:
            record.rejects_path = None
    if on_progress:
        on_progress(processed, 1.0)


def _skip(rows: Iterator[tuple[int, list]], count: int) -> Iterator[tuple[int, list]]:
    """The data rows after the first ``count`` non-blank ones (those a previous attempt committed)."""
    skipped = 0
    for number, values in rows:
        if skipped < count and not blank_row(values):
            skipped += 1
            continue
        yield number, values
