"""Rows of the first sheet of an XLSX workbook, streamed: constant memory whatever the row count.

python-calamine (which reads legacy XLS here) parses a whole sheet into memory before handing over
its first row — about 1.4 GB for a million rows of a 19-column order export. An XLSX sheet is a zip
member holding one XML document whose rows are flat, machine-written elements, so this reader
inflates it a megabyte at a time and cuts rows and cells out of it with compiled patterns (several
times faster than an XML parser building elements in Python). What it keeps in memory: one
megabyte of XML, the shared-strings table (the workbook's distinct strings) and the cell styles.

Cell values come out as python-calamine gives them: text as ``str``, numbers as ``float``, dates and
times (numbers with a date format) as ``datetime``, booleans as ``bool``, blanks as ``""``.
Namespace prefixes (``<x:c>``), attributes in any order, cells without a reference, inline and
shared strings, rich-text runs, XML entities and the 1904 date system are understood.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from pathlib import PurePosixPath

_CHUNK = 1 << 20
_P = rb"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix
_ROW_END = re.compile(rb"</" + _P + rb"row>")
_ROW = re.compile(rb"<" + _P + rb"row\b([^>]*?)(?:/>|>(.*?)</" + _P + rb"row>)", re.S)
_CELL = re.compile(rb"<" + _P + rb"c\b([^>]*?)(?:/>|>(.*?)</" + _P + rb"c>)", re.S)
_VALUE = re.compile(rb"<" + _P + rb"v\b[^>]*>(.*?)</" + _P + rb"v>", re.S)
_TEXT = re.compile(rb"<" + _P + rb"t\b[^>]*>(.*?)</" + _P + rb"t>", re.S)
_PHONETIC = re.compile(rb"<" + _P + rb"rPh\b.*?</" + _P + rb"rPh>", re.S)
_SHARED = re.compile(rb"<" + _P + rb"si\b[^>]*>(.*?)</" + _P + rb"si>|<" + _P + rb"si\b[^>]*/>", re.S)
_ATTRIBUTE = re.compile(rb'\b([\w:]+)="([^"]*)"')
#: the common shape of a cell (``r``, then ``s``, then ``t``; a plain value or one plain text run), or
#: an empty one: rows made only of these take the fast path
_PLAIN_CELL = re.compile(
    rb'<' + _P + rb'c r="([A-Z]+)[0-9]+"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    rb'\s*(?:/>|>(?:<' + _P + rb'v>([^<]*)</' + _P + rb'v>|<' + _P + rb'is><' + _P + rb't>([^<]*)</' + _P + rb't></'
    + _P + rb'is>)?</' + _P + rb'c>)')
_CELL_START = re.compile(rb"<" + _P + rb"c\b")
#: built-in number formats that are dates or times (ECMA-376 18.8.30, with the CJK ones)
_DATE_FORMATS = {14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47,
                 50, 51, 52, 53, 54, 55, 56, 57, 58}
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


class WorkbookError(ValueError):
    """Not a workbook this reader understands (no worksheet, broken zip)."""


def _attributes(raw: bytes) -> dict[bytes, bytes]:
    return {name.split(b":")[-1]: value for name, value in _ATTRIBUTE.findall(raw)}


def _text(fragment: bytes) -> str:
    """The text of ``<t>`` runs (rich text has several; phonetic guides are not text)."""
    if b"<" not in fragment:
        value = fragment.decode("utf-8")
    elif fragment.startswith(b"<is><t>") and fragment.endswith(b"</t></is>") and fragment.count(b"<", 7) == 2:
        value = fragment[7:-9].decode("utf-8")  # one plain run, as most writers make it
    else:
        if b"rPh" in fragment:
            fragment = _PHONETIC.sub(b"", fragment)
        value = b"".join(_TEXT.findall(fragment)).decode("utf-8")
    return unescape(value) if "&" in value else value


def _is_date_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code)
    return bool(re.search(r"[dmyhs]", code, re.I))


def _column(letters: bytes, cache: dict[bytes, int]) -> int:
    index = cache.get(letters)
    if index is None:
        index = 0
        for letter in letters:
            index = index * 26 + letter - 64
        cache[letters] = index = index - 1
    return index


class XlsxRows:
    """The first worksheet of ``path``; iterate ``rows()`` for (row number, values)."""

    def __init__(self, path: str) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
            names = set(self.archive.namelist())
            self.sheet = self._first_sheet(names)
            self.strings = self._shared_strings(names)
            self.dates = self._date_styles(names)
        except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as error:
            raise WorkbookError(str(error)) from error
        self.size = self.archive.getinfo(self.sheet).file_size or 1
        self.read_bytes = 0
        self._columns: dict[bytes, int] = {}

    def _read(self, name: str) -> bytes:
        with self.archive.open(name) as member:
            return member.read()

    def _first_sheet(self, names: set[str]) -> str:
        self.epoch = _EPOCH_1900
        if "xl/workbook.xml" in names:
            workbook = self._read("xl/workbook.xml")
            properties = re.search(rb"<" + _P + rb"workbookPr\b([^>]*)>", workbook)
            if properties and _attributes(properties.group(1)).get(b"date1904") in (b"1", b"true"):
                self.epoch = _EPOCH_1904
            sheet = re.search(rb"<" + _P + rb"sheet\b([^>]*)>", workbook)
            if sheet and "xl/_rels/workbook.xml.rels" in names:
                wanted = _attributes(sheet.group(1)).get(b"id")
                for raw in re.findall(rb"<" + _P + rb"Relationship\b([^>]*)>", self._read("xl/_rels/workbook.xml.rels")):
                    relation = _attributes(raw)
                    if relation.get(b"Id") == wanted and b"Target" in relation:
                        target = relation[b"Target"].decode()
                        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
                        if path in names:
                            return path
        sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        if not sheets:
            raise WorkbookError("no worksheet")
        return sheets[0]

    def _shared_strings(self, names: set[str]) -> list[str]:
        if "xl/sharedStrings.xml" not in names:
            return []
        strings: list[str] = []
        rest = b""
        with self.archive.open("xl/sharedStrings.xml") as member:
            while chunk := member.read(_CHUNK):
                data = rest + chunk
                last = 0
                # an entry cut by the chunk's end does not match; it waits in ``rest`` for the next
                for match in _SHARED.finditer(data):
                    strings.append(_text(match.group(1)) if match.group(1) is not None else "")
                    last = match.end()
                rest = data[last:]
        return strings

    def _date_styles(self, names: set[str]) -> set[int]:
        """Indexes of the cell formats (``s="…"``) that show a date or a time."""
        if "xl/styles.xml" not in names:
            return set()
        styles = self._read("xl/styles.xml")
        custom = {int(_attributes(raw).get(b"numFmtId", b"0")): _attributes(raw).get(b"formatCode", b"").decode()
                  for raw in re.findall(rb"<" + _P + rb"numFmt\b([^>]*)>", styles)}
        dated = _DATE_FORMATS | {number for number, code in custom.items() if _is_date_format(unescape(code))}
        block = re.search(rb"<" + _P + rb"cellXfs\b[^>]*>(.*?)</" + _P + rb"cellXfs>", styles, re.S)
        if not block:
            return set()
        formats = [int(_attributes(raw).get(b"numFmtId", b"0"))
                   for raw in re.findall(rb"<" + _P + rb"xf\b([^>]*)>", block.group(1))]
        return {index for index, number in enumerate(formats) if number in dated}

    def fraction_done(self) -> float:
        return min(self.read_bytes / self.size, 1.0)

    def rows(self) -> Iterator[tuple[int, list]]:
        """(row number, values) for every row element, in order; values padded on the left only."""
        number = 0
        rest = b""
        with self.archive.open(self.sheet) as member:
            while True:
                chunk = member.read(_CHUNK)
                self.read_bytes += len(chunk)
                data = rest + chunk
                # rows up to the last complete one; the rest waits for the next chunk (at the end of
                # the sheet, only rows without content can be left, like <row r="7"/>)
                ends = list(_ROW_END.finditer(data)) if chunk else []
                cut = ends[-1].end() if ends else (len(data) if not chunk else 0)
                for attributes, cells in _ROW.findall(data, 0, cut):
                    at = attributes.find(b' r="')
                    number = int(attributes[at + 4:attributes.index(b'"', at + 4)]) if at >= 0 else number + 1
                    yield number, self._cells(cells)
                rest = data[cut:]
                if not chunk:
                    break
        self.archive.close()

    def _cells(self, row: bytes) -> list:
        plain = _PLAIN_CELL.findall(row)
        # every cell must have matched: "<c" never counts fewer cells than there are (it may count
        # more, e.g. a <color> in rich text, which only sends the row down the general path)
        starts = len(_CELL_START.findall(row)) if b":c" in row else row.count(b"<c")
        if len(plain) == starts:
            return self._plain_cells(plain)
        return self._any_cells(row)

    def _plain_cells(self, cells: list[tuple[bytes, ...]]) -> list:
        values: list = []
        columns, strings, dates = self._columns, self.strings, self.dates
        for letters, style, kind, value, text in cells:
            index = columns.get(letters)
            if index is None:
                index = _column(letters, columns)
            if index > len(values):
                values.extend([""] * (index - len(values)))
            if kind == b"s" and value:
                values.append(strings[int(value)])
            elif kind == b"inlineStr":
                decoded = text.decode("utf-8")
                values.append(unescape(decoded) if "&" in decoded else decoded)
            elif not value:
                values.append("")
            elif not kind or kind == b"n":
                number = float(value)
                if style and int(style) in dates:
                    # serials carry float noise (10:00 is 0.41666…): to the nearest second
                    values.append(self.epoch + timedelta(seconds=round(number * 86400)))
                else:
                    values.append(number)
            else:
                values.append(self._value(kind, int(style) if style else None, b"<v>" + value + b"</v>"))
        return values

    def _any_cells(self, row: bytes) -> list:
        values: list = []
        columns = self._columns
        for raw, inner in _CELL.findall(row):
            if b"\n" in raw or b"\t" in raw or b"\r" in raw:
                raw = b" " + b" ".join(raw.split())  # attributes on lines of their own
            # the three attributes that matter, found without building a dict (the hot path)
            at = raw.find(b' r="')
            if at >= 0:
                end = raw.index(b'"', at + 4)
                letters = raw[at + 4:end].rstrip(b"0123456789")
                index = columns.get(letters)
                if index is None:
                    index = _column(letters, columns)
                if index > len(values):
                    values.extend([""] * (index - len(values)))
            if not inner:
                values.append("")
                continue
            at = raw.find(b' t="')
            kind = raw[at + 4:raw.index(b'"', at + 4)] if at >= 0 else b"n"
            at = raw.find(b' s="')
            style = int(raw[at + 4:raw.index(b'"', at + 4)]) if at >= 0 else None
            values.append(self._value(kind, style, inner))
        return values

    def _value(self, kind: bytes, style: int | None, inner: bytes) -> object:
        if kind == b"inlineStr":
            return _text(inner)
        if inner.startswith(b"<v>") and inner.endswith(b"</v>"):
            value = inner[3:-4]
        else:
            found = _VALUE.search(inner)
            if found is None:
                return ""
            value = found.group(1)
        if kind == b"s":
            return self.strings[int(value)]
        if kind == b"n":
            number = float(value)
            if style is not None and style in self.dates:
                # serials carry float noise (10:00 is 0.41666…): to the nearest second
                return self.epoch + timedelta(seconds=round(number * 86400))
            return number
        if kind in (b"str", b"e"):
            return _text(value)
        if kind == b"b":
            return value == b"1"
        if kind == b"d":
            return datetime.fromisoformat(value.decode())
        return _text(value)
