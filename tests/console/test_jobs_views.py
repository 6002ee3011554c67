"""The jobs page: counts per status, filtering, the last error of dead jobs, retrying them."""

from __future__ import annotations

from sqlalchemy import select, update

from siyu.kit.jobs import enqueue
from siyu.models import Job, JobStatus
from tests.console.conftest import csrf_of, rows


def _status(database, job_id: int) -> str:
    with database.session() as session:
        return session.scalar(select(Job.status).where(Job.id == job_id)).value


def _add_job(database, clock, name: str, corp_id: int | None, status: JobStatus) -> int:
    with database.session() as session:
        enqueue(session, name, {}, corp_id=corp_id, key=name, clock=clock)
        job_id = session.scalar(select(Job.id).where(Job.key == name))
        session.execute(update(Job).where(Job.id == job_id).values(status=status))
        return job_id


def _count_of(html: str, status: str) -> str:
    marker = f'data-count="{status}">'
    return html.split(marker, 1)[1].split("<", 1)[0]


def test_counts_cover_the_corp_and_system_jobs_but_not_other_corps(console, database, clock, seeded,
                                                                    dead_job):
    alpha, beta = seeded
    _add_job(database, clock, "alpha.queued", alpha.corp_id, JobStatus.queued)
    _add_job(database, clock, "alpha.done", alpha.corp_id, JobStatus.done)
    _add_job(database, clock, "system.running", None, JobStatus.running)
    _add_job(database, clock, "beta.dead", beta.corp_id, JobStatus.dead)

    page = console("admin").get("/jobs").text

    assert [_count_of(page, s) for s in ("queued", "running", "done", "dead")] == ["1", "1", "1", "1"]
    assert len(rows(page, "job")) == 4


def test_filtering_by_status_shows_dead_jobs_with_their_last_error(console, database, clock, seeded,
                                                                    dead_job):
    _add_job(database, clock, "alpha.queued", seeded[0].corp_id, JobStatus.queued)

    page = console("admin").get("/jobs", params={"status": "dead"}).text

    assert rows(page, "job") == [str(dead_job)]
    assert "PermanentJobError: supplier API refused the request: invalid coupon id" in page
    assert 'data-action="retry"' in page


def test_an_unknown_status_filter_shows_every_job(console, dead_job):
    page = console("admin").get("/jobs", params={"status": "exploded"}).text

    assert rows(page, "job") == [str(dead_job)]


def test_retry_by_htmx_requeues_the_job_and_answers_with_its_row(console, database, dead_job):
    admin = console("admin")
    token = csrf_of(admin.get("/jobs").text)

    response = admin.post(f"/jobs/{dead_job}/retry", headers={"HX-Request": "true", "X-CSRF-Token": token})

    assert response.status_code == 200
    assert response.text.startswith(f'<tr id="job-{dead_job}" data-job="{dead_job}" data-job-status="queued"')
    assert "已重新排队" in response.text
    assert response.headers["HX-Trigger"] == "jobs-changed"
    assert _status(database, dead_job) == "queued"
    counts = admin.get("/jobs/counts").text
    assert (_count_of(counts, "queued"), _count_of(counts, "dead")) == ("1", "0")


def test_retry_by_a_plain_form_goes_back_to_the_queue(console, database, dead_job):
    admin = console("admin")
    token = csrf_of(admin.get("/jobs").text)

    response = admin.post(f"/jobs/{dead_job}/retry", data={"csrf_token": token}, follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/jobs?status=queued")
    assert _status(database, dead_job) == "queued"


def test_retrying_a_job_that_is_not_dead_is_refused_in_its_row(console, database, clock, seeded):
    queued = _add_job(database, clock, "alpha.queued", seeded[0].corp_id, JobStatus.queued)
    admin = console("admin")
    token = csrf_of(admin.get("/jobs").text)

    response = admin.post(f"/jobs/{queued}/retry", headers={"HX-Request": "true", "X-CSRF-Token": token})

    assert response.status_code == 409
    assert "只有失败（死信）任务可以重试，当前状态：queued" in response.text
    assert _status(database, queued) == "queued"


def test_roles_without_jobs_retry_see_no_button_and_are_refused(console, database, dead_job):
    operator = console("hq_operator")
    page = operator.get("/jobs").text
    token = csrf_of(page)

    response = operator.post(f"/jobs/{dead_job}/retry", headers={"HX-Request": "true", "X-CSRF-Token": token})

    assert rows(page, "job") == [str(dead_job)] and 'data-action="retry"' not in page
    assert response.status_code == 403
    assert _status(database, dead_job) == "dead"


def test_retry_without_the_csrf_token_is_refused(console, database, dead_job):
    response = console("admin").post(f"/jobs/{dead_job}/retry", headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert _status(database, dead_job) == "dead"


def test_another_corps_dead_job_cannot_be_retried(console, database, clock, seeded):
    foreign = _add_job(database, clock, "beta.dead", seeded[1].corp_id, JobStatus.dead)
    admin = console("admin")
    token = csrf_of(admin.get("/jobs").text)

    response = admin.post(f"/jobs/{foreign}/retry", headers={"HX-Request": "true", "X-CSRF-Token": token})

    assert response.status_code == 404
    assert _status(database, foreign) == "dead"
