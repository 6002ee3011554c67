"""The injected clock and the UTC timestamp column type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from siyu.kit.clock import Clock, TestClock, get_clock
from siyu.kit.jobs import enqueue
from siyu.models.job import Job, JobStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_test_clock_starts_at_a_fixed_moment_and_stands_still():
    clock = TestClock()
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clock.now() == clock.now()


def test_test_clock_advances_by_a_timedelta_or_seconds():
    clock = TestClock(datetime(2026, 3, 1, tzinfo=UTC))
    assert clock.advance(timedelta(days=1, minutes=30)) == datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    assert clock.advance(90) == datetime(2026, 3, 2, 0, 31, 30, tzinfo=UTC)
    assert clock.advance(0.25) == datetime(2026, 3, 2, 0, 31, 30, 250000, tzinfo=UTC)
    assert clock.now() == datetime(2026, 3, 2, 0, 31, 30, 250000, tzinfo=UTC)
    assert clock.monotonic_seconds() == clock.now().timestamp()


def test_test_clock_is_set_to_an_aware_moment():
    clock = TestClock()
    clock.set(datetime(2026, 6, 18, 20, 0, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2026, 6, 18, 12, 0, tzinfo=UTC)


def test_test_clock_refuses_a_naive_moment_and_keeps_its_time():
    clock = TestClock()
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 6, 18, 20, 0))
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_wall_clock_is_aware_utc():
    assert Clock().now().tzinfo is UTC


def test_clock_fixture_is_the_process_clock(clock):
    assert get_clock() is clock


def test_naive_datetime_is_refused_by_a_timestamp_column_and_nothing_is_written(database, clock):
    # when a job is written with a naive due time
    with pytest.raises(StatementError, match="naive datetime given to a UtcDateTime column"), \
            database.session() as session:
        session.add(Job(name="kit_test.naive", args={}, status=JobStatus.queued,
                        due_at=datetime(2026, 1, 5, 9, 0), attempts=0, max_attempts=1))
        session.flush()
    # and when one is enqueued with a naive due time
    with pytest.raises(StatementError, match="naive datetime given to a UtcDateTime column"), \
            database.session() as session:
        enqueue(session, "kit_test.naive", due_at=datetime(2026, 1, 5, 9, 0))
    # then neither exists
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_aware_datetime_in_any_zone_is_stored_as_the_same_instant_and_read_back_in_utc(database, clock):
    # given a due time expressed in Shanghai time
    with database.session() as session:
        job_id = enqueue(session, "kit_test.aware",
                         due_at=datetime(2026, 1, 5, 18, 30, 0, 123456, tzinfo=SHANGHAI))
    # then it reads back as the same instant, in UTC, to the microsecond
    with database.session() as session:
        due_at = session.get(Job, job_id).due_at
        earlier = session.scalar(select(func.count()).select_from(Job).where(
            Job.due_at < datetime(2026, 1, 5, 10, 30, 0, 123457, tzinfo=UTC)))
    assert (due_at, due_at.tzinfo) == (datetime(2026, 1, 5, 10, 30, 0, 123456, tzinfo=UTC), UTC)
    # and compares as that instant in SQL
    assert earlier == 1
