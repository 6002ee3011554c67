"""The real SDKs — segment-analytics-python and rudder-sdk-python — pointed at the app served by
uvicorn on a loopback port: what they send is stored durably, expanded into exact events, and the
people behind them resolved to customers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import rudderstack.analytics as rudder_analytics
import segment.analytics as segment_analytics
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from sqlalchemy import select
from tests.ingest.conftest import count, customer, events, identities_of, stored_nothing

from siyu.models import Customer, IngestBatch, IngestSource, Job, JobStatus

T1 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 1, 10, 5, 0, tzinfo=UTC)
T3 = datetime(2026, 3, 1, 10, 9, 30, 250000, tzinfo=UTC)


def _segment(served, write_key: str, errors: list | None = None, **options) -> SegmentClient:
    """A Segment client as an integrator configures it (host = this service)."""
    on_error = (lambda error, batch: errors.append((error, batch))) if errors is not None else None
    return SegmentClient(write_key, host=served.url, on_error=on_error, max_retries=2, **options)


def _rudder(served, write_key: str, errors: list | None = None, **options) -> RudderClient:
    on_error = (lambda error, batch: errors.append((error, batch))) if errors is not None else None
    return RudderClient(write_key, host=served.url, on_error=on_error, max_retries=2, **options)


def _shape(event) -> tuple:
    return (event.type, event.name, event.user_id, event.anonymous_id, event.properties, event.timestamp)


def test_segment_sdk_anonymous_visitor_then_identified_is_one_customer(served, database, now_clock, source,
                                                                      expand):
    # given a visitor who browses anonymously, then logs in (the SDK's default: plain JSON, no gzip)
    analytics = _segment(served, source.write_key)
    analytics.page(anonymous_id="anon-1", name="首页", properties={"path": "/"}, timestamp=T1,
                   message_id="m-page")
    analytics.track(anonymous_id="anon-1", event="Product Viewed", properties={"sku": "A-1", "price": 29.9},
                    timestamp=T2, message_id="m-view")
    analytics.identify(user_id="u-1001", anonymous_id="anon-1", timestamp=T3, message_id="m-identify",
                       traits={"name": "王小明", "gender": "male", "phone": "+86 139-1234-5678",
                               "birthday": "1990-05-01", "address": {"city": "杭州"}})

    # when the client flushes and the expansion job runs
    analytics.flush()
    assert served.recorded.requests and {r[0] for r in served.recorded.requests} == {"/v1/batch"}
    assert {r[1] for r in served.recorded.requests} == {None}  # the Segment SDK does not gzip by default
    assert expand() == count(database, Job)

    # then the three calls are three exact events of one customer
    stored = events(database)
    assert [_shape(e) for e in stored] == [
        ("page", "首页", None, "anon-1", {"path": "/"}, T1),
        ("track", "Product Viewed", None, "anon-1", {"sku": "A-1", "price": 29.9}, T2),
        ("identify", "identify", "u-1001", "anon-1", {}, T3),
    ]
    assert [e.message_id for e in stored] == ["m-page", "m-view", "m-identify"]
    assert stored[2].traits["name"] == "王小明"
    assert stored[0].context["library"]["name"] == "analytics-python"
    assert {e.source_id for e in stored} == {source.source_id}
    customer_ids = {e.customer_id for e in stored}
    assert len(customer_ids) == 1 and None not in customer_ids
    (customer_id,) = customer_ids
    assert identities_of(database, customer_id) == [
        ("anonymous_id", "anon-1"), ("phone", "13912345678"), ("user_id", "u-1001")]
    person = customer(database, customer_id)
    assert (person.name, person.gender, person.city, person.phone, person.birthday) == (
        "王小明", "male", "杭州", "13912345678", datetime(1990, 5, 1, tzinfo=UTC))
    with database.session() as session:
        last_event_at = session.get(IngestSource, source.source_id).last_event_at
        statuses = set(session.scalars(select(IngestBatch.status)))
    assert last_event_at == now_clock.now()
    assert statuses == {"processed"}


def test_segment_module_api_with_gzip(served, database, now_clock, source, expand, monkeypatch):
    # given the SDK configured the documented way, at module level, with gzip on
    monkeypatch.setattr(segment_analytics, "default_client", None)
    monkeypatch.setattr(segment_analytics, "write_key", source.write_key)
    monkeypatch.setattr(segment_analytics, "host", served.url)
    monkeypatch.setattr(segment_analytics, "gzip", True)

    # when it tracks an order and flushes
    segment_analytics.track("u-7", "Order Completed", {"order_id": "A1001", "total": 99.5}, timestamp=T1,
                            message_id="m-order")
    segment_analytics.flush()
    segment_analytics.default_client.join()
    expand()

    # then the body arrived gzip-compressed and became one event
    assert [(r[0], r[1]) for r in served.recorded.requests] == [("/v1/batch", "gzip")]
    assert [_shape(e) for e in events(database)] == [
        ("track", "Order Completed", "u-7", None, {"order_id": "A1001", "total": 99.5}, T1)]


def test_rudderstack_sdk_gzip_by_default_and_alias(served, database, now_clock, source, expand):
    # given the RudderStack SDK (gzip on by default, write key only in the Basic header)
    rudder = _rudder(served, source.write_key)
    rudder.track(anonymous_id="anon-9", event="Added to Cart", properties={"sku": "B-2"}, timestamp=T1,
                 message_id="r-cart")
    rudder.alias(previous_id="anon-9", user_id="member-42", timestamp=T2, message_id="r-alias")
    rudder.group(user_id="member-42", group_id="store-7", traits={"name": "西湖店"}, timestamp=T3,
                 message_id="r-group")

    # when it flushes and the batches are expanded
    rudder.flush()
    expand()

    # then every request was gzip with Basic auth, and the alias made the visitor that member
    assert served.recorded.requests and all(r[1:] == ("gzip", True) for r in served.recorded.requests)
    stored = events(database)
    assert [_shape(e) for e in stored] == [
        ("track", "Added to Cart", None, "anon-9", {"sku": "B-2"}, T1),
        ("alias", "alias", "member-42", None, {"previousId": "anon-9"}, T2),
        ("group", "group", "member-42", None, {"groupId": "store-7"}, T3),
    ]
    assert stored[2].traits == {"name": "西湖店"}
    assert stored[0].context["library"]["name"] == "analytics-python"  # RudderStack keeps Segment's name
    assert len({e.customer_id for e in stored}) == 1
    assert identities_of(database, stored[0].customer_id) == [("anonymous_id", "anon-9"), ("user_id", "member-42")]


def test_rudderstack_module_api(served, database, now_clock, source, expand, monkeypatch):
    # given the documented module-level configuration: write_key and dataPlaneUrl
    monkeypatch.setattr(rudder_analytics, "default_client", None)
    monkeypatch.setattr(rudder_analytics, "write_key", source.write_key)
    monkeypatch.setattr(rudder_analytics, "dataPlaneUrl", served.url)

    rudder_analytics.identify("member-5", {"name": "李雷", "unionid": "o6_union_5"}, timestamp=T1,
                              message_id="r-id")
    rudder_analytics.flush()
    rudder_analytics.default_client.join()
    expand()

    (event,) = events(database)
    assert _shape(event) == ("identify", "identify", "member-5", None, {}, T1)
    assert identities_of(database, event.customer_id) == [("unionid", "o6_union_5"), ("user_id", "member-5")]
    assert customer(database, event.customer_id).name == "李雷"


def test_a_retried_request_is_stored_twice_but_is_one_event(served, database, now_clock, source, expand):
    # given the response to the first request is lost after the app committed it (the SDK sees a 503)
    served.recorded.lose_responses = 1
    analytics = _segment(served, source.write_key)

    # when the SDK retries the same batch and both are expanded
    analytics.track(user_id="u-1", event="Coupon Redeemed", properties={"code": "X"}, timestamp=T1)
    analytics.flush()
    expand()

    # then both requests were stored, and dedupe on messageId left a single event
    assert len(served.recorded.requests) == 2
    assert count(database, IngestBatch) == 2
    assert [_shape(e) for e in events(database)] == [("track", "Coupon Redeemed", "u-1", None, {"code": "X"}, T1)]


def test_the_same_message_id_sent_again_is_one_event(served, database, now_clock, source, expand):
    analytics = _segment(served, source.write_key)
    for _ in range(3):
        analytics.track(user_id="u-2", event="Signed Up", timestamp=T1, message_id="same-id")
        analytics.flush()
    expand()

    assert len(served.recorded.requests) == 3
    assert [(e.message_id, e.name) for e in events(database)] == [("same-id", "Signed Up")]


def test_a_batch_is_durable_once_acknowledged_before_any_worker_ran(served, database, now_clock, source):
    # given a synchronous client: its call returns only after the 200
    analytics = _segment(served, source.write_key, sync_mode=True)

    # when a track call returns
    analytics.track(user_id="u-3", event="Store Visited", timestamp=T1, message_id="m-durable")

    # then the raw batch and its expansion job are committed, and no event exists yet
    with database.session() as session:
        batch = session.scalars(select(IngestBatch)).one()
        job = session.scalars(select(Job)).one()
    assert (batch.endpoint, batch.status, batch.event_count, batch.corp_id) == ("batch", "received", 1, source.corp_id)
    assert b"m-durable" in batch.body and source.write_key.encode() not in batch.body
    assert (job.name, job.args, job.status) == ("ingest.expand_batch", {"batch_id": batch.id}, JobStatus.queued)
    assert events(database) == []


@pytest.mark.parametrize("client_factory", [_segment, _rudder], ids=["segment", "rudderstack"])
def test_an_unknown_write_key_is_refused_and_nothing_stored(served, database, now_clock, source, client_factory):
    errors: list = []
    client = client_factory(served, "sk_not-a-key", errors)

    client.track(user_id="u-4", event="Anything", timestamp=T1)
    client.flush()

    assert [(error.status, len(batch)) for error, batch in errors] == [(401, 1)]
    assert len(served.recorded.requests) == 1  # a refusal both SDKs read as final: no retry
    assert stored_nothing(database)


@pytest.mark.parametrize("client_factory", [_segment, _rudder], ids=["segment", "rudderstack"])
def test_a_disabled_source_is_refused_and_nothing_stored(served, database, now_clock, brand, client_factory):
    from tests.ingest.conftest import make_source

    disabled = make_source(database, brand[0].corp_id, "停用的 App", enabled=False)
    errors: list = []
    client = client_factory(served, disabled.write_key, errors)

    client.identify(user_id="u-5", traits={"name": "x"}, timestamp=T1)
    client.flush()

    assert [(error.status, len(batch)) for error, batch in errors] == [(403, 1)]
    assert stored_nothing(database)
    with database.session() as session:
        assert session.scalars(select(Customer).where(Customer.name == "x")).all() == []
