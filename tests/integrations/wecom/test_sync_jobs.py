"""The sync and contact refresh as durable jobs run by a worker, and ``siyu sync wecom``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from siyu.integrations.wecom.errors import WeComNotConnected
from siyu.integrations.wecom.sync import request_sync
from siyu.integrations.wecom.sync_cli import run_sync_command
from siyu.kit.jobs import Worker, enqueue, load_handler_modules
from siyu.kit.settings import get_settings
from siyu.models import Corp, Customer, Identity, Job, Relation, Staff, WeComSyncRun
from siyu.models.customer import RelationStatus
from siyu.models.job import JobStatus
from siyu.org.bootstrap import create_corp_with_hq
from tests.integrations.wecom.sync_helpers import assert_mirrors, make_sync, runs

REFRESH = "wecom.refresh_external_contact"


@pytest.fixture(autouse=True)
def process_settings(settings, monkeypatch):
    """Jobs and the CLI read the process settings: give them the test's secret key."""
    monkeypatch.setenv("SIYU_SECRET_KEY", settings.secret_key)
    get_settings.cache_clear()
    load_handler_modules()
    yield
    get_settings.cache_clear()


@pytest.fixture
def world(wecom_emulator):
    wecom_emulator.seed(departments=6, staff=8, customers=60, groups=3)
    return wecom_emulator.state.corps[wecom_emulator.corp_id]


@pytest.fixture
def corp_id(database, settings, wecom_emulator, world) -> int:
    with database.session() as session:
        corp = create_corp_with_hq(session, "fruit", "鲜果")
        return wecom_emulator.connect(session, secret_key=settings.secret_key, corp=corp)


def jobs(database) -> list[tuple[str, JobStatus, str | None]]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(
            select(Job.name, Job.status, Job.last_error).order_by(Job.id))]


def test_requested_sync_runs_as_a_job(database, clock, corp_id, world):
    # given the console asked for a sync
    with database.session() as session:
        run_id = request_sync(session, corp_id, None, clock).id

    # when a worker runs the queued job
    assert Worker(database, clock=clock).run_once() == 1

    # then the run finished and siyu mirrors WeCom
    assert jobs(database) == [("wecom.sync", JobStatus.done, None)]
    assert [(r.id, r.kind, r.status) for r in runs(database)] == [(run_id, "full", "done")]
    assert_mirrors(database, corp_id, world)


def test_request_sync_refuses_a_corp_without_connection(database, clock):
    with database.session() as session:
        corp = Corp(slug="offline", name="未接入")
        session.add(corp)
        session.flush()
        with pytest.raises(WeComNotConnected):
            request_sync(session, corp.id, None, clock)
    assert jobs(database) == []
    assert runs(database) == []


def test_refresh_job_brings_one_contact_up_to_date(database, clock, settings, corp_id, world, wecom_emulator):
    # given a synced corp, then in WeCom a member edits a customer and the customer renames themself
    make_sync(database, clock, settings).sync(corp_id)
    contact = sorted(world.customers.values(), key=lambda c: c.external_userid)[0]
    userid = next(iter(contact.follows))
    new_tag = next(t for t in world.tags if t not in contact.follows[userid].tag_ids)
    wecom_emulator.simulator.staff_edit_customer(wecom_emulator.corp_id, userid, contact.external_userid,
                                                 remark="VIP 客户", add_tag=[new_tag])
    contact.name = "改名后的客户"
    clock.advance(60)

    # when the refresh job runs (enqueued by the edit callback's handler)
    with database.session() as session:
        enqueue(session, REFRESH, {"corp_id": corp_id, "external_userid": contact.external_userid},
                corp_id=corp_id)
    assert Worker(database, clock=clock).run_once() == 1

    # then the customer, its relation and its tags match WeCom again
    assert jobs(database) == [(REFRESH, JobStatus.done, None)]
    assert_mirrors(database, corp_id, world)
    with database.session() as session:
        name = session.scalar(select(Customer.name).join(Identity, Identity.customer_id == Customer.id)
                              .where(Identity.value == contact.external_userid))
        remark = session.scalar(select(Relation.remark).join(Staff, Staff.id == Relation.staff_id).where(
            Relation.external_userid == contact.external_userid, Staff.userid == userid))
    assert (name, remark) == ("改名后的客户", "VIP 客户")


def test_refresh_by_wecom_corp_id_ends_relations_that_are_gone(database, clock, settings, corp_id, world,
                                                               wecom_emulator):
    # given a synced customer who then deleted every member
    make_sync(database, clock, settings).sync(corp_id)
    contact = sorted(world.customers.values(), key=lambda c: c.external_userid)[1]
    followers = list(contact.follows)
    for userid in followers:
        wecom_emulator.simulator.customer_delete_staff(wecom_emulator.corp_id, contact.external_userid,
                                                       userid)
    clock.advance(60)

    # when the refresh job names the corp by its WeCom corp id
    with database.session() as session:
        enqueue(session, REFRESH, {"corp_id": wecom_emulator.corp_id,
                                   "external_userid": contact.external_userid})
    Worker(database, clock=clock).run_once()

    # then every relation with the customer ended
    with database.session() as session:
        statuses = session.execute(select(Relation.status, Relation.ended_at).where(
            Relation.external_userid == contact.external_userid)).all()
    assert [tuple(row) for row in statuses] == [
        (RelationStatus.deleted_by_staff, clock.now())] * len(followers)
    assert jobs(database) == [(REFRESH, JobStatus.done, None)]


def test_refresh_for_an_unknown_corp_dies_without_effect(database, clock, corp_id):
    with database.session() as session:
        enqueue(session, REFRESH, {"corp_id": "wwunknown", "external_userid": "wmnobody"})
    Worker(database, clock=clock).run_once()

    assert jobs(database) == [(REFRESH, JobStatus.dead, "siyu.kit.jobs.PermanentJobError: "
                                                        "no WeCom connection for corp 'wwunknown'")]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_cli_syncs_with_progress_and_reports_counts(database, clock, settings, corp_id, world):
    lines: list[str] = []

    code = run_sync_command(settings, corp_slug="fruit", full=False, echo=lines.append)

    assert code == 0
    assert [line.split(":")[0].strip() for line in lines[:-1]] == ["部门", "员工", "企业标签", "客户", "跟进关系",
                                                                   "客户群"]
    relations = sum(len(c.follows) for c in world.customers.values())
    assert lines[3] == f"  客户: rows {relations} · customers_created {len(world.customers)} · " \
                       f"relations_created {relations}"
    assert lines[-1].startswith("用时 ")
    assert_mirrors(database, corp_id, world)


def test_cli_refuses_an_unknown_corp(database, clock, settings):
    lines: list[str] = []

    code = run_sync_command(settings, corp_slug="nope", full=True, echo=lines.append)

    assert (code, lines) == (1, ["企业 nope 不存在"])
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(WeComSyncRun)) == 0
