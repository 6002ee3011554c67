"""The streaming XLSX reader gives the values python-calamine gives, for what openpyxl writes and
for what Excel and other writers put in a workbook (shared strings, rich text, prefixes, styles)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime

from python_calamine import CalamineWorkbook

from siyu.order.xlsx import XlsxRows
from tests.order import files


def _calamine(path) -> list[list]:
    def plain(value):
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value

    return [[plain(v) for v in row] for row in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()]


def test_what_openpyxl_writes_reads_as_with_calamine(tmp_path):
    # given the presets' sample exports and a row with gaps, written by openpyxl
    rows = [*files.TAOBAO_ROWS, ["31", None, None, 12.5, True, None, "", "尾"]]
    path = files.write_xlsx(tmp_path / "orders.xlsx", files.TAOBAO_HEADER, rows)

    # when both readers read it
    streamed = [values for _, values in XlsxRows(str(path)).rows()]

    # then the values are the same, row for row (trailing blanks aside: calamine pads rows)
    expected = _calamine(path)
    assert [row + [""] * (len(expected[i]) - len(row)) for i, row in enumerate(streamed)] == expected
    assert [number for number, _ in XlsxRows(str(path)).rows()] == [1, 2, 3, 4, 5, 6]


WORKBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
  xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
  <x:workbookPr date1904="{date1904}"/>
  <x:sheets><x:sheet name="订单" sheetId="1" r:id="rId7"/><x:sheet name="说明" sheetId="2" r:id="rId1"/></x:sheets>
</x:workbook>"""
RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/>
  <Relationship Id="rId7" Type="worksheet" Target="/xl/worksheets/sheet9.xml"/>
</Relationships>"""
STYLES = """<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
  <numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy/mm/dd hh:mm:ss"/>
    <numFmt numFmtId="165" formatCode="&quot;¥&quot;#,##0.00"/></numFmts>
  <cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="165"/>
    <xf numFmtId="14"/></cellXfs>
</styleSheet>"""
STRINGS = """<?xml version="1.0" encoding="UTF-8"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">
  <si><t>订单编号</t></si>
  <si><r><rPr><b/></rPr><t>买家</t></r><r><t xml:space="preserve">会员名 </t></r></si>
  <si><t>A&amp;B &lt;旗舰店&gt;</t><rPh sb="0" eb="1"><t>ピン</t></rPh></si>
  <si/>
</sst>"""
SHEET = """<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
<x:row r="3" spans="1:5"><x:c r="A3" t="s"><x:v>0</x:v></x:c><x:c t="s" r="B3"><x:v>1</x:v></x:c></x:row>
<x:row r="4"><x:c r="A4" t="s"><x:v>2</x:v></x:c><x:c r="C4" s="1"><x:v>45972.416666666664</x:v></x:c>
  <x:c r="D4" s="2"><x:v>1234.5</x:v></x:c><x:c r="E4" t="b"><x:v>1</x:v></x:c></x:row>
<x:row r="6"><x:c r="B6"
   t="inlineStr"><x:is><x:t>行内</x:t></x:is></x:c><x:c t="str"><x:v>公式&amp;文本</x:v></x:c><x:c r="E6" t="s"><x:v>3</x:v></x:c>
  <x:c r="F6" s="3"><x:v>45972</x:v></x:c><x:c r="G6"/></x:row>
<x:row r="7"/>
</x:sheetData></x:worksheet>"""


def _workbook(path, date1904: str = "0"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", WORKBOOK.format(date1904=date1904))
        archive.writestr("xl/_rels/workbook.xml.rels", RELS)
        archive.writestr("xl/styles.xml", STYLES)
        archive.writestr("xl/sharedStrings.xml", STRINGS)
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
        archive.writestr("xl/worksheets/sheet9.xml", SHEET)
    return path


def test_what_other_writers_put_in_a_workbook_is_understood(tmp_path):
    # given a workbook as Excel and .NET writers make it: prefixed elements, the first sheet by the
    # workbook's order (not by file name), shared strings with rich text, entities and phonetics,
    # attributes in any order, a cell without a reference, date formats, an empty row
    path = _workbook(tmp_path / "other.xlsx")

    # when it is streamed
    rows = list(XlsxRows(str(path)).rows())

    # then every value is what the sheet shows
    assert rows == [
        (3, ["订单编号", "买家会员名 "]),
        (4, ["A&B <旗舰店>", "", datetime(2025, 11, 11, 10, 0), 1234.5, True]),
        (6, ["", "行内", "公式&文本", "", "", datetime(2025, 11, 11), ""]),
        (7, []),
    ]


def test_the_1904_date_system(tmp_path):
    path = _workbook(tmp_path / "mac.xlsx", date1904="1")

    rows = dict(XlsxRows(str(path)).rows())

    assert rows[6][5] == datetime(2029, 11, 12)
