"""Full and incremental sync from the emulator: mirrors its state, is idempotent, picks up changes and
resumes after a crash from its checkpoint."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from siyu.customer import contacts_bulk
from siyu.customer.contacts_bulk import ContactRecord, FollowRecord
from siyu.integrations.wecom.errors import WeComNotConnected
from siyu.integrations.wecom.sync_org import ensure_staff
from siyu.integrations.wecom.sync_runner import phase_counts
from siyu.models import Corp, Customer, Department, DepartmentKind, Identity, Job, Relation, WeComSyncRun
from siyu.models.customer import RelationStatus
from siyu.org.bootstrap import create_corp_with_hq
from tests.integrations.wecom.sync_helpers import (
    assert_mirrors,
    changes,
    expected,
    make_sync,
    runs,
    synced,
    table_state,
)


class Crash(Exception):
    pass


@pytest.fixture
def world(wecom_emulator):
    wecom_emulator.seed(departments=8, staff=12, customers=150, groups=4)
    return wecom_emulator.state.corps[wecom_emulator.corp_id]


@pytest.fixture
def corp_id(database, settings, wecom_emulator, world) -> int:
    """A corp created in siyu (with its own head office) and connected to the emulator."""
    with database.session() as session:
        corp = create_corp_with_hq(session, "fruit", "鲜果")
        return wecom_emulator.connect(session, secret_key=settings.secret_key, corp=corp)


def test_full_sync_mirrors_the_emulator(database, clock, settings, corp_id, world):
    # when a first sync runs
    run = make_sync(database, clock, settings).sync(corp_id)

    # then it was a full sync and siyu holds exactly what WeCom holds
    assert (run.kind, run.status, run.phase, run.error) == ("full", "done", "done", None)
    assert_mirrors(database, corp_id, world)
    assert phase_counts(run.counts, "customers")["customers_created"] == 150
    assert phase_counts(run.counts, "customers")["relations_created"] == len(expected(world)["relations"])


def test_department_tree_adopts_the_head_office_and_materialises_paths(database, clock, settings, corp_id,
                                                                       world):
    make_sync(database, clock, settings).sync(corp_id)

    with database.session() as session:
        rows = {row.wecom_id: row for row in session.execute(
            select(Department.id, Department.wecom_id, Department.path, Department.kind, Department.parent_id)
            .where(Department.corp_id == corp_id))}
    # the head office siyu created became WeCom's root: no second head office
    assert len(rows) == len(world.departments)
    assert rows[1].kind == DepartmentKind.hq and rows[1].parent_id is None
    for wecom_id, department in world.departments.items():
        chain, current = [], wecom_id
        while current in world.departments:
            chain.insert(0, rows[current].id)
            current = world.departments[current].parentid
        assert rows[wecom_id].path == "/" + "".join(f"{local}/" for local in chain)
    regions = {d.parentid for d in world.departments.values()} - {0, 1}
    assert {rows[r].kind for r in regions} == {DepartmentKind.branch}
    stores = set(world.departments) - regions - {1}
    assert {rows[s].kind for s in stores} == {DepartmentKind.store}


def test_second_sync_changes_nothing(database, clock, settings, corp_id, world):
    # given a finished full sync
    sync = make_sync(database, clock, settings)
    sync.sync(corp_id)
    before = table_state(database)

    # when another full sync runs an hour later
    clock.advance(3600)
    again = sync.sync(corp_id, "full")

    # then no row was inserted, updated or deleted
    assert table_state(database) == before
    assert changes(again.counts) == {}
    assert phase_counts(again.counts, "customers")["rows"] == len(expected(world)["relations"])


def test_incremental_sync_picks_up_changes(database, clock, settings, corp_id, world, wecom_emulator):
    # given a synced corp
    sync = make_sync(database, clock, settings)
    sync.sync(corp_id)
    emulator, corp = wecom_emulator.simulator, wecom_emulator.corp_id
    clock.advance(3600)

    # when, in WeCom, a customer scans a code, another deletes a member, an admin adds a tag group,
    # a store and a member, and groups are created, left and dismissed
    way = next(iter(world.contact_ways))
    scanned = emulator.scan_contact_way(corp, way, name="新客户", unionid="onewunionid0001")
    lost_userid = sorted(world.customers_by_user)[0]
    lost = next(iter(world.customers_by_user[lost_userid]))
    emulator.customer_delete_staff(corp, lost, lost_userid)
    emulator.admin_create_tags(corp, ["早鸟", "晚鸟"], group_name="购买时段")
    store = emulator.admin_add_department(corp, "杭州新店", parentid=2)["id"]
    emulator.admin_add_user(corp, "newbie01", "新同事", department=[store])
    chats = sorted(world.groups)
    emulator.staff_dismiss_group(corp, chats[0])
    leaver = next(m for m in world.groups[chats[1]].members.values() if m.type == 2).userid
    emulator.leave_group(corp, chats[1], leaver)
    owner = scanned["userid"]
    created = emulator.staff_create_group(corp, owner, "新品尝鲜群",
                                          members=[scanned["external_userid"]])["chat_id"]
    wecom_emulator.forget_requests()
    run = sync.sync(corp_id)

    # then the incremental run mirrors WeCom again, touching only what changed
    assert run.kind == "incremental"
    assert_mirrors(database, corp_id, world)
    assert wecom_emulator.count("externalcontact/batch/get_by_user") == 0
    assert wecom_emulator.count("externalcontact/get") == 1
    relations, groups = phase_counts(run.counts, "relations"), phase_counts(run.counts, "groups")
    assert (relations["customers_created"], relations["relations_created"],
            relations["relations_ended"]) == (1, 1, 1)
    assert (groups["groups_created"], groups["groups_dismissed"], groups["members_left"]) == (1, 1, 1)
    with database.session() as session:
        ended = session.execute(select(Relation.status, Relation.ended_at).where(
            Relation.external_userid == lost)).all()
        newcomer = session.execute(select(Customer.name, Customer.first_seen_at).join(
            Identity, Identity.customer_id == Customer.id).where(
            Identity.value == scanned["external_userid"])).one()
    assert [tuple(row) for row in ended] == [(RelationStatus.deleted_by_staff, clock.now())]
    assert tuple(newcomer) == ("新客户", clock.now())
    assert created in synced(database, corp_id)["groups"]


def test_crashed_sync_resumes_from_its_checkpoint(database, clock, settings, corp_id, world, wecom_emulator):
    # given a sync that crashes after its third page of customers
    def crash(phase: str, units: int) -> None:
        if phase == "customers" and phase_counts(runs(database)[0].counts, "customers")["pages"] == 3:
            raise Crash("worker killed")

    with pytest.raises(Crash):
        make_sync(database, clock, settings, after_commit=crash).sync(corp_id)
    crashed = runs(database)[0]
    assert (crashed.status, crashed.phase, crashed.error) == ("failed", "customers", "Crash: worker killed")
    assert crashed.checkpoint["cursor"] != "" and crashed.checkpoint["chunk"] == 0
    with database.session() as session:
        partial = session.scalar(select(func.count()).select_from(Relation))
    assert partial == 60

    # when the sync is started again
    resumed = make_sync(database, clock, settings).sync(corp_id)

    # then the same run continued after the last committed page and ended with the full result
    assert [(r.id, r.status) for r in runs(database)] == [(crashed.id, "done")]
    assert resumed.id == crashed.id
    assert_mirrors(database, corp_id, world)
    customers = phase_counts(resumed.counts, "customers")
    assert wecom_emulator.count("externalcontact/batch/get_by_user") == customers["pages"]
    assert customers["rows"] == len(expected(world)["relations"])


def test_crash_in_a_late_phase_keeps_earlier_phases(database, clock, settings, corp_id, world,
                                                    wecom_emulator):
    # given a sync that crashes while writing group chats
    def crash(phase: str, units: int) -> None:
        if phase == "groups":
            raise Crash("disk full")

    with pytest.raises(Crash):
        make_sync(database, clock, settings, after_commit=crash).sync(corp_id)
    wecom_emulator.forget_requests()

    # when it resumes
    make_sync(database, clock, settings).sync(corp_id)

    # then only the group phase ran again (from the chat after the saved one)
    assert wecom_emulator.count("externalcontact/batch/get_by_user") == 0
    assert wecom_emulator.count("externalcontact/get_follow_user_list") == 0
    assert wecom_emulator.count("externalcontact/groupchat/get") == len(world.groups) - 2
    assert_mirrors(database, corp_id, world)


def test_sync_without_connection_is_refused_and_writes_nothing(database, clock, settings):
    with database.session() as session:
        corp = Corp(slug="offline", name="未接入")
        session.add(corp)
        session.flush()
        corp_id = corp.id

    with pytest.raises(WeComNotConnected):
        make_sync(database, clock, settings).sync(corp_id)

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(WeComSyncRun)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_unionid_links_to_and_merges_into_the_known_customer(database, clock, settings, corp_id, world):
    # given a customer known from the mini program by unionid only, and a contact already synced
    # under another customer while a third customer holds its unionid
    contacts = sorted(world.customers.values(), key=lambda c: c.external_userid)
    first, second = contacts[0], contacts[1]
    with database.session() as session:
        shopper = Customer(corp_id=corp_id, name="小程序会员")
        earlier = Customer(corp_id=corp_id, name="旧档案")
        member = Customer(corp_id=corp_id, name="会员卡")
        session.add_all([shopper, earlier, member])
        session.flush()
        session.add_all([
            Identity(corp_id=corp_id, customer_id=shopper.id, kind="unionid", value=first.unionid),
            Identity(corp_id=corp_id, customer_id=earlier.id, kind="wecom_external_userid",
                     value=second.external_userid),
            Identity(corp_id=corp_id, customer_id=member.id, kind="unionid", value=second.unionid)])
        ids = (shopper.id, earlier.id, member.id)

    # when the corp is synced
    run = make_sync(database, clock, settings).sync(corp_id)

    # then the first contact became the mini-program customer, and the earlier record merged into
    # the card member's
    with database.session() as session:
        owner = dict(session.execute(select(Identity.value, Identity.customer_id).where(
            Identity.value.in_([first.external_userid, second.external_userid]))).all())
        merged = session.scalar(select(Customer.merged_into_id).where(Customer.id == ids[1]))
        customers = session.scalar(select(func.count()).select_from(Customer)
                                   .where(Customer.merged_into_id.is_(None)))
    assert owner == {first.external_userid: ids[0], second.external_userid: ids[2]}
    assert merged == ids[2]
    assert customers == 150
    assert phase_counts(run.counts, "customers")["customers_merged"] == 1
    assert_mirrors(database, corp_id, world)


def test_concurrent_writers_create_each_customer_once(database, clock, corp_id, world):
    # given two workers writing the same page of new contacts at the same time
    with database.session() as session:
        ensure_staff(session, corp_id, world.members, clock.now())
    page = [ContactRecord(external_userid=c.external_userid, name=c.name, unionid=c.unionid,
                          follows=(FollowRecord(staff_userid=next(iter(c.follows)), added_at=clock.now()),))
            for c in list(world.customers.values())[:40]]
    first = database.session_factory()
    contacts_bulk.upsert_contacts(first, corp_id, page, now=clock.now())
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        with database.session(immediate=True) as session:
            outcome["stats"], _ = contacts_bulk.upsert_contacts(session, corp_id, page, now=clock.now())

    thread = threading.Thread(target=second_writer)
    thread.start()
    if not database.is_sqlite:  # wait until the second writer waits on the first one's identity rows
        with database.engine.connect() as watcher:
            while thread.is_alive() and not watcher.execute(
                    text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                watcher.rollback()

    # when the first commits and the second finishes
    first.commit()
    first.close()
    thread.join(timeout=60)

    # then each contact is one customer with one identity and one relation
    with database.session() as session:
        counts = tuple(session.scalar(select(func.count()).select_from(model))
                       for model in (Customer, Relation))
        identities = session.scalar(select(func.count()).select_from(Identity).where(
            Identity.kind == "wecom_external_userid"))
    assert (counts, identities) == ((40, 40), 40)
    assert (outcome["stats"].customers_created, outcome["stats"].relations_created) == (0, 0)
