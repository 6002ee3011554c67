"""Each rule of the gate blocks or defers exactly the touches it should, and records itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from siyu.models import CustomerTag, Relation, RelationStatus, Tag, TagGroup
from siyu.models.policy import Touch, TouchChannel, TouchCounter, TouchPriority, TouchRule, TouchStatus
from siyu.policy import admit, decide, due_deferred, expire_deferred, readmit, record_reply, set_timezone
from siyu.policy.settings import load, save
from tests.policy.conftest import MONDAY_AFTERNOON, ask

NOW = MONDAY_AFTERNOON
SHANGHAI_08 = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)  # Tuesday 08:00 in Shanghai


def _save(session, corp_id, **changes):
    values = dict(wecom_quota_rule="days_in_month", marketing_cap=2, marketing_period="week", moments_per_day=3,
                  quiet_start="22:00", quiet_end="08:00", opt_out_keywords=["退订", "TD"], blacklist_tag_id=None,
                  deferral_days=7)
    values.update(changes)
    return save(session, corp_id, **values)


def _statuses(decisions):
    return [(d.status, d.rule) for d in decisions]


def test_a_relation_is_needed_for_every_channel_but_group(database, corp):
    served, walk_in = corp.customer_ids[0], corp.customer_ids[6]
    other_staff = corp.staff_ids[2]
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [
            ask(served), ask(walk_in), ask(walk_in, TouchChannel.group),
            ask(served, TouchChannel.one_to_one, TouchPriority.service, staff_id=other_staff),
        ], now=NOW)
    assert _statuses(decisions) == [(TouchStatus.allowed, None), (TouchStatus.blocked, TouchRule.no_relation),
                                    (TouchStatus.allowed, None), (TouchStatus.blocked, TouchRule.no_relation)]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Touch)) == 4


def test_a_customer_who_deleted_the_staff_contact_is_not_reached_even_for_service(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        relation = session.scalars(select(Relation).where(Relation.customer_id == customer)).one()
        relation.status = RelationStatus.deleted_by_customer
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [ask(customer, priority=TouchPriority.service)], now=NOW)
    assert _statuses(decisions) == [(TouchStatus.blocked, TouchRule.contact_deleted)]


def test_an_opt_out_reply_blocks_marketing_only(database, corp):
    customer, other = corp.customer_ids[0], corp.customer_ids[1]
    with database.session() as session:
        assert record_reply(session, corp.corp_id, customer, " 退订 ", now=NOW) is True
        assert record_reply(session, corp.corp_id, other, "退订怎么弄", now=NOW) is False
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [
            ask(customer), ask(customer, priority=TouchPriority.transactional), ask(other)], now=NOW)
    assert _statuses(decisions) == [(TouchStatus.blocked, TouchRule.opted_out), (TouchStatus.allowed, None),
                                    (TouchStatus.allowed, None)]


def test_the_blacklist_tag_blocks_marketing(database, corp):
    customer = corp.customer_ids[2]
    with database.session() as session:
        group = TagGroup(corp_id=corp.corp_id, name="风控")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=corp.corp_id, group_id=group.id, name="黑名单")
        session.add(tag)
        session.flush()
        session.add(CustomerTag(corp_id=corp.corp_id, customer_id=customer, tag_id=tag.id, source="manual",
                                tagged_at=NOW))
        _save(session, corp.corp_id, blacklist_tag_id=tag.id)
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [ask(customer), ask(customer, priority=TouchPriority.service),
                                                  ask(corp.customer_ids[3])], now=NOW)
    assert _statuses(decisions) == [(TouchStatus.blocked, TouchRule.blacklisted), (TouchStatus.allowed, None),
                                    (TouchStatus.allowed, None)]


def test_quiet_hours_defer_to_their_end_in_the_customers_time_zone(database, corp):
    late = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, 10:30 in New York
    shanghai, new_york = corp.customer_ids[0], corp.customer_ids[1]
    with database.session() as session:
        set_timezone(session, corp.corp_id, new_york, "America/New_York")
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [
            ask(shanghai), ask(shanghai, priority=TouchPriority.transactional),
            ask(shanghai, priority=TouchPriority.service), ask(new_york)], now=late)
    assert _statuses(decisions) == [(TouchStatus.deferred, TouchRule.quiet_hours),
                                    (TouchStatus.deferred, TouchRule.quiet_hours),
                                    (TouchStatus.allowed, None), (TouchStatus.allowed, None)]
    assert decisions[0].deferred_until == SHANGHAI_08
    with database.session() as session:
        # deferred touches took no counter slot
        assert session.scalar(select(func.count()).select_from(TouchCounter)
                              .where(TouchCounter.customer_id == shanghai)) == 0


def test_the_marketing_cap_defers_the_third_touch_of_the_week_but_not_service(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [
            ask(customer), ask(customer, TouchChannel.coupon_notice), ask(customer, TouchChannel.one_to_one),
            ask(customer, priority=TouchPriority.transactional)], now=NOW)
    # next Monday 00:00 Shanghai is inside quiet hours: the window opens at 08:00 (00:00 UTC)
    assert _statuses(decisions) == [(TouchStatus.allowed, None), (TouchStatus.allowed, None),
                                    (TouchStatus.deferred, TouchRule.marketing_cap), (TouchStatus.allowed, None)]
    assert decisions[2].deferred_until == datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    assert decisions[2].expires_at == NOW + timedelta(days=7)


def test_a_deferral_beyond_the_expiry_expires_the_touch(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [ask(customer), ask(customer),
                                                  ask(customer, expires_at=NOW + timedelta(days=2))], now=NOW)
    assert _statuses(decisions) == [(TouchStatus.allowed, None), (TouchStatus.allowed, None),
                                    (TouchStatus.expired, TouchRule.marketing_cap)]


def test_the_wecom_daily_quota_defers_a_second_broadcast_and_gives_back_the_marketing_slot(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        _save(session, corp.corp_id, wecom_quota_rule="daily")
    with database.session() as session:
        first = admit(session, corp.corp_id, [ask(customer, TouchChannel.broadcast)], now=NOW)
        second = admit(session, corp.corp_id, [ask(customer, TouchChannel.broadcast)], now=NOW)
        journey = admit(session, corp.corp_id, [ask(customer)], now=NOW)
    assert _statuses(first + second + journey) == [(TouchStatus.allowed, None),
                                                   (TouchStatus.deferred, TouchRule.wecom_quota),
                                                   (TouchStatus.allowed, None)]
    assert second[0].deferred_until == SHANGHAI_08
    with database.session() as session:
        counts = dict(session.execute(select(TouchCounter.counter, TouchCounter.count)
                                      .where(TouchCounter.customer_id == customer)).all())
    # the deferred broadcast took no marketing slot: one from the first broadcast, one from the journey
    assert counts == {"wecom_quota": 1, "marketing_cap": 2}


def test_a_full_marketing_cap_gives_back_the_wecom_quota_slot(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        admit(session, corp.corp_id, [ask(customer), ask(customer)], now=NOW)
        decisions = admit(session, corp.corp_id, [ask(customer, TouchChannel.broadcast)], now=NOW)
        quota = session.scalar(select(TouchCounter.count).where(TouchCounter.customer_id == customer,
                                                                TouchCounter.counter == "wecom_quota"))
    assert _statuses(decisions) == [(TouchStatus.deferred, TouchRule.marketing_cap)]
    assert quota == 0


def test_moments_are_visible_at_most_three_times_a_day(database, corp):
    customer = corp.customer_ids[4]
    with database.session() as session:
        _save(session, corp.corp_id, marketing_cap=10)
        decisions = admit(session, corp.corp_id, [ask(customer, TouchChannel.moment) for _ in range(4)], now=NOW)
    assert [d.status for d in decisions] == [TouchStatus.allowed] * 3 + [TouchStatus.deferred]
    assert decisions[3].rule == TouchRule.moment_cap


def test_decide_previews_what_admit_decides_and_writes_nothing(database, corp):
    requests = [ask(corp.customer_ids[0]) for _ in range(3)] + [ask(corp.customer_ids[6])]
    with database.session() as session:
        preview = decide(session, corp.corp_id, requests, now=NOW)
        assert session.scalar(select(func.count()).select_from(Touch)) == 0
        assert session.scalar(select(func.count()).select_from(TouchCounter)) == 0
        admitted = admit(session, corp.corp_id, requests, now=NOW)
    assert _statuses(preview) == _statuses(admitted) == [
        (TouchStatus.allowed, None), (TouchStatus.allowed, None), (TouchStatus.deferred, TouchRule.marketing_cap),
        (TouchStatus.blocked, TouchRule.no_relation)]


def test_the_same_dedupe_key_is_one_touch(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        first = admit(session, corp.corp_id, [ask(customer, dedupe_key="journey:1:step:1"),
                                              ask(customer, dedupe_key="journey:1:step:1")], now=NOW)
    with database.session() as session:
        again = admit(session, corp.corp_id, [ask(customer, dedupe_key="journey:1:step:1")], now=NOW)
        touches = session.scalar(select(func.count()).select_from(Touch))
        count = session.scalar(select(TouchCounter.count).where(TouchCounter.customer_id == customer))
    assert first[0].touch_id == first[1].touch_id == again[0].touch_id
    assert (touches, count) == (1, 1)


def test_a_deferred_touch_is_readmitted_when_its_window_comes(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        decisions = admit(session, corp.corp_id, [ask(customer) for _ in range(3)], now=NOW)
    deferred = decisions[2]
    with database.session() as session:
        assert due_deferred(session, corp.corp_id, now=deferred.deferred_until - timedelta(seconds=1)) == []
        due = due_deferred(session, corp.corp_id, now=deferred.deferred_until)
        again = readmit(session, corp.corp_id, due, now=deferred.deferred_until)
    assert due == [deferred.touch_id]
    assert _statuses(again) == [(TouchStatus.allowed, None)]
    with database.session() as session:
        touch = session.get(Touch, deferred.touch_id)
        assert (touch.status, touch.rule, touch.occurred_at) == (TouchStatus.allowed, None,
                                                                 deferred.deferred_until)


def test_deferred_touches_past_their_expiry_expire(database, corp):
    customer = corp.customer_ids[0]
    with database.session() as session:
        admit(session, corp.corp_id, [ask(customer) for _ in range(3)], now=NOW)
    with database.session() as session:
        assert expire_deferred(session, corp.corp_id, now=NOW + timedelta(days=6)) == 0
        assert expire_deferred(session, corp.corp_id, now=NOW + timedelta(days=7)) == 1
        assert due_deferred(session, corp.corp_id, now=NOW + timedelta(days=8)) == []


def test_one_corps_touches_never_count_for_another(database, brand):
    corp_a, corp_b = brand
    with database.session() as session:
        decisions = admit(session, corp_b.corp_id, [ask(corp_a.customer_ids[0])], now=NOW)
    # customer of corp A has no relation in corp B
    assert _statuses(decisions) == [(TouchStatus.blocked, TouchRule.no_relation)]


def test_settings_are_validated_field_by_field(database, corp):
    import pytest

    from siyu.kit.errors import InvalidInput

    with database.session() as session:
        for field, value in (("wecom_quota_rule", "hourly"), ("moments_per_day", 4), ("quiet_start", "25:00"),
                             ("marketing_period", "year")):
            with pytest.raises(InvalidInput) as refused:
                _save(session, corp.corp_id, **{field: value})
            assert refused.value.field == field
        assert load(session, corp.corp_id).marketing_cap == 2
        saved = _save(session, corp.corp_id, quiet_start="21:30", marketing_cap=1)
    assert (saved.quiet_hours.start_minute, saved.marketing_cap) == (21 * 60 + 30, 1)


def test_the_expiry_job_expires_overdue_deferred_touches_and_comes_back_hourly(database, corp, clock):
    from siyu.kit.jobs import Worker, enqueue, load_handler_modules
    from siyu.models.job import Job

    load_handler_modules()
    clock.set(NOW)
    with database.session() as session:
        admit(session, corp.corp_id, [ask(corp.customer_ids[0]) for _ in range(3)], now=NOW)
        enqueue(session, "policy.expire_deferred", {"corp_id": corp.corp_id}, corp_id=corp.corp_id, clock=clock)
    clock.advance(timedelta(days=8))
    Worker(database, clock=clock, lease_seconds=30).run_once()
    with database.session() as session:
        statuses = sorted(session.scalars(select(Touch.status)).all())
        follow_ups = session.scalars(select(Job.key).where(Job.status == "queued")).all()
    assert statuses == sorted([TouchStatus.allowed, TouchStatus.allowed, TouchStatus.expired])
    assert len(follow_ups) == 1 and follow_ups[0].startswith(f"policy.expire_deferred:{corp.corp_id}:")
