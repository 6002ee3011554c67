"""Moments tasks: create, preview the visible range against the gate, apply synced results."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.content.service import check_attachments
from siyu.kit.errors import InvalidInput, NotFound
from siyu.kit.outbox import add_outbox_message
from siyu.models import CustomerTag, Relation, RelationStatus, Staff, Tag
from siyu.models.moment import MomentStatus, MomentTask
from siyu.models.policy import TouchChannel, TouchPriority, TouchRule
from siyu.policy import TouchRequest, admit, decide, mark_sent

PROVIDER = "wecom_moment"
SYNC_JOB = "moment.sync_results"
MAX_TEXT_CHARS = 2000


@dataclass
class MomentPreview:
    customers: int = 0
    visible: int = 0
    held_back: Counter = field(default_factory=Counter)


def _audience(session: Session, corp_id: int, staff_ids: list[int], tag_ids: list[int]) -> list[tuple[int, int]]:
    """(customer, staff) of every active relation in the visible range."""
    statement = select(Relation.customer_id, Relation.staff_id).where(
        Relation.corp_id == corp_id, Relation.status == RelationStatus.active)
    if staff_ids:
        statement = statement.where(Relation.staff_id.in_(staff_ids))
    if tag_ids:
        statement = statement.where(Relation.customer_id.in_(
            select(CustomerTag.customer_id).where(CustomerTag.corp_id == corp_id, CustomerTag.tag_id.in_(tag_ids))))
    return list(dict.fromkeys(session.execute(statement.order_by(Relation.customer_id)).all()))


def _check(session: Session, corp_id: int, *, text: str, staff_ids: list[int], tag_ids: list[int],
           material_ids: list[int]) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput("error.moment_text_too_long", field="text", limit=MAX_TEXT_CHARS)
    check_attachments(session, corp_id, material_ids, text=text)
    known_staff = set(session.scalars(select(Staff.id).where(Staff.corp_id == corp_id, Staff.id.in_(staff_ids))))
    if set(staff_ids) - known_staff:
        raise InvalidInput("error.moment_staff_unknown", field="staff_ids")
    tags = dict(session.execute(select(Tag.id, Tag.wecom_tag_id).where(Tag.corp_id == corp_id, Tag.id.in_(tag_ids),
                                                                        Tag.deleted_at.is_(None))).all())
    if set(tag_ids) - set(tags) or any(not tags[t] for t in tag_ids):
        # WeCom limits a moment's visibility by its own corp tags only
        raise InvalidInput("error.moment_tag_not_in_wecom", field="tag_ids")


def preview(session: Session, corp_id: int, *, staff_ids: list[int], tag_ids: list[int], now: datetime
            ) -> MomentPreview:
    """Customers in the visible range and what the gate says (moments visibility ≤ 3 a day …)."""
    pairs = _audience(session, corp_id, staff_ids, tag_ids)
    customers = list(dict.fromkeys(c for c, _ in pairs))
    result = MomentPreview(customers=len(customers))
    for decision in decide(session, corp_id, [TouchRequest(c, TouchChannel.moment, TouchPriority.marketing)
                                              for c in customers], now=now):
        if decision.allowed:
            result.visible += 1
        else:
            result.held_back[decision.rule or TouchRule.no_relation] += 1
    return result


def create_moment(session: Session, corp_id: int, *, text: str, staff_ids: list[int], tag_ids: list[int],
                  material_ids: list[int], now: datetime) -> MomentTask:
    _check(session, corp_id, text=text, staff_ids=staff_ids, tag_ids=tag_ids, material_ids=material_ids)
    task = MomentTask(corp_id=corp_id, text=text, staff_ids=sorted(set(staff_ids)), tag_ids=sorted(set(tag_ids)),
                      material_ids=list(material_ids), status=MomentStatus.creating)
    session.add(task)
    session.flush()
    add_outbox_message(session, provider=PROVIDER, operation="add_moment_task", payload={"moment_task_id": task.id},
                       idempotency_key=f"moment-task:{task.id}", corp_id=corp_id)
    return task


def get_moment(session: Session, corp_id: int, moment_task_id: int) -> MomentTask:
    task = session.get(MomentTask, moment_task_id)
    if task is None or task.corp_id != corp_id:
        raise NotFound("error.moment_not_found")
    return task


def created(session: Session, task: MomentTask, *, jobid: str, moment_id: str | None, now: datetime) -> None:
    task.jobid, task.moment_id, task.updated_at = jobid, moment_id, now
    task.status = MomentStatus.publishing if moment_id else MomentStatus.creating
    session.flush()


def apply_results(session: Session, task: MomentTask, *, published: list[str], visible: dict[str, list[str]],
                  comments: int, likes: int, now: datetime) -> int:
    """Results from WeCom: who published, which customers each poster's moment is visible to, and the
    interactions. Each visible customer is one touch (channel moment) — recorded once per moment —
    and counts toward their moments visibility and marketing caps. Returns how many touches are new."""
    task.published_staff, task.comments, task.likes, task.synced_at = len(published), comments, likes, now
    staff_of = dict(session.execute(select(Staff.userid, Staff.id).where(Staff.corp_id == task.corp_id)).all())
    externals = [e for rows in visible.values() for e in rows]
    customer_of = dict(session.execute(select(Relation.external_userid, Relation.customer_id).where(
        Relation.corp_id == task.corp_id, Relation.external_userid.in_(externals))).all()) if externals else {}
    requests, seen = [], set()
    for userid, rows in visible.items():
        for external_userid in rows:
            customer_id = customer_of.get(external_userid)
            if customer_id is None or customer_id in seen:
                continue
            seen.add(customer_id)
            requests.append(TouchRequest(customer_id, TouchChannel.moment, TouchPriority.marketing,
                                         staff_id=staff_of.get(userid), source_kind="moment", source_id=str(task.id),
                                         dedupe_key=f"moment:{task.id}:customer:{customer_id}"))
    task.visible_customers = len(seen)
    decisions = admit(session, task.corp_id, requests, now=now)
    # WeCom already showed it: what the gate allowed is sent; what it held back stays recorded as such
    fresh = mark_sent(session, task.corp_id, [d.touch_id for d in decisions if d.allowed and d.touch_id], now=now)
    session.flush()
    return fresh
