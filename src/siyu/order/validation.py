"""Reading one row of an order file: cell values to an order line, or the problems that keep it out.

Every problem names the row (as the operator's spreadsheet numbers it), the column (by its header in
the file), a reason (a catalogue key under ``order.reject.``) and the value found. The lines of one
order (item-level exports) are merged into one order afterwards by ``merge_lines``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from siyu.identity.service import normalise_identity
from siyu.order.presets import TARGET_FIELDS, UNPAID, ColumnMap, Preset

CENT = Decimal("0.01")
#: Numeric(12, 2): ten digits before the point
MAX_AMOUNT = Decimal("9999999999.99")
ZERO = Decimal("0.00")
MAX_ORDER_NO = 64
#: "1234", "1234.5", "1,234.50" — thousands separators only where they belong
_AMOUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
                   r"(?:[ T]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2})(?:\.\d+)?)?)?")
#: Excel's day zero for serial date numbers
_EXCEL_EPOCH = datetime(1899, 12, 30)
#: When several lines of one order disagree on the status, the order takes the furthest along.
_STATUS_RANK = {"completed": 4, "shipped": 3, "paid": 2, "refunded": 1, "cancelled": 0}


@dataclass(frozen=True)
class Problem:
    """Why a row was rejected: row number, column header, reason key, value as found."""

    row: int
    column: str
    reason: str
    value: str

    def as_sample(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason_key": self.reason, "value": self.value}


@dataclass
class OrderLine:
    """One valid row of an order file."""

    row: int
    order_no: str
    amount: Decimal
    refund_amount: Decimal
    status: str
    paid_at: datetime
    shipped_at: datetime | None = None
    category: str | None = None
    quantity: int = 1
    title: str | None = None
    influencer: str | None = None
    buyer: str | None = None
    phone: str | None = None
    name: str | None = None
    member_no: str | None = None
    unionid: str | None = None
    store_code: str | None = None
    staff_userid: str | None = None


@dataclass
class OrderDraft:
    """One order as it will be written: what the rows (or an API call) said about it."""

    platform: str
    shop: str
    order_no: str
    amount: Decimal
    refund_amount: Decimal
    status: str
    paid_at: datetime
    shipped_at: datetime | None = None
    category: str | None = None
    item_count: int = 1
    items: list[dict] | None = None
    buyer_kind: str | None = None
    buyer_value: str | None = None
    phone: str | None = None
    name: str | None = None
    member_no: str | None = None
    unionid: str | None = None
    store_id: int | None = None
    staff_id: int | None = None
    #: the file rows it came from (empty for API orders)
    rows: list[int] = field(default_factory=list)


def cell_text(value: object) -> str:
    """A cell as text: exports wrap long numbers as ``="123…"`` or ``'123…`` so that Excel keeps
    their digits; a whole number read back as a float loses its ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith('="') and text.endswith('"'):
            text = text[2:-1].strip()
        elif text.startswith(("'", "`", "\t")):
            text = text[1:].strip()
        return text
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def parse_amount(value: object) -> Decimal | str:
    """A money amount, or the reason it is not one (``missing``, ``amount_invalid``,
    ``amount_negative``, ``amount_too_large``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return "amount_invalid"
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = cell_text(value).replace("¥", "").replace("￥", "").removesuffix("元").strip()
        if not text:
            return "missing"
        if not _AMOUNT.fullmatch(text):
            return "amount_invalid"
        try:
            amount = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return "amount_invalid"
    if amount < 0:
        return "amount_negative"
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount > MAX_AMOUNT:
        return "amount_too_large"
    return amount


def parse_time(value: object, zone: tzinfo) -> datetime | str | None:
    """A moment in UTC (times without a zone are the corp's local time), ``None`` for a blank
    cell, or ``"date_invalid"``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # a date cell Excel kept as its serial number (days since 1899-12-30)
        if not 1 <= value < 2958466:
            return "date_invalid"
        moment = _EXCEL_EPOCH + timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        text = cell_text(value)
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            match = _DATE.fullmatch(text)
            if match is None:
                return "date_invalid"
            try:
                moment = datetime(*(int(part) if part else 0 for part in match.groups()))
            except ValueError:
                return "date_invalid"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_quantity(value: object) -> int | str:
    text = cell_text(value)
    if not text:
        return 1
    try:
        quantity = int(Decimal(text))
    except (InvalidOperation, ValueError):
        return "quantity_invalid"
    if quantity < 1 or Decimal(text) != quantity:
        return "quantity_invalid"
    return quantity


class RowReader:
    """Turns rows of one file (its preset and column map, the corp's time zone) into order lines.

    Rows are padded to the header's width plus one empty cell, which every field the file lacks
    points at: reading a million rows, each field is then one list index."""

    def __init__(self, preset: Preset, columns: ColumnMap, zone: tzinfo) -> None:
        self.preset = preset
        self.columns = columns
        self.zone = zone
        self.width = len(columns.headers)
        absent = self.width
        index = columns.indexes
        self._header = {target: columns.header_of(target) for target in index}
        self._at = {target: index.get(target, absent) for target in TARGET_FIELDS}
        self._has = set(index)
        self._padding = [None] * (self.width + 1)

    def order_no_of(self, values: list) -> str:
        """The order number of a row as text (rows are grouped by it before they are read)."""
        index = self._at["order_no"]
        return cell_text(values[index]) if index < len(values) else ""

    def read(self, row: int, values: list) -> tuple[OrderLine | None, list[Problem]]:
        """The order line in ``values`` (row number ``row``), or the problems found in it."""
        count = len(values)
        cells = values + self._padding[count:] if count <= self.width else values[:self.width] + [None]
        at, has = self._at, self._has
        problems: list[Problem] = []

        def problem(target: str, reason: str, value: object) -> None:
            problems.append(Problem(row, self._header[target], f"order.reject.{reason}", cell_text(value)))

        raw_no = cells[at["order_no"]]
        order_no = cell_text(raw_no)
        if not order_no:
            problem("order_no", "missing", raw_no)
        elif len(order_no) > MAX_ORDER_NO:
            problem("order_no", "order_no_too_long", raw_no)
        amount = parse_amount(cells[at["amount"]])
        if amount.__class__ is str:
            problem("amount", amount, cells[at["amount"]])
        refund: Decimal | str = ZERO
        if "refund_amount" in has:
            raw_refund = cells[at["refund_amount"]]
            if raw_refund is not None and raw_refund != "" and raw_refund != 0:
                refund = parse_amount(raw_refund)
                if refund == "missing":
                    refund = ZERO
                elif refund.__class__ is str:
                    problem("refund_amount", refund, raw_refund)
        status = self._status(cells, problem)
        paid_at = self._paid_at(cells, status, problem)
        shipped_at = None
        if "shipped_at" in has:
            shipped = parse_time(cells[at["shipped_at"]], self.zone)
            if shipped.__class__ is str:
                problem("shipped_at", shipped, cells[at["shipped_at"]])
            else:
                shipped_at = shipped
        quantity: int | str = 1
        if "quantity" in has:
            quantity = parse_quantity(cells[at["quantity"]])
            if quantity.__class__ is str:
                problem("quantity", quantity, cells[at["quantity"]])
        if problems:
            return None, problems
        kind = self.preset.buyer_kind
        return OrderLine(
            row, order_no, amount, refund, status, paid_at, shipped_at,  # type: ignore[arg-type]
            category=_text(cells[at["category"]], 64), quantity=quantity,  # type: ignore[arg-type]
            title=_text(cells[at["title"]], 200), influencer=_text(cells[at["influencer"]], 64),
            buyer=_identity(kind, cells[at["buyer"]]) if kind else None,
            phone=_identity("phone", cells[at["phone"]]), name=_text(cells[at["name"]], 100),
            member_no=_identity("member_no", cells[at["member_no"]]),
            unionid=_identity("unionid", cells[at["unionid"]]),
            store_code=_text(cells[at["store_code"]], 64), staff_userid=_text(cells[at["staff_userid"]], 64),
        ), problems

    def _status(self, cells: list, problem) -> str | None:
        if "status" not in self._has:
            return "paid"
        raw = cells[self._at["status"]]
        word = cell_text(raw)
        if not word:
            if self.preset.shop_from_store:
                return "paid"  # the POS layout: a plain sale needs no status
            problem("status", "missing", raw)
            return None
        status = self.preset.status_of(word)
        if status is None:
            problem("status", "status_unknown", raw)
        elif status == UNPAID:
            problem("status", "unpaid", raw)
            return None
        return status

    def _paid_at(self, cells: list, status: str | None, problem) -> datetime | None:
        """When the order was paid; an order closed before payment, or an export without payment
        times, falls back on the creation time."""
        paid = created = None
        if "paid_at" in self._has:
            paid = parse_time(cells[self._at["paid_at"]], self.zone)
            if paid.__class__ is str:
                problem("paid_at", paid, cells[self._at["paid_at"]])
                return None
        if paid is None and "created_at" in self._has:
            created = parse_time(cells[self._at["created_at"]], self.zone)
            if created.__class__ is str:
                problem("created_at", created, cells[self._at["created_at"]])
                return None
        moment = paid or created
        if moment is None and status is not None:
            problem("paid_at" if "paid_at" in self._has else "created_at", "missing", None)
        return moment


def _text(value: object, limit: int) -> str | None:
    if value is None or value == "":
        return None
    text = cell_text(value)
    return text[:limit] if text else None


def _identity(kind: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    return normalise_identity(kind, cell_text(value))


def merge_lines(preset: Preset, shop: str, lines: list[OrderLine], refund_column: str
                ) -> tuple[OrderDraft | None, list[Problem]]:
    """The order the lines of one order number make (one line for order-level exports);
    ``refund_column`` is the header a refund larger than the amount is reported under."""
    first = lines[0]
    if len(lines) == 1:
        return _single(preset, shop, first, refund_column)
    if preset.line_amounts:
        amount = sum((line.amount for line in lines), ZERO)
        refund = sum((line.refund_amount for line in lines), ZERO)
    else:
        amount, refund = first.amount, max(line.refund_amount for line in lines)
    statuses = {line.status for line in lines}
    status = statuses.pop() if len(statuses) == 1 else max(statuses, key=_STATUS_RANK.__getitem__)
    if refund > amount:
        return None, [Problem(first.row, refund_column, "order.reject.refund_exceeds_amount",
                                   f"{refund} > {amount}")]
    if status == "refunded" and refund == ZERO:
        refund = amount  # "refunded" with no figure: the whole amount went back
    elif refund == amount and amount > ZERO:
        status = "refunded"
    items = [{"title": line.title, "quantity": line.quantity}
             | ({"influencer": line.influencer} if line.influencer else {})
             for line in lines if line.title]
    shipped = [line.shipped_at for line in lines if line.shipped_at is not None]
    return OrderDraft(
        platform=preset.platform, shop=shop, order_no=first.order_no, amount=amount, refund_amount=refund,
        status=status, paid_at=min(line.paid_at for line in lines), shipped_at=min(shipped) if shipped else None,
        category=next((line.category for line in lines if line.category), None),
        item_count=sum(line.quantity for line in lines), items=items or None,
        buyer_kind=preset.buyer_kind if first.buyer else None, buyer_value=first.buyer,
        phone=next((line.phone for line in lines if line.phone), None),
        name=next((line.name for line in lines if line.name), None),
        member_no=first.member_no, unionid=first.unionid, rows=[line.row for line in lines],
    ), []


def _single(preset: Preset, shop: str, line: OrderLine, refund_column: str) -> tuple[OrderDraft | None, list[Problem]]:
    """``merge_lines`` for an order of one line (every order of an order-level export)."""
    amount, refund, status = line.amount, line.refund_amount, line.status
    if refund > amount:
        return None, [Problem(line.row, refund_column, "order.reject.refund_exceeds_amount", f"{refund} > {amount}")]
    if status == "refunded" and refund == ZERO:
        refund = amount
    elif refund == amount and amount > ZERO:
        status = "refunded"
    items = None
    if line.title:
        items = [{"title": line.title, "quantity": line.quantity, "influencer": line.influencer}
                 if line.influencer else {"title": line.title, "quantity": line.quantity}]
    return OrderDraft(
        preset.platform, shop, line.order_no, amount, refund, status, line.paid_at, line.shipped_at,
        line.category, line.quantity, items, preset.buyer_kind if line.buyer else None, line.buyer, line.phone,
        line.name, line.member_no, line.unionid, rows=[line.row],
    ), []

