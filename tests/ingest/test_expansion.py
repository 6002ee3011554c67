"""The ``ingest.expand_batch`` job: stored batches become deduplicated events, their people become
customers (identities, profile, merges as the identity rules allow), and a batch that cannot be
expanded is marked failed instead of blocking the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from tests.ingest.conftest import customer, events, identities_of, make_source

from siyu.kit.jobs import Worker, enqueue
from siyu.models import Customer, CustomerMerge, Event, IngestBatch, IngestSource, Job, JobStatus, Order


def _send(client, source, *messages, **extra):
    response = client.post("/v1/batch", json={"batch": list(messages), **extra}, auth=(source.write_key, ""))
    assert response.status_code == 200, response.text


def test_batch_context_is_merged_into_each_message(client, database, source, expand):
    _send(client, source,
          {"type": "track", "event": "A", "userId": "u", "messageId": "1", "context": {"ip": "10.0.0.9"}},
          {"type": "track", "event": "B", "userId": "u", "messageId": "2"},
          context={"ip": "10.0.0.1", "locale": "zh-CN"})
    expand()

    assert [e.context for e in events(database)] == [{"ip": "10.0.0.9", "locale": "zh-CN"},
                                                     {"ip": "10.0.0.1", "locale": "zh-CN"}]


def test_a_message_without_message_id_is_deduplicated_by_its_content(client, database, source, expand):
    viewed = {"type": "track", "event": "Viewed", "userId": "u-1", "timestamp": "2026-01-05T08:00:00Z"}
    other = {**viewed, "properties": {"sku": "B"}}

    _send(client, source, viewed, viewed, other, sentAt="2026-01-05T08:59:59Z")
    _send(client, source, viewed, sentAt="2026-01-05T08:59:58Z")  # a retry: only sentAt differs
    expand()

    stored = events(database)
    assert [(e.name, e.properties) for e in stored] == [("Viewed", {}), ("Viewed", {"sku": "B"})]
    assert all(e.message_id.startswith("sha256:") and len(e.message_id) == 55 for e in stored)


def test_message_ids_are_unique_per_corp(client, database, brand, source, expand):
    beta = make_source(database, brand[1].corp_id, "乙")
    message = {"type": "track", "event": "Paid", "userId": "u-1", "messageId": "shared-id"}

    _send(client, source, message, message)
    _send(client, beta, message)
    _send(client, source, {**message, "event": "Paid again"})
    expand()

    assert sorted((e.corp_id, e.message_id, e.name) for e in events(database)) == sorted([
        (brand[0].corp_id, "shared-id", "Paid"), (brand[1].corp_id, "shared-id", "Paid")])


def test_identify_traits_become_the_customers_profile_latest_first(client, database, brand, source, expand):
    # given a customer already known by phone (from WeCom, say)
    corp = brand[0]
    known = customer(database, corp.customer_ids[0])

    # when the app identifies that phone twice, the second time with a new name and city
    _send(client, source,
          {"type": "identify", "userId": "app-77", "messageId": "i1",
           "traits": {"phone": known.phone, "name": "旧名字", "city": "南京", "gender": "F"}},
          {"type": "identify", "userId": "app-77", "messageId": "i2",
           "traits": {"name": "新名字", "address": {"city": "苏州"}, "birthday": "1988-12-31T00:00:00+08:00"}})
    expand()

    # then both events are that customer's, who now also holds the app's user id and the latest traits
    assert {e.customer_id for e in events(database)} == {known.id}
    assert ("user_id", "app-77") in identities_of(database, known.id)
    updated = customer(database, known.id)
    assert (updated.name, updated.city, updated.gender, updated.phone, updated.birthday) == (
        "新名字", "苏州", "female", known.phone, datetime(1988, 12, 31, tzinfo=UTC))


def test_an_alias_absorbs_the_anonymous_visitor_into_the_member(client, database, source, expand):
    # given an anonymous visitor's events and, separately, a known member
    _send(client, source, {"type": "page", "anonymousId": "anon-7", "name": "活动页", "messageId": "p1"})
    _send(client, source, {"type": "identify", "userId": "member-1", "messageId": "i1", "traits": {"name": "会员一"}})
    expand()
    visitor = events(database)[0].customer_id
    member = events(database)[1].customer_id
    assert visitor != member

    # when the app aliases the visitor's anonymous id to the member
    _send(client, source, {"type": "alias", "previousId": "anon-7", "userId": "member-1", "messageId": "a1"})
    expand()

    # then the visitor is merged into the member, with the merge recorded, and every event is the member's
    assert [e.customer_id for e in events(database)] == [member, member, member]
    with database.session() as session:
        merge = session.scalars(select(CustomerMerge)).one()
        merged_into = session.get(Customer, visitor).merged_into_id
    assert (merge.survivor_id, merge.merged_id, merge.reason) == (member, visitor, "event:alias")
    assert merged_into == member
    assert identities_of(database, member) == [("anonymous_id", "anon-7"), ("user_id", "member-1")]


def test_an_alias_of_a_previous_user_id_resolves_to_its_holder(client, database, source, expand):
    _send(client, source, {"type": "identify", "userId": "old-id", "messageId": "i1"})
    expand()
    holder = events(database)[0].customer_id

    _send(client, source, {"type": "alias", "previousId": "old-id", "userId": "new-id", "messageId": "a1"})
    expand()

    # a customer holds one user id (the default rule): the alias names the holder, the new id is not attached
    assert [e.customer_id for e in events(database)] == [holder, holder]
    assert identities_of(database, holder) == [("user_id", "old-id")]


def test_a_batch_that_cannot_be_expanded_is_marked_failed(database, clock, source, expand):
    # given a stored batch whose body is not JSON (written by something other than the endpoint)
    with database.session() as session:
        batch = IngestBatch(corp_id=source.corp_id, source_id=source.source_id, endpoint="batch",
                            body=b"\xff not json", event_count=1, status="received", received_at=clock.now())
        session.add(batch)
        session.flush()
        enqueue(session, "ingest.expand_batch", {"batch_id": batch.id}, corp_id=source.corp_id, clock=clock)

    expand()

    with database.session() as session:
        stored = session.get(IngestBatch, batch.id)
        job = session.scalars(select(Job)).one()
    assert (stored.status, stored.processed_at) == ("failed", clock.now())
    assert stored.error.startswith("UnicodeDecodeError")
    assert job.status == JobStatus.done
    assert events(database) == []


def test_expanding_a_batch_again_changes_nothing(client, database, clock, source, expand):
    _send(client, source, {"type": "track", "event": "A", "userId": "u", "messageId": "1"})
    expand()
    with database.session() as session:
        batch_id = session.scalars(select(IngestBatch.id)).one()
        enqueue(session, "ingest.expand_batch", {"batch_id": batch_id}, clock=clock)

    assert expand() == 1
    assert [e.message_id for e in events(database)] == ["1"]


def test_last_event_time_never_moves_back(client, database, clock, source, expand, monkeypatch):
    # given two batches, the later one expanded first (jobs of several workers finish in any order;
    # each job alone, as when other workers hold its neighbours)
    from siyu.ingest import tasks

    monkeypatch.setattr(tasks, "SIBLINGS", 0)
    _send(client, source, {"type": "track", "event": "A", "userId": "u", "messageId": "1"})
    first = clock.now()
    clock.advance(60)
    _send(client, source, {"type": "track", "event": "B", "userId": "u", "messageId": "2"})
    second = clock.now()
    with database.session() as session:
        session.scalars(select(Job).order_by(Job.id)).first().due_at = second + timedelta(minutes=5)
    expand()
    clock.advance(timedelta(minutes=10))

    # when the earlier batch is expanded last
    expand()

    # then the source's last event time stays at the later batch
    with database.session() as session:
        assert session.get(IngestSource, source.source_id).last_event_at == second
        assert session.scalars(select(Event.name).order_by(Event.id)).all() == ["B", "A"]
    assert first < second


def test_an_order_completed_event_writes_an_order_once(client, database, source, expand):
    # given the Segment e-commerce "Order Completed" call, sent twice (a client resending it)
    order = {"type": "track", "event": "Order Completed", "userId": "member-9", "timestamp": "2026-01-04T12:30:00Z",
             "properties": {"order_id": "MP-1001", "total": 128.5, "revenue": 120, "affiliation": "小程序商城",
                            "products": [{"sku": "A", "category": "水果", "price": 60, "quantity": 2},
                                         {"sku": "B", "category": "饮品", "price": 8.5}]}}
    _send(client, source, {**order, "messageId": "o-1"})
    _send(client, source, {**order, "messageId": "o-1-resent"})
    _send(client, source, {"type": "track", "event": "Order Completed", "userId": "member-9", "messageId": "o-2",
                           "properties": {"order_id": "MP-1002"}})  # no amount: an event, not an order
    expand()

    # then one order of the event's customer, and the events are all kept
    stored = events(database)
    assert [e.message_id for e in stored] == ["o-1", "o-1-resent", "o-2"]
    with database.session() as session:
        (row,) = session.scalars(select(Order).where(Order.source == "ingest")).all()
    assert (row.platform, row.shop, row.order_no, row.amount, row.status, row.paid_at, row.item_count,
            row.category, row.buyer_kind, row.buyer_value, row.customer_id) == (
        "web", "小程序商城", "MP-1001", Decimal("128.50"), "paid", datetime(2026, 1, 4, 12, 30, tzinfo=UTC), 3,
        "水果", "user_id", "member-9", stored[0].customer_id)
    assert [item["sku"] for item in row.items] == ["A", "B"]


def test_one_job_takes_waiting_batches_along_and_a_bad_one_fails_alone(client, database, clock, source, expand):
    # given four waiting batches, the third unreadable
    _send(client, source, {"type": "track", "event": "A", "userId": "u", "messageId": "1"})
    _send(client, source, {"type": "track", "event": "B", "userId": "u", "messageId": "2"})
    with database.session() as session:
        session.add(IngestBatch(corp_id=source.corp_id, source_id=source.source_id, endpoint="batch",
                                body=b'{"batch": 7}', event_count=1, status="received", received_at=clock.now()))
    _send(client, source, {"type": "track", "event": "C", "userId": "u", "messageId": "3"})

    # when a worker runs just the first job
    assert Worker(database, clock=clock, batch_size=1).run_once() == 1

    # then every batch was handled by it: the readable ones expanded, the bad one failed with its reason
    with database.session() as session:
        batches = session.execute(select(IngestBatch.status, IngestBatch.error).order_by(IngestBatch.id)).all()
    assert [status for status, _ in batches] == ["processed", "processed", "failed", "processed"]
    assert batches[2][1] == "TypeError: 'int' object is not iterable"
    assert [e.name for e in events(database)] == ["A", "B", "C"]
    # and the other batches' own jobs find nothing left to do
    assert expand() == 2
    assert [e.name for e in events(database)] == ["A", "B", "C"]


def test_a_batch_another_worker_holds_is_looked_at_again_later(client, database, clock, source, expand, monkeypatch):
    # given a batch whose row another worker has locked (it took the batch along with its own)
    from siyu.ingest import repository

    _send(client, source, {"type": "track", "event": "A", "userId": "u", "messageId": "1"})
    locked = repository.batch_to_expand
    monkeypatch.setattr(repository, "batch_to_expand", lambda session, batch_id: None)

    # when its job runs, it neither waits nor gives up: it completes and asks to look again in 5 s
    expand()
    with database.session() as session:
        jobs = session.execute(select(Job.status, Job.due_at).order_by(Job.id)).all()
        status = session.scalars(select(IngestBatch.status)).one()
    assert jobs == [(JobStatus.done, clock.now()), (JobStatus.queued, clock.now() + timedelta(seconds=5))]
    assert (status, events(database)) == ("received", [])

    # then, once the other worker let go without expanding it, the second look expands it
    monkeypatch.setattr(repository, "batch_to_expand", locked)
    clock.advance(timedelta(seconds=5))
    assert expand() == 1
    assert [e.name for e in events(database)] == ["A"]
