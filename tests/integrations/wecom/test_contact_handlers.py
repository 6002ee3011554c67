"""``wecom.handle_callback`` for change_external_contact: customers, identities and relations, the
hooks later features subscribe to, idempotent replays and late deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siyu.customer import contacts
from siyu.kit.tenancy import Principal
from siyu.models import CallbackStatus, Customer, Identity, JobStatus, Relation, RelationStatus, Role, Staff
from siyu.wecom import service as wecom_service
from tests.integrations.wecom.delivery import event
from tests.integrations.wecom.handling import harness  # noqa: F401 — fixture

EXTERNAL = "wmCustomer000000000001AAAA"


def contact_event(change_type: str, create_time: int, *, userid: str = "alpha-s1", external_userid: str = EXTERNAL,
                  **extra: str) -> str:
    return event("change_external_contact", change_type, create_time, UserID=userid,
                 ExternalUserID=external_userid, **extra)


def _identity_customer(session, corp_id: int, external_userid: str = EXTERNAL) -> Customer | None:
    return session.scalars(select(Customer).join(Identity, Identity.customer_id == Customer.id).where(
        Identity.corp_id == corp_id, Identity.kind == "wecom_external_userid",
        Identity.value == external_userid)).one_or_none()


def _relations(session, customer_id: int) -> list[Relation]:
    return list(session.scalars(select(Relation).where(Relation.customer_id == customer_id).order_by(Relation.id)))


def _staff_id(session, corp_id: int, userid: str) -> int:
    return session.scalars(select(Staff.id).where(Staff.corp_id == corp_id, Staff.userid == userid)).one()


@pytest.fixture
def added_hook(monkeypatch) -> list[contacts.CustomerAdded]:
    seen: list[contacts.CustomerAdded] = []
    monkeypatch.setattr(contacts, "on_customer_added", [lambda session, added: seen.append(added)])
    return seen


def test_customer_added_creates_customer_identity_and_relation(harness, database, added_hook):
    # Given a customer who scanned alpha-s1's contact way with state "store-1"
    now = harness.now
    xml = contact_event("add_external_contact", now, State="store-1", WelcomeCode="WELCOME-1")
    # When the callback is delivered and handled
    callback = harness.handle(xml)
    # Then the customer, its wecom_external_userid identity and an active relation exist
    with database.session() as session:
        customer = _identity_customer(session, harness.corp_id)
        assert customer is not None
        assert (customer.corp_id, customer.name, customer.first_seen_at) == (harness.corp_id, None, harness.at(now))
        relations = _relations(session, customer.id)
        staff_id = _staff_id(session, harness.corp_id, "alpha-s1")
    assert [(r.staff_id, r.external_userid, r.state, r.add_way, r.status, r.added_at, r.ended_at)
            for r in relations] == [(staff_id, EXTERNAL, "store-1", None, RelationStatus.active, harness.at(now), None)]
    assert (callback.status, callback.reason) == (CallbackStatus.handled, f"relation {relations[0].id} active")
    # And the contact is refreshed from WeCom by a job keyed by the event
    refresh = harness.jobs("wecom.refresh_external_contact")
    assert [(j.args, j.corp_id, j.key, j.status) for j in refresh] == [
        ({"corp_id": harness.corp_id, "external_userid": EXTERNAL}, harness.corp_id,
         f"wecom.refresh_external_contact:{callback.event_key}", JobStatus.queued)]
    # And subscribers learn about it, welcome code included
    assert added_hook == [contacts.CustomerAdded(
        corp_id=harness.corp_id, customer_id=customer.id, relation_id=relations[0].id, staff_id=staff_id,
        userid="alpha-s1", external_userid=EXTERNAL, added_at=harness.at(now), state="store-1",
        welcome_code="WELCOME-1", half=False, new_customer=True)]


def test_the_same_customer_adding_a_second_staff_member_is_one_customer(harness, database, added_hook):
    harness.handle(contact_event("add_external_contact", harness.now, State="a"))
    harness.clock.advance(60)
    harness.handle(contact_event("add_external_contact", harness.now, userid="alpha-s3"))
    with database.session() as session:
        customer = _identity_customer(session, harness.corp_id)
        relations = _relations(session, customer.id)
        assert session.scalar(select(func.count()).select_from(Identity)
                              .where(Identity.value == EXTERNAL)) == 1
    assert [(r.state, r.status) for r in relations] == [("a", RelationStatus.active), (None, RelationStatus.active)]
    assert [h.new_customer for h in added_hook] == [True, False]


def test_half_added_customer_gets_a_relation_and_the_welcome_code(harness, database, added_hook):
    now = harness.now
    harness.handle(contact_event("add_half_external_contact", now, State="ad-7", WelcomeCode="HALF-CODE"))
    # The member confirms later: same relation, no second welcome code
    harness.clock.advance(30)
    confirmed = harness.handle(contact_event("add_external_contact", harness.now, State="ad-7"))
    with database.session() as session:
        relations = _relations(session, _identity_customer(session, harness.corp_id).id)
    assert [(r.state, r.status, r.added_at) for r in relations] == [("ad-7", RelationStatus.active, harness.at(now))]
    assert [(h.half, h.welcome_code) for h in added_hook] == [(True, "HALF-CODE")]
    assert confirmed.status == CallbackStatus.handled


def test_an_unknown_staff_member_is_created_from_the_userid(harness, database):
    harness.handle(contact_event("add_external_contact", harness.now, userid="newcomer"))
    with database.session() as session:
        staff = session.scalars(select(Staff).where(Staff.userid == "newcomer")).one()
    assert (staff.corp_id, staff.name, staff.department_id) == (harness.corp_id, "newcomer", None)


def test_edit_enqueues_a_refresh_and_changes_no_relation(harness, database):
    harness.handle(contact_event("add_external_contact", harness.now, State="s"))
    harness.clock.advance(10)
    edited = harness.handle(contact_event("edit_external_contact", harness.now))
    with database.session() as session:
        relations = _relations(session, _identity_customer(session, harness.corp_id).id)
    assert [(r.state, r.status) for r in relations] == [("s", RelationStatus.active)]
    assert (edited.status, edited.reason) == (CallbackStatus.handled, "contact refresh enqueued")
    assert [j.key for j in harness.jobs("wecom.refresh_external_contact")][-1] == \
        f"wecom.refresh_external_contact:{edited.event_key}"


@pytest.mark.parametrize(("change_type", "extra", "status"), [
    ("del_external_contact", {}, RelationStatus.deleted_by_staff),
    ("del_external_contact", {"Source": "DELETE_BY_TRANSFER"}, RelationStatus.transferred),
    ("del_follow_user", {}, RelationStatus.deleted_by_customer),
])
def test_ended_relations(harness, database, monkeypatch, change_type, extra, status):
    lost: list[contacts.ContactEnded] = []
    monkeypatch.setattr(contacts, "on_customer_lost", [lambda session, ended: lost.append(ended)])
    harness.handle(contact_event("add_external_contact", harness.now))
    harness.clock.advance(3600)
    ended_at = harness.now
    callback = harness.handle(contact_event(change_type, ended_at, **extra))
    with database.session() as session:
        relation = _relations(session, _identity_customer(session, harness.corp_id).id)[0]
    assert (relation.status, relation.ended_at) == (status, harness.at(ended_at))
    assert callback.reason == f"relation {relation.id} {status.value}"
    # Only the customer deleting the staff member is a lost customer
    expected = [contacts.ContactEnded(harness.corp_id, relation.customer_id, relation.id, relation.staff_id,
                                      status, harness.at(ended_at))]
    assert lost == (expected if status == RelationStatus.deleted_by_customer else [])


def test_a_late_add_does_not_revive_a_deleted_relation_but_a_new_add_does(harness, database):
    first = harness.now
    harness.handle(contact_event("add_external_contact", first))
    harness.clock.advance(100)
    harness.handle(contact_event("del_follow_user", harness.now))
    deleted_at = harness.now
    # An add older than the deletion arrives late (a different event: other state)
    late = harness.handle(contact_event("add_external_contact", first - 5, State="late"))
    with database.session() as session:
        relation = _relations(session, _identity_customer(session, harness.corp_id).id)[0]
    assert (relation.status, relation.ended_at, relation.state) == (
        RelationStatus.deleted_by_customer, harness.at(deleted_at), None)
    assert late.reason == "older than the relation's end; unchanged"
    # The customer adds the staff member again later: active again with the new time and state
    harness.clock.advance(100)
    again = harness.now
    harness.handle(contact_event("add_external_contact", again, State="comeback"))
    with database.session() as session:
        relation = _relations(session, _identity_customer(session, harness.corp_id).id)[0]
    assert (relation.status, relation.ended_at, relation.added_at, relation.state) == (
        RelationStatus.active, None, harness.at(again), "comeback")


def test_deleting_an_unknown_contact_changes_nothing(harness, database):
    callback = harness.handle(contact_event("del_external_contact", harness.now, external_userid="wmNobody"))
    with database.session() as session:
        assert _identity_customer(session, harness.corp_id, "wmNobody") is None
    assert (callback.status, callback.reason) == (CallbackStatus.handled, "no active relation; unchanged")


def test_transfer_fail_gives_a_pending_hand_over_back(harness, database, monkeypatch):
    failures: list[contacts.TransferFailed] = []
    monkeypatch.setattr(contacts, "on_transfer_failed", [lambda session, failed: failures.append(failed)])
    harness.handle(contact_event("add_external_contact", harness.now))
    with database.session() as session:
        relation = _relations(session, _identity_customer(session, harness.corp_id).id)[0]
        # The transfer feature marked the hand-over as pending
        session.get(Relation, relation.id).status = RelationStatus.transferred
    harness.clock.advance(86400)
    callback = harness.handle(contact_event("transfer_fail", harness.now, userid="alpha-s3",
                                            FailReason="customer_refused"))
    with database.session() as session:
        restored = session.get(Relation, relation.id)
        assert (restored.status, restored.ended_at) == (RelationStatus.active, None)
    assert callback.reason == f"transfer failed (customer_refused); restored [{relation.id}]"
    assert failures == [contacts.TransferFailed(harness.corp_id, relation.customer_id, "alpha-s3",
                                                "customer_refused", (relation.id,))]


def test_replaying_a_handled_event_changes_nothing_twice(harness, database, added_hook):
    # Given a handled add
    callback = harness.handle(contact_event("add_external_contact", harness.now, State="s", WelcomeCode="W"))
    with database.session() as session:
        before = (session.scalar(select(func.count()).select_from(Customer)),
                  session.scalar(select(func.count()).select_from(Relation)))
    # When an operator replays it
    with database.session() as session:
        admin = Principal(user_id=0, corp_id=harness.corp_id, role=Role.admin)
        wecom_service.replay_callback(session, admin, callback.id, harness.clock)
    harness.run_jobs()
    # Then the event is handled again without a second customer, relation or refresh
    with database.session() as session:
        after = (session.scalar(select(func.count()).select_from(Customer)),
                 session.scalar(select(func.count()).select_from(Relation)))
    replayed = harness.latest()
    assert after == before
    assert (replayed.id, replayed.status, replayed.replay_count) == (callback.id, CallbackStatus.handled, 1)
    assert len(harness.jobs("wecom.refresh_external_contact")) == 1
    # The welcome code is passed on once more (WeCom refuses a used code; subscribers must expect it)
    assert [h.welcome_code for h in added_hook] == ["W", "W"]


def test_an_event_siyu_does_not_act_on_is_stored_and_marked_handled(harness):
    callback = harness.handle(event("msgaudit_notify", None, harness.now, AgentID=2000004))
    assert (callback.status, callback.event, callback.reason) == (
        CallbackStatus.handled, "msgaudit_notify", "ignored event msgaudit_notify")


def test_handling_uses_the_event_time_not_the_arrival_time(harness, database):
    created = harness.now - 120  # WeCom retried; the event happened two minutes ago
    harness.handle(contact_event("add_external_contact", created))
    with database.session() as session:
        relation = _relations(session, _identity_customer(session, harness.corp_id).id)[0]
    assert relation.added_at == harness.at(created)
    assert harness.clock.now() - relation.added_at == timedelta(minutes=2)
