"""Every query of broadcasts. Console and API reads come scoped to the principal's corp; jobs and the
WeCom deliverer name the corp of the broadcast they work on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from siyu.models import Order, Staff
from siyu.models.broadcast import (
    Broadcast,
    BroadcastRecipient,
    BroadcastTask,
    BroadcastVariant,
    RecipientStatus,
    TaskStatus,
)
from siyu.policy.repository import chunks, pg_unnest_insert


def broadcast(session: Session, corp_id: int, broadcast_id: int, *, for_update: bool = False) -> Broadcast | None:
    statement = select(Broadcast).where(Broadcast.corp_id == corp_id, Broadcast.id == broadcast_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def broadcasts(session: Session, corp_id: int, *, limit: int = 50) -> list[Broadcast]:
    return list(session.scalars(select(Broadcast).where(Broadcast.corp_id == corp_id)
                                .order_by(Broadcast.id.desc()).limit(limit)))


def variants(session: Session, broadcast_id: int) -> list[BroadcastVariant]:
    return list(session.scalars(select(BroadcastVariant).where(BroadcastVariant.broadcast_id == broadcast_id)
                                .order_by(BroadcastVariant.label)))


def insert_recipients(session: Session, rows: list[dict[str, Any]]) -> None:
    table = BroadcastRecipient.__table__
    if rows and session.get_bind().dialect.name == "postgresql":
        for chunk in chunks(rows, 200_000):
            pg_unnest_insert(session, table, list(chunk))
        return
    for chunk in chunks(rows, 5000):
        session.execute(table.insert(), list(chunk))


def update_recipients(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key (``id`` in each row)."""
    for chunk in chunks(rows, 5000):
        session.execute(update(BroadcastRecipient), list(chunk))


def insert_tasks(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    table = BroadcastTask.__table__
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows)) if rows else []


def task(session: Session, task_id: int, *, for_update: bool = False) -> BroadcastTask | None:
    statement = select(BroadcastTask).where(BroadcastTask.id == task_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def tasks(session: Session, corp_id: int, broadcast_id: int) -> list[BroadcastTask]:
    return list(session.scalars(select(BroadcastTask).where(BroadcastTask.corp_id == corp_id,
                                                            BroadcastTask.broadcast_id == broadcast_id)
                                .order_by(BroadcastTask.id)))


def known_msgids(session: Session, corp_id: int, msgids: Sequence[str]) -> set[str]:
    if not msgids:
        return set()
    return set(session.scalars(select(BroadcastTask.msgid).where(BroadcastTask.corp_id == corp_id,
                                                                 BroadcastTask.msgid.in_(list(msgids)))))


def task_recipients(session: Session, task_id: int) -> list[BroadcastRecipient]:
    return list(session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.task_id == task_id)
                                .order_by(BroadcastRecipient.id)))


def staff_userids(session: Session, corp_id: int, staff_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(select(Staff.id, Staff.userid).where(Staff.corp_id == corp_id,
                                                               Staff.id.in_(list(staff_ids))))
    return dict(rows.all())


def set_recipients(session: Session, broadcast_id: int, values: dict[str, Any], *,
                   task_id: int | None = None, statuses: Sequence[RecipientStatus] | None = None,
                   external_userids: Sequence[str] | None = None, recipient_ids: Sequence[int] | None = None) -> int:
    conditions = [BroadcastRecipient.broadcast_id == broadcast_id]
    if task_id is not None:
        conditions.append(BroadcastRecipient.task_id == task_id)
    if statuses is not None:
        conditions.append(BroadcastRecipient.status.in_(list(statuses)))
    if external_userids is not None:
        conditions.append(BroadcastRecipient.external_userid.in_(list(external_userids)))
    if recipient_ids is not None:
        conditions.append(BroadcastRecipient.id.in_(list(recipient_ids)))
    result = session.execute(update(BroadcastRecipient).where(and_(*conditions)).values(**values)
                             .execution_options(synchronize_session=False))
    return result.rowcount


def deferred_due(session: Session, broadcast_id: int, now: datetime) -> list[BroadcastRecipient]:
    return list(session.scalars(select(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == RecipientStatus.deferred,
        BroadcastRecipient.deferred_until <= now).order_by(BroadcastRecipient.id)))


def next_deferral(session: Session, broadcast_id: int) -> datetime | None:
    return session.scalar(select(func.min(BroadcastRecipient.deferred_until)).where(
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == RecipientStatus.deferred))


def recipient_counts(session: Session, broadcast_id: int) -> list[tuple[str, str | None, int | None, int]]:
    """(status, rule, variant_id, how many) of a broadcast's recipients."""
    rows = session.execute(select(BroadcastRecipient.status, BroadcastRecipient.rule, BroadcastRecipient.variant_id,
                                  func.count())
                           .where(BroadcastRecipient.broadcast_id == broadcast_id)
                           .group_by(BroadcastRecipient.status, BroadcastRecipient.rule,
                                     BroadcastRecipient.variant_id))
    return [(str(status), str(rule) if rule else None, variant_id, count) for status, rule, variant_id, count in rows]


def task_counts(session: Session, broadcast_id: int) -> dict[str, int]:
    rows = session.execute(select(BroadcastTask.status, func.count()).where(BroadcastTask.broadcast_id == broadcast_id)
                           .group_by(BroadcastTask.status))
    return {str(status): count for status, count in rows}


def orders_after(session: Session, corp_id: int, broadcast_id: int, since: datetime, until: datetime
                 ) -> list[tuple[int | None, str, int, Any]]:
    """Per variant (NULL: holdout) and recipient status group: customers who ordered in
    ``[since, until)`` and their order amount — attribution of orders within the window."""
    group = (select(BroadcastRecipient.variant_id, BroadcastRecipient.status, BroadcastRecipient.customer_id)
             .where(BroadcastRecipient.broadcast_id == broadcast_id).subquery())
    rows = session.execute(
        select(group.c.variant_id, group.c.status, func.count(func.distinct(Order.customer_id)),
               func.coalesce(func.sum(Order.amount), 0))
        .join(Order, and_(Order.customer_id == group.c.customer_id, Order.corp_id == corp_id,
                          Order.paid_at >= since, Order.paid_at < until))
        .group_by(group.c.variant_id, group.c.status))
    return [(variant_id, str(status), buyers, amount) for variant_id, status, buyers, amount in rows]


def pending_tasks(session: Session, corp_id: int, broadcast_id: int) -> list[BroadcastTask]:
    return list(session.scalars(select(BroadcastTask).where(
        BroadcastTask.corp_id == corp_id, BroadcastTask.broadcast_id == broadcast_id,
        BroadcastTask.status.in_([TaskStatus.creating, TaskStatus.awaiting_staff])).order_by(BroadcastTask.id)))
