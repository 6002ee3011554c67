"""Order files on disk: reading CSV (UTF-8 or GBK) and Excel lazily, storing uploads, and writing
the rejects file."""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

from siyu.kit.i18n import translate
from siyu.order.validation import Problem, cell_text
from siyu.order.xlsx import WorkbookError, XlsxRows

#: columns the rejects file adds to the file's own
REJECT_COLUMNS = ("行号/row", "列/column", "原因", "reason")
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


class UnreadableFile(Exception):
    """The file is neither a CSV nor a workbook we can read, or it has no header row."""


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
        self.magic = magic
        self.kind = "excel" if magic in (_XLSX_MAGIC, _XLS_MAGIC) else "csv"
        self._size = path.stat().st_size or 1
        self._position: Callable[[], float | None] = lambda: None

    def fraction_done(self) -> float | None:
        """How far the reading is, when the file tells (bytes read of a CSV, rows of a sheet)."""
        return self._position()

    def rows(self) -> Iterator[tuple[int, list]]:
        if self.kind == "csv":
            return self._csv_rows()
        if self.magic == _XLSX_MAGIC:
            try:
                return self._xlsx_rows(XlsxRows(str(self.path)))
            except WorkbookError:
                # A zip that is not an Office Open XML workbook (ODS …): python-calamine reads it.
                return self._excel_rows()
        return self._excel_rows()

    def _xlsx_rows(self, workbook: XlsxRows) -> Iterator[tuple[int, list]]:
        """XLSX streamed (constant memory, see ``xlsx``)."""
        self._position = workbook.fraction_done
        try:
            yield from workbook.rows()
        except (ValueError, IndexError, KeyError, UnicodeDecodeError, OSError) as error:
            raise UnreadableFile(str(error)) from error

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
        """Legacy XLS (and ODS) through python-calamine, which holds the sheet in memory."""
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


def blank_row(values: list) -> bool:
    """A row of empty cells (spreadsheets keep them between blocks of data)."""
    return values.count("") + values.count(None) == len(values)


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


def store_upload(var_dir: Path, corp_id: int, filename: str, source: io.BufferedIOBase | object) -> Path:
    """Copy an uploaded file under ``var_dir/imports/<corp>/`` with a name of our own."""
    folder = Path(var_dir).resolve() / "imports" / str(corp_id)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = re.sub(r"[^A-Za-z0-9.]", "", Path(filename).suffix)[:10]
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    with path.open("wb") as target:
        shutil.copyfileobj(source, target, length=1 << 20)
    return path
