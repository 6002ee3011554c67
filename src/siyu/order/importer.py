"""Streaming import of an order file: CSV or Excel in, orders and a rejects file out.

Rows flow through in chunks (5 000 rows by default) and each chunk is one transaction: its good
orders are upserted (``service.upsert_orders``), its bad rows appended to the rejects file, the
import's counters advanced. Memory is bounded by the chunk, never by the file — with one caveat for
Excel: python-calamine parses a sheet into a compact Rust array before handing rows over one by one,
so an XLSX costs its cells in native memory (not as Python objects); CSV streams from the disk.

The lines of one order (item-level exports: JD, Youzan, Douyin) are adjacent in the file; a chunk
never splits them, and an order is imported with all its lines or rejected with all of them.

A retried job resumes after the last committed chunk: the import's ``total_rows`` says how many rows
are done, and the rejects file is cut back to the rejects those rows produced.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import update
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.i18n import translate
from siyu.models.order import OrderImport
from siyu.order import repository, service
from siyu.order.presets import MissingColumns, Preset, map_columns, preset_for
from siyu.order.validation import OrderDraft, OrderLine, Problem, RowReader, cell_text, merge_lines

CHUNK_ROWS = 5000
SessionScope = Callable[[], AbstractContextManager[Session]]
#: (rows done, fraction of the file done or None) after each chunk
ProgressCallback = Callable[[int, float | None], None]
#: columns the rejects file adds to the file's own
REJECT_COLUMNS = ("行号/row", "列/column", "原因", "reason")
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


class UnreadableFile(Exception):
    """The file is neither a CSV nor a workbook we can read, or it has no header row."""


# --- reading files --------------------------------------------------------------------------------

def detect_encoding(path: Path) -> str:
    """utf-8-sig (a BOM), utf-8, or else gb18030 — the superset of GBK that Chinese platforms'
    CSV exports are written in. Decided on the first megabyte."""
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class SourceFile:
    """The rows of a CSV or Excel file, lazily: ``rows()`` yields (row number, cell values)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            magic = handle.read(4)
        self.kind = "excel" if magic in (_XLSX_MAGIC, _XLS_MAGIC) else "csv"
        self._size = path.stat().st_size or 1
        self._position: Callable[[], float | None] = lambda: None

    def fraction_done(self) -> float | None:
        """How far the reading is, when the file tells (bytes read of a CSV, rows of a sheet)."""
        return self._position()

    def rows(self) -> Iterator[tuple[int, list]]:
        return self._excel_rows() if self.kind == "excel" else self._csv_rows()

    def _csv_rows(self) -> Iterator[tuple[int, list]]:
        encoding = detect_encoding(self.path)
        with self.path.open("r", encoding=encoding, newline="") as handle:
            first = handle.readline()
            delimiter = "\t" if first.count("\t") > first.count(",") else ","
            handle.seek(0)
            binary = handle.buffer
            # the last chunk is handed over after the reader has closed the file: all of it is read
            self._position = lambda: 1.0 if binary.closed else min(binary.tell() / self._size, 1.0)
            try:
                for number, values in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
                    yield number, values
            except (UnicodeDecodeError, csv.Error) as error:
                raise UnreadableFile(str(error)) from error

    def _excel_rows(self) -> Iterator[tuple[int, list]]:
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            sheet = workbook.get_sheet_by_index(0)
        except (CalamineError, ValueError, OSError) as error:
            raise UnreadableFile(str(error)) from error
        start = sheet.start[0] if sheet.start else 0
        height = max(sheet.height, 1)
        done = 0
        self._position = lambda: min(done / height, 1.0)
        try:
            for offset, values in enumerate(sheet.iter_rows()):
                done = offset + 1
                yield start + offset + 1, values
        finally:
            workbook.close()


def _blank(values: list) -> bool:
    return all(value is None or value == "" for value in values)


# --- the rejects file -----------------------------------------------------------------------------

def _reject_cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return cell_text(value) if not isinstance(value, str) else value


