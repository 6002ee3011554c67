"""Staff tasks: bulk creation (idempotent), creation from a query, completion in scope, expiry,
cancellation by source, completion rates per staff member and store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.models import Job, Relation, StaffTask
from siyu.models.staff_task import StaffTaskKind, StaffTaskStatus
from siyu.staff_task import repository, service
from siyu.staff_task.service import TaskDraft
from tests.loyalty.conftest import NOW, principal


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(StaffTask))


def _drafts(corp, key: str = "k"):
    s1, s2, s3 = corp.staff_ids
    return [TaskDraft(s1, StaffTaskKind.send_message, "生日祝福", customer_id=corp.served[s1][0], content="生日快乐",
                      due_at=NOW + timedelta(days=1), idempotency_key=f"{key}:1", coins=5),
            TaskDraft(s2, StaffTaskKind.follow_up, "回访", customer_id=corp.served[s2][0], idempotency_key=f"{key}:2"),
            TaskDraft(s3, StaffTaskKind.call_back, "回电", idempotency_key=f"{key}:3")]


def test_bulk_creation_is_idempotent_per_key_and_schedules_expiry(database, corp):
    with database.session() as session:
        created = service.create_tasks(session, corp.corp_id, _drafts(corp), source_kind="journey",
                                       source_ref="j1/n4", now=NOW)
        again = service.create_tasks(session, corp.corp_id, _drafts(corp), source_kind="journey",
                                     source_ref="j1/n4", now=NOW)
        assert (created, again, _count(session)) == (3, 0, 3)
        assert session.scalars(select(Job.key).where(Job.name == "staff_tasks.expire")).all() == [
            "staff_tasks.expire:2026-01-05T10"]


def test_drafts_naming_another_corps_staff_or_customer_are_refused_whole(database, corp, brand):
    other = brand[1]
    bad_staff = _drafts(corp) + [TaskDraft(other.staff_ids[0], StaffTaskKind.custom, "x")]
    bad_customer = [TaskDraft(corp.staff_ids[0], StaffTaskKind.custom, "x", customer_id=other.customer_ids[0])]
    with database.session() as session:
        with pytest.raises(InvalidInput) as staff_refused:
            service.create_tasks(session, corp.corp_id, bad_staff, source_kind="manual", now=NOW)
        with pytest.raises(InvalidInput) as customer_refused:
            service.create_tasks(session, corp.corp_id, bad_customer, source_kind="manual", now=NOW)
        assert (staff_refused.value.field, customer_refused.value.field) == ("tasks[3].staff_id",
                                                                            "tasks[0].customer_id")
        assert _count(session) == 0


def test_tasks_from_a_query_of_staff_and_customers(database, corp):
    pairs = select(Relation.staff_id, Relation.customer_id).where(Relation.corp_id == corp.corp_id)
    with database.session() as session:
        created = service.create_tasks_from_query(session, corp.corp_id, pairs, kind=StaffTaskKind.send_message,
                                                  title="群发提醒", content="新品到店", source_kind="broadcast",
                                                  source_ref="b9", key_prefix="broadcast:9", now=NOW)
        again = service.create_tasks_from_query(session, corp.corp_id, pairs, kind=StaffTaskKind.send_message,
                                                title="群发提醒", source_kind="broadcast", key_prefix="broadcast:9",
                                                now=NOW)
        assert (created, again) == (6, 0)
        rows = session.execute(select(StaffTask.staff_id, StaffTask.customer_id, StaffTask.idempotency_key,
                                      StaffTask.status, StaffTask.content).order_by(StaffTask.customer_id)).all()
        expected = [(staff, customer, f"broadcast:9:{staff}:{customer}", StaffTaskStatus.open, "新品到店")
                    for staff, served in corp.served.items() for customer in served]
        assert rows == sorted(expected, key=lambda row: row[1])


def test_staff_see_and_complete_only_their_own_tasks(database, corp):
    with database.session() as session:
        service.create_tasks(session, corp.corp_id, _drafts(corp), source_kind="manual", now=NOW)
    staff_user = principal(database, corp, "staff")  # staff s3
    manager = principal(database, corp, "store_manager")  # store 1: s1, s2
    with database.session() as session:
        own = session.scalars(repository.tasks_query(staff_user)).all()
        managed = session.scalars(repository.tasks_query(manager).order_by(StaffTask.id)).all()
        assert [t.staff_id for t in own] == [corp.staff_ids[2]]
        assert [t.staff_id for t in managed] == corp.staff_ids[:2]
        with pytest.raises(NotFound):
            service.complete_task(session, staff_user, managed[0].id, now=NOW)
        done = service.complete_task(session, staff_user, own[0].id, now=NOW)
        assert (done.status, done.completed_at, done.completed_by_user_id) == (
            StaffTaskStatus.done, NOW, corp.users["staff"])
        with pytest.raises(Conflict):
            service.cancel_task(session, staff_user, own[0].id, now=NOW)
        assert session.get(StaffTask, own[0].id).status == StaffTaskStatus.done


def test_overdue_open_tasks_expire_and_sources_cancel_theirs(database, corp):
    with database.session() as session:
        service.create_tasks(session, corp.corp_id, _drafts(corp), source_kind="broadcast", source_ref="b1", now=NOW)
        assert service.expire_overdue(session, corp.corp_id, now=NOW + timedelta(days=1)) == 1
        assert service.cancel_tasks_of_source(session, corp.corp_id, source_kind="broadcast", source_ref="b1",
                                              now=NOW) == 2
        statuses = session.scalars(select(StaffTask.status).order_by(StaffTask.id)).all()
        assert statuses == [StaffTaskStatus.expired, StaffTaskStatus.cancelled, StaffTaskStatus.cancelled]


def test_completion_rates_per_staff_and_store(database, corp):
    s1, s2, s3 = corp.staff_ids
    admin = principal(database, corp)
    with database.session() as session:
        drafts = [TaskDraft(s, StaffTaskKind.follow_up, "回访", idempotency_key=f"r:{s}:{n}", coins=2,
                            due_at=NOW + timedelta(hours=1))
                  for s, n in ((s1, 1), (s1, 2), (s1, 3), (s2, 1), (s3, 1), (s3, 2))]
        service.create_tasks(session, corp.corp_id, drafts, source_kind="manual", now=NOW)
        ids = dict(session.execute(select(StaffTask.idempotency_key, StaffTask.id)).all())
        for key in (f"r:{s1}:1", f"r:{s1}:2", f"r:{s3}:1"):
            service.complete_task(session, admin, ids[key], now=NOW)
        service.expire_overdue(session, corp.corp_id, now=NOW + timedelta(hours=2))
        by_staff = [(r.key_id, r.total, r.done, r.expired, r.coins, r.rate)
                    for r in service.completion_rates(session, admin, group_by="staff")]
        by_store = [(r.key_id, r.total, r.done, r.rate)
                    for r in service.completion_rates(session, admin, group_by="store")]
        assert by_staff == [(s1, 3, 2, 1, 4, 0.6667), (s2, 1, 0, 1, 0, 0.0), (s3, 2, 1, 1, 2, 0.5)]
        assert by_store == [(corp.store_ids[0], 4, 2, 0.5), (corp.store_ids[1], 2, 1, 0.5)]
        manager = principal(database, corp, "store_manager")
        assert [r.key_id for r in service.completion_rates(session, manager, group_by="staff")] == [s1, s2]
        with pytest.raises(InvalidInput):
            service.completion_rates(session, admin, group_by="city")
