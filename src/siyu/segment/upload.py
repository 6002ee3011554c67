"""Static segments from an uploaded list: a CSV or XLSX whose first row names a column of phones
(``phone`` / ``手机号``) or of customer ids (``customer_id`` / ``客户ID``). Every row gets an outcome in
the report: added, already a member, duplicate in the file, not found, or invalid — with the reason in
the operator's language. A phone finds the customer through the phone identity or the profile; a
merged-away customer is replaced by the customer it was merged into.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.identity.rules import normalise_identity
from siyu.kit.errors import InvalidInput
from siyu.kit.i18n import translate
from siyu.models.customer import Customer, Identity
from siyu.models.segment import Segment, SegmentMembership
from siyu.order.reading import SourceFile, UnreadableFile, blank_row
from siyu.order.validation import cell_text
from siyu.segment import service

COLUMNS = {"phone": "phone", "手机号": "phone", "手机": "phone", "mobile": "phone",
           "customer_id": "customer_id", "客户id": "customer_id", "客户编号": "customer_id"}
MAX_REPORT_ROWS = 200


@dataclass
class RowOutcome:
    row: int
    value: str
    outcome: str
    message: str


@dataclass
class Report:
    total_rows: int = 0
    added: int = 0
    already: int = 0
    rejected: int = 0
    rows: list[RowOutcome] = field(default_factory=list)


def read_values(content: bytes) -> tuple[str, list[tuple[int, str]]]:
    """(column kind, [(row number, value)]) of an uploaded file."""
    with tempfile.NamedTemporaryFile(suffix=".upload") as handle:
        handle.write(content)
        handle.flush()
        try:
            rows = list(SourceFile(Path(handle.name)).rows())
        except UnreadableFile as error:
            raise InvalidInput("error.segment_upload_format", field="file") from error
    rows = [(number, values) for number, values in rows if not blank_row(values)]
    if not rows:
        raise InvalidInput("error.segment_upload_empty", field="file")
    header = [cell_text(value).strip().lower() for value in rows[0][1]]
    for index, name in enumerate(header):
        if name in COLUMNS:
            return COLUMNS[name], [(number, cell_text(values[index]) if index < len(values) else "")
                                   for number, values in rows[1:]]
    raise InvalidInput("error.segment_upload_column", field="file", column="phone / 手机号 / customer_id")


def _survivors(session: Session, corp_id: int, ids: set[int]) -> dict[int, int]:
    """Each customer id of the corp → the live customer it is (following merges)."""
    resolved: dict[int, int] = {}
    pending = set(ids)
    for _ in range(8):  # merge chains are short; eight hops is far beyond any real one
        if not pending:
            break
        rows = session.execute(select(Customer.id, Customer.merged_into_id)
                               .where(Customer.corp_id == corp_id, Customer.id.in_(pending))).all()
        pending = set()
        for customer_id, merged_into in rows:
            resolved[customer_id] = merged_into if merged_into else customer_id
            if merged_into:
                pending.add(merged_into)
        for start, target in list(resolved.items()):
            while target in resolved and resolved[target] != target:
                target = resolved[target]
            resolved[start] = target
    return resolved


def _find(session: Session, corp_id: int, kind: str, values: list[str]) -> dict[str, int]:
    if kind == "customer_id":
        ids = {int(value) for value in values}
        return {str(customer_id): customer_id for customer_id in session.scalars(
            select(Customer.id).where(Customer.corp_id == corp_id, Customer.id.in_(ids)))}
    found = dict(session.execute(select(Identity.value, Identity.customer_id).where(
        Identity.corp_id == corp_id, Identity.kind == "phone", Identity.value.in_(values))).all())
    for phone, customer_id in session.execute(select(Customer.phone, Customer.id).where(
            Customer.corp_id == corp_id, Customer.phone.in_(values), Customer.merged_into_id.is_(None))):
        found.setdefault(phone, customer_id)
    return found


def import_list(session: Session, segment: Segment, content: bytes, now: datetime, *, replace: bool,
                language: str | None) -> Report:
    """Read the file and add its customers to the static segment (``replace``: set exactly them)."""
    if segment.kind != "static":
        from siyu.kit.errors import Conflict

        raise Conflict("error.segment_static_only", field="segment_id")
    kind, rows = read_values(content)
    report = Report(total_rows=len(rows))
    valid: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for number, raw in rows:
        value = raw.strip()
        normalised = (value if value.isdigit() else None) if kind == "customer_id" else \
            normalise_identity("phone", value)
        if not normalised:
            report.rows.append(RowOutcome(number, raw, "invalid", translate(f"segment.upload.invalid_{kind}",
                                                                             language)))
        elif normalised in seen:
            report.rows.append(RowOutcome(number, raw, "duplicate", translate("segment.upload.duplicate", language)))
        else:
            seen.add(normalised)
            valid.append((number, raw, normalised))
    found: dict[str, int] = {}
    values = [normalised for _, _, normalised in valid]
    for start in range(0, len(values), 5000):
        found.update(_find(session, segment.corp_id, kind, values[start:start + 5000]))
    survivors = _survivors(session, segment.corp_id, set(found.values()))
    current = set(session.scalars(select(SegmentMembership.customer_id).where(
        SegmentMembership.segment_id == segment.id, SegmentMembership.exited_at.is_(None))))
    chosen: list[int] = []
    for number, raw, normalised in valid:
        customer_id = survivors.get(found.get(normalised, -1))
        if customer_id is None:
            report.rows.append(RowOutcome(number, raw, "not_found", translate("segment.upload.not_found", language)))
        elif customer_id in chosen:
            report.rows.append(RowOutcome(number, raw, "duplicate", translate("segment.upload.duplicate", language)))
        elif customer_id in current and not replace:
            chosen.append(customer_id)
            report.rows.append(RowOutcome(number, raw, "already", translate("segment.upload.already", language)))
        else:
            chosen.append(customer_id)
            report.rows.append(RowOutcome(number, raw, "added", translate("segment.upload.added", language)))
    service.set_static_members(session, segment, chosen, now, replace=replace)
    report.rows.sort(key=lambda row: row.row)
    report.added = sum(1 for row in report.rows if row.outcome == "added")
    report.already = sum(1 for row in report.rows if row.outcome == "already")
    report.rejected = sum(1 for row in report.rows if row.outcome in ("invalid", "not_found", "duplicate"))
    report.rows = report.rows[:MAX_REPORT_ROWS]
    return report