class RejectsWriter:
    """Appends rejected rows (their own cells, then row number, columns and reasons in zh-CN and en)
    to a UTF-8 CSV with a BOM, which Excel opens with the Chinese intact. Created on the first reject."""

    def __init__(self, path: Path, headers: list[str], keep: int) -> None:
        self.path = path
        self.headers = headers
        self._handle: io.TextIOWrapper | None = None
        if keep and path.exists():
            self._cut_back(keep)
        elif path.exists():
            path.unlink()

    def _cut_back(self, keep: int) -> None:
        """Keep the header and the first ``keep`` rejects (those of committed chunks)."""
        with self.path.open("r", encoding="utf-8-sig", newline="") as handle:
            records = []
            for record in csv.reader(handle):
                records.append(record)
                if len(records) > keep:
                    break
        with self.path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(records)

    def _writer(self):
        if self._handle is None:
            fresh = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8-sig" if fresh else "utf-8", newline="")
            if fresh:
                csv.writer(self._handle).writerow([*self.headers, *REJECT_COLUMNS])
        return csv.writer(self._handle)

    def write(self, rows: list[tuple[int, list, list[Problem]]]) -> None:
        if not rows:
            return
        writer = self._writer()
        for number, values, problems in rows:
            cells = [_reject_cell(v) for v in values] + [""] * (len(self.headers) - len(values))
            writer.writerow([*cells, number, "；".join(p.column for p in problems),
                             "；".join(translate(p.reason, "zh-CN") for p in problems),
                             "; ".join(translate(p.reason, "en") for p in problems)])
        assert self._handle is not None
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


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
        for number, _, line, problems in entries:
            if line is None:
                continue
            if line.store_code and self.stores.get(line.store_code) is None:
                problems.append(Problem(number, self.store_column, "order.reject.unknown_store", line.store_code))
            if line.staff_userid and self.staff.get(line.staff_userid) is None:
                problems.append(Problem(number, self.staff_column, "order.reject.unknown_staff",
                                        line.staff_userid))
        draft, merge_problems = None, []
        if not any(problems for *_, problems in entries):
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
        if _blank(values):
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

def store_upload(var_dir: Path, corp_id: int, filename: str, source: io.BufferedIOBase | object) -> Path:
    """Copy an uploaded file under ``var_dir/imports/<corp>/`` with a name of our own."""
    import shutil

    folder = Path(var_dir).resolve() / "imports" / str(corp_id)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = re.sub(r"[^A-Za-z0-9.]", "", Path(filename).suffix)[:10]
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    with path.open("wb") as target:
        shutil.copyfileobj(source, target, length=1 << 20)
    return path


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


def run_import(sessions: SessionScope, import_id: int, clock: Clock, *, chunk_rows: int = CHUNK_ROWS,
               on_progress: ProgressCallback | None = None) -> None:
    """Carry import ``import_id`` to its end (resuming after its committed rows). Each chunk commits
    on its own; a file that cannot be read or lacks columns fails the import (not the job)."""
    with sessions() as session:
        record = repository.import_for_job(session, import_id)
        if record is None or record.status in ("done", "failed"):
            return
        corp_id, shop, mapping = record.corp_id, record.shop, dict(record.mapping or {})
        preset = preset_for(record.platform)
        path, rejects_path = Path(record.stored_path or ""), Path(record.rejects_path or "")
        done, rejected = record.total_rows, record.rejected_rows
        zone = _zone(repository.corp_timezone(session, corp_id))
        record.status = "running"
        record.started_at = record.started_at or clock.now()
    if not path.is_file():
        return _fail(sessions, import_id, clock, service.encode_error("order.import.file_missing"))
    source = SourceFile(path)
    rows = source.rows()
    try:
        headers = next(([cell_text(v) for v in values] for _, values in rows if not _blank(values)), None)
        if headers is None:
            raise UnreadableFile("no header row")
        columns = map_columns(preset, headers, mapping)
    except MissingColumns as missing:
        return _fail(sessions, import_id, clock,
                     service.encode_error("order.import.missing_columns", columns="、".join(missing.columns)))
    except UnreadableFile as error:
        return _fail(sessions, import_id, clock, service.encode_error("order.import.unreadable",
                                                                      detail=str(error)[:300]))
    reader = RowReader(preset, columns, zone)
    chunk_reader = ChunkReader(preset, reader, corp_id, shop)
    rejects = RejectsWriter(rejects_path, headers, rejected)
    data_rows = _skip(rows, done)
    processed = done
    inserted, analysed_at = 0, 0
    try:
        for groups in chunks(data_rows, reader, preset.lines_per_order, chunk_rows):
            parsed = chunk_reader.parse(groups)
            with sessions() as session:
                result = chunk_reader.resolve(session, parsed)
                # each time this import is about to double what it wrote, the planner's estimates
                # follow (before the traits' aggregate statements are planned)
                analyse = inserted + len(result.drafts) > 2 * analysed_at
                outcome = service.upsert_orders(session, corp_id, result.drafts, source=f"import:{import_id}",
                                                clock=clock, refresh_statistics=analyse)
                rejects.write(result.rejected)
                _record(session, import_id, result, outcome, clock)
            processed += result.rows
            inserted += outcome.inserted
            if analyse:
                analysed_at = inserted
            if on_progress:
                on_progress(processed, source.fraction_done())
    except UnreadableFile as error:
        rejects.close()
        return _fail(sessions, import_id, clock, service.encode_error("order.import.unreadable",
                                                                      detail=str(error)[:300]))
    finally:
        rejects.close()
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
        if skipped < count and not _blank(values):
            skipped += 1
            continue
        yield number, values
