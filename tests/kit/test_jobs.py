"""The durable job table and the worker loop, driven one batch at a time on the test clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from siyu.kit.jobs import JobContext, PermanentJobError, Worker, backoff_seconds, enqueue, job_handler
from siyu.models import Corp
from siyu.models.job import Job, JobStatus
from tests.factories import api_token

#: Calls of the handlers below: (job name, arguments, attempt).
calls: list[tuple[str, dict, int]] = []
#: How many more times ``kit_test.flaky`` fails before it succeeds.
flaky = {"failures": 0}


@job_handler("kit_test.record")
def record(ctx: JobContext, **args) -> None:
    calls.append(("kit_test.record", args, ctx.attempt))


@job_handler("kit_test.flaky")
def fail_a_few_times(ctx: JobContext, **args) -> None:
    calls.append(("kit_test.flaky", args, ctx.attempt))
    if flaky["failures"] > 0:
        flaky["failures"] -= 1
        raise RuntimeError(f"provider down on attempt {ctx.attempt}")


@job_handler("kit_test.refused")
def refuse(ctx: JobContext) -> None:
    calls.append(("kit_test.refused", {}, ctx.attempt))
    raise PermanentJobError("the customer no longer exists")


@job_handler("kit_test.create_corp")
def create_corp(ctx: JobContext, slug: str, then_fail: bool) -> None:
    ctx.session.add(Corp(slug=slug, name=slug))
    ctx.session.flush()
    ctx.enqueue("kit_test.record", {"after": slug})
    if then_fail:
        raise RuntimeError("failed after writing")


@job_handler("kit_test.lose_lease")
def lose_lease_mid_run(ctx: JobContext, slug: str) -> None:
    ctx.session.add(Corp(slug=slug, name=slug))
    # Stands in for another worker that re-claimed the job after this one's lease ran out: on
    # PostgreSQL that claim commits concurrently; SQLite's write lock makes it impossible mid-run.
    ctx.session.execute(update(Job).where(Job.id == ctx.job_id).values(locked_by="worker-b"))


@pytest.fixture(autouse=True)
def _reset_handlers():
    calls.clear()
    flaky["failures"] = 0
    yield
    calls.clear()


@pytest.fixture
def worker(database, clock) -> Worker:
    return Worker(database, clock=clock, worker_id="worker-a", lease_seconds=30)


def job_row(database, job_id: int) -> Job:
    with database.session() as session:
        return session.get(Job, job_id)


def job_count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Job))


# --- enqueueing -------------------------------------------------------------------------------

def test_job_enqueued_in_a_transaction_that_rolls_back_does_not_exist(database, clock):
    # when a job is enqueued in a transaction that then fails
    with pytest.raises(RuntimeError), database.session() as session:
        enqueue(session, "kit_test.record", {"n": 1})
        raise RuntimeError("the business change failed")
    # then there is no job
    assert job_count(database) == 0


def test_job_is_visible_only_after_its_transaction_commits(database, clock, worker):
    # given a job enqueued in a transaction that is still open
    session = database.session_factory()
    job_id = enqueue(session, "kit_test.record", {"n": 1})
    session.flush()
    # then another connection does not see it
    assert job_count(database) == 0
    # when the transaction commits
    session.commit()
    session.close()
    # then it is there, and a worker runs it
    assert job_count(database) == 1
    assert worker.run_once() == 1
    assert calls == [("kit_test.record", {"n": 1}, 1)]
    assert job_row(database, job_id).status == JobStatus.done


def test_same_key_enqueued_twice_is_one_job(database, clock):
    # when the same key is enqueued twice, in one transaction and again in another
    with database.session() as session:
        first = enqueue(session, "kit_test.record", {"n": 1}, key="welcome:42")
        second = enqueue(session, "kit_test.record", {"n": 2}, key="welcome:42")
    with database.session() as session:
        third = enqueue(session, "kit_test.record", {"n": 3}, key="welcome:42")
    # then one job exists, with the first arguments
    assert (isinstance(first, int), second, third) == (True, None, None)
    with database.session() as session:
        jobs = session.scalars(select(Job)).all()
    assert [(j.id, j.key, j.args) for j in jobs] == [(first, "welcome:42", {"n": 1})]


# --- due time and leases ----------------------------------------------------------------------

def test_job_runs_at_its_due_time_and_not_before(database, clock, worker):
    # given a job due in ten minutes
    with database.session() as session:
        job_id = enqueue(session, "kit_test.record", {"n": 1}, delay=timedelta(minutes=10))
    assert job_row(database, job_id).due_at == clock.now() + timedelta(minutes=10)
    # when the worker looks one second before its time
    clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert worker.run_once() == 0
    assert (calls, job_row(database, job_id).status) == ([], JobStatus.queued)
    # and again at its time
    clock.advance(1)
    assert worker.run_once() == 1
    # then it ran once
    job = job_row(database, job_id)
    assert calls == [("kit_test.record", {"n": 1}, 1)]
    assert (job.status, job.attempts, job.finished_at, job.locked_by) == (JobStatus.done, 1, clock.now(),
                                                                          "worker-a")


def test_leased_job_is_not_claimed_by_another_worker_until_the_lease_runs_out(database, clock, worker):
    # given a job claimed by worker a, which then stopped responding
    with database.session() as session:
        job_id = enqueue(session, "kit_test.record", {"n": 1})
    assert worker.claim() == [job_id]
    other = Worker(database, clock=clock, worker_id="worker-b", lease_seconds=30)
    # when worker b looks while the lease holds
    clock.advance(29)
    assert other.run_once() == 0
    # and after it ran out
    clock.advance(2)
    assert other.run_once() == 1
    # then worker b ran it as the second attempt, and worker a can no longer run or complete it
    worker.execute(job_id)
    job = job_row(database, job_id)
    assert calls == [("kit_test.record", {"n": 1}, 2)]
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.done, 2, "worker-b")


def test_extended_lease_keeps_a_long_job_from_being_taken_over(database, clock, worker):
    # given a job claimed by worker a, whose heartbeat extends the lease after 20 s
    with database.session() as session:
        job_id = enqueue(session, "kit_test.record", {"n": 1})
    assert worker.claim() == [job_id]
    clock.advance(20)
    worker.extend_leases([job_id])
    other = Worker(database, clock=clock, worker_id="worker-b", lease_seconds=30)
    # when worker b looks after the first lease would have run out, and after b tries to extend it
    clock.advance(20)
    other.extend_leases([job_id])
    assert other.run_once() == 0
    # then the job is still a's, leased 30 s from the beat, until that lease runs out too
    job = job_row(database, job_id)
    assert (job.status, job.locked_by, job.lease_until) == (JobStatus.running, "worker-a",
                                                            clock.now() + timedelta(seconds=10))
    clock.advance(11)
    assert other.run_once() == 1
    assert calls == [("kit_test.record", {"n": 1}, 2)]


def test_worker_that_lost_its_lease_mid_run_cannot_complete_the_job_and_its_writes_are_undone(
    database, clock, worker
):
    # given a job whose lease is taken over while its handler runs
    with database.session() as session:
        job_id = enqueue(session, "kit_test.lose_lease", {"slug": "written-twice"})
    lease_until = clock.now() + timedelta(seconds=30)
    # when the handler finishes
    assert worker.run_once() == 1
    # then its write is gone and the job is neither done nor failed: it belongs to its new holder
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Corp)) == 0
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.locked_by, job.lease_until, job.last_error, job.finished_at) == (
        JobStatus.running, 1, "worker-a", lease_until, None, None)


def test_job_whose_last_attempt_died_with_its_worker_is_dead(database, clock, worker):
    # given a job with two attempts whose workers both died mid-job
    with database.session() as session:
        job_id = enqueue(session, "kit_test.record", {"n": 1}, max_attempts=2)
    assert worker.claim() == [job_id]
    clock.advance(31)
    assert worker.claim() == [job_id]
    # when the second lease runs out too
    clock.advance(31)
    assert worker.claim() == []
    # then it is dead, says why, and never ran
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.locked_by, job.finished_at) == (
        JobStatus.dead, 2, None, clock.now())
    assert job.last_error == "lease expired on attempt 2; the worker running it stopped responding"
    assert calls == []


def test_stopping_worker_releases_the_jobs_it_has_not_started(database, clock, worker):
    # given two due jobs and a worker told to stop
    with database.session() as session:
        ids = [enqueue(session, "kit_test.record", {"n": n}) for n in (1, 2)]
    worker.stop.set()
    # when it claims a batch
    assert worker.run_once() == 2
    # then it ran none of them and gave both back untouched
    assert calls == []
    assert [(job_row(database, i).status, job_row(database, i).attempts, job_row(database, i).locked_by)
            for i in ids] == [(JobStatus.queued, 0, None)] * 2


# --- failures, dead letters and retry ---------------------------------------------------------

def test_failing_job_backs_off_exponentially_then_is_dead_with_its_last_error(database, clock, worker):
    # given a job that always fails, allowed four attempts
    flaky["failures"] = 100
    with database.session() as session:
        job_id = enqueue(session, "kit_test.flaky", {"n": 1}, max_attempts=4)
    # when the worker runs it each time it is due
    seen = []
    for _ in range(3):
        assert worker.run_once() == 1
        job = job_row(database, job_id)
        seen.append((job.status, job.attempts, job.due_at - clock.now(), job.last_error, job.locked_by))
        # nothing runs before the backoff has passed
        clock.advance(job.due_at - clock.now() - timedelta(microseconds=1))
        assert worker.run_once() == 0
        clock.advance(timedelta(microseconds=1))
    assert worker.run_once() == 1
    # then attempts and waits grow 2 s, 4 s, 8 s with the error kept, and the fourth failure is final
    assert seen == [
        (JobStatus.queued, 1, timedelta(seconds=2), "RuntimeError: provider down on attempt 1", None),
        (JobStatus.queued, 2, timedelta(seconds=4), "RuntimeError: provider down on attempt 2", None),
        (JobStatus.queued, 3, timedelta(seconds=8), "RuntimeError: provider down on attempt 3", None),
    ]
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.last_error, job.finished_at) == (
        JobStatus.dead, 4, "RuntimeError: provider down on attempt 4", clock.now())
    # and a dead job is never claimed again
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    assert [attempt for _, _, attempt in calls] == [1, 2, 3, 4]


def test_backoff_doubles_from_two_seconds_and_stops_at_an_hour():
    assert [backoff_seconds(n) for n in (0, 1, 2, 3, 4, 11, 12, 40)] == [
        2.0, 2.0, 4.0, 8.0, 16.0, 2048.0, 3600.0, 3600.0]


def test_permanent_error_makes_the_job_dead_at_once(database, clock, worker):
    with database.session() as session:
        job_id = enqueue(session, "kit_test.refused", max_attempts=8)
    assert worker.run_once() == 1
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.dead, 1, "siyu.kit.jobs.PermanentJobError: the customer no longer exists")
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    assert calls == [("kit_test.refused", {}, 1)]


def test_job_without_a_registered_handler_is_dead(database, clock, worker):
    with database.session() as session:
        job_id = enqueue(session, "kit_test.nobody_handles_this", max_attempts=8)
    assert worker.run_once() == 1
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.dead, 1,
        "siyu.kit.jobs.PermanentJobError: no handler registered for job 'kit_test.nobody_handles_this'")


def test_handler_writes_commit_with_the_job_completion(database, clock, worker):
    # given a handler that creates a corp and enqueues a follow-up
    with database.session() as session:
        job_id = enqueue(session, "kit_test.create_corp", {"slug": "made-by-job", "then_fail": False})
    # when it completes
    assert worker.run_once() == 1
    # then its row, its follow-up and the completion are all there
    with database.session() as session:
        assert session.scalars(select(Corp.slug)).all() == ["made-by-job"]
        jobs = session.execute(select(Job.name, Job.status, Job.args, Job.due_at).order_by(Job.id)).all()
    assert jobs == [
        ("kit_test.create_corp", JobStatus.done, {"slug": "made-by-job", "then_fail": False}, clock.now()),
        ("kit_test.record", JobStatus.queued, {"after": "made-by-job"}, clock.now()),
    ]
    assert job_row(database, job_id).status == JobStatus.done


def test_handler_that_writes_then_raises_leaves_no_row(database, clock, worker):
    # given a handler that creates a corp and enqueues a follow-up, then fails
    with database.session() as session:
        job_id = enqueue(session, "kit_test.create_corp", {"slug": "half-done", "then_fail": True})
    # when it runs
    assert worker.run_once() == 1
    # then neither its row nor its follow-up exist, and the job waits for its retry
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Corp)) == 0
        assert session.scalars(select(Job.name)).all() == ["kit_test.create_corp"]
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.queued, 1, "RuntimeError: failed after writing")


def make_dead_job(database, clock, worker, corp_id: int) -> int:
    flaky["failures"] = 1
    with database.session() as session:
        job_id = enqueue(session, "kit_test.flaky", {"n": 7}, corp_id=corp_id, max_attempts=1)
    assert worker.run_once() == 1
    return job_id


def test_dead_job_error_is_visible_through_the_api_and_retry_puts_it_back(client, brand, database, clock,
                                                                         worker):
    # given a job that died
    corp_a, _ = brand
    job_id = make_dead_job(database, clock, worker, corp_a.corp_id)
    headers = api_token(client, corp_a, "admin")
    # then an admin sees it dead with its error
    shown = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert shown.status_code == 200
    body = shown.json()
    assert (body["status"], body["attempts"], body["max_attempts"], body["last_error"]) == (
        "dead", 1, 1, "RuntimeError: provider down on attempt 1")
    listed = client.get("/api/v1/jobs", params={"status": "dead"}, headers=headers).json()["items"]
    assert [(j["id"], j["last_error"]) for j in listed] == [
        (job_id, "RuntimeError: provider down on attempt 1")]
    # when the admin retries it
    clock.advance(60)
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    # then it is queued again, due now, with a fresh attempt budget and the old error kept for reference
    assert retried.status_code == 200
    body = retried.json()
    assert (body["status"], body["attempts"], body["due_at"], body["last_error"], body["finished_at"]) == (
        "queued", 0, clock.now().isoformat().replace("+00:00", "Z"),
        "RuntimeError: provider down on attempt 1", None)
    # and the next run succeeds
    assert worker.run_once() == 1
    job = job_row(database, job_id)
    assert (job.status, job.attempts, job.last_error) == (JobStatus.done, 1, None)
    assert [attempt for _, _, attempt in calls] == [1, 1]


def test_retry_of_a_job_that_is_not_dead_is_refused_and_changes_nothing(client, brand, database, clock):
    # given a queued job
    corp_a, _ = brand
    with database.session() as session:
        job_id = enqueue(session, "kit_test.record", {"n": 1}, corp_id=corp_a.corp_id, delay=timedelta(hours=1))
    before = job_row(database, job_id)
    # when an admin asks to retry it
    response = client.post(f"/api/v1/jobs/{job_id}/retry", headers=api_token(client, corp_a, "admin"))
    # then it is a conflict and the job is untouched
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert response.json()["error"]["params"] == {"status": "queued"}
    after = job_row(database, job_id)
    assert (after.status, after.attempts, after.due_at, after.updated_at) == (
        before.status, before.attempts, before.due_at, before.updated_at)


def test_another_corp_can_neither_see_nor_retry_a_dead_job(client, brand, database, clock, worker):
    # given a dead job of corp a
    corp_a, corp_b = brand
    job_id = make_dead_job(database, clock, worker, corp_a.corp_id)
    headers = api_token(client, corp_b, "admin")
    # when corp b's admin looks for it and tries to retry it
    shown = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    # then it does not exist for them, and it stays dead
    assert (shown.status_code, retried.status_code) == (404, 404)
    assert job_row(database, job_id).status == JobStatus.dead


def test_staff_cannot_retry_a_dead_job(client, brand, database, clock, worker):
    corp_a, _ = brand
    job_id = make_dead_job(database, clock, worker, corp_a.corp_id)
    response = client.post(f"/api/v1/jobs/{job_id}/retry", headers=api_token(client, corp_a, "staff"))
    assert response.status_code == 403
    assert job_row(database, job_id).status == JobStatus.dead
