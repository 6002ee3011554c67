"""Console: the job queue — counts per status, the jobs of one status, retrying dead jobs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.jobs import repository, service
from siyu.kit.errors import SiyuError
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.job import Job, JobStatus

router = APIRouter()
PAGE_SIZE = 50


def _status_filter(status: str | None) -> str | None:
    """A known status or None (all): the filter comes from a link and is never trusted."""
    return status if status in {s.value for s in JobStatus} else None


def _rows(session: Session, principal: Principal, status: str | None, cursor: str | None):
    return paginate(session, repository.jobs_query(principal, status), Job.id, limit=PAGE_SIZE, cursor=cursor)


@router.get("/jobs")
def jobs_page(request: Request, session: DbSession, status: str | None = None, cursor: str | None = None,
              principal: Principal = console_page("jobs")):
    status = _status_filter(status)
    jobs, next_cursor = _rows(session, principal, status, cursor)
    return render(request, "jobs/index.html", {
        "counts": repository.job_counts(session, principal), "status": status, "jobs": jobs,
        "next_cursor": next_cursor, "statuses": [s.value for s in JobStatus],
        "can_retry": principal.can("jobs.retry"),
    })


@router.get("/jobs/rows")
def job_rows(request: Request, session: DbSession, status: str | None = None, cursor: str | None = None,
             principal: Principal = console_page("jobs")):
    """The next page of the table (htmx "more" button): rows only, appended to the table."""
    status = _status_filter(status)
    jobs, next_cursor = _rows(session, principal, status, cursor)
    return render(request, "jobs/_rows.html", {"jobs": jobs, "status": status, "next_cursor": next_cursor,
                                               "can_retry": principal.can("jobs.retry")})


@router.get("/jobs/counts")
def job_counts(request: Request, session: DbSession, status: str | None = None,
               principal: Principal = console_page("jobs")):
    """htmx: the status cards, refreshed after a job changed on the page."""
    return render(request, "jobs/_counts.html", {"counts": repository.job_counts(session, principal),
                                                 "status": _status_filter(status),
                                                 "statuses": [s.value for s in JobStatus]})


@router.post("/jobs/{job_id}/retry")
def retry(request: Request, job_id: int, session: DbSession, clock: AppClock,
          principal: Principal = console_page("jobs", "jobs.retry")):
    """Requeue a dead job. htmx gets the job's new row; a plain form post goes back to the list."""
    htmx = request.headers.get("HX-Request") == "true"
    try:
        job = service.retry(session, principal, job_id, clock)
    except SiyuError as exc:
        if not htmx:
            raise
        job = repository.get_job(session, principal, job_id)
        if job is None:
            raise
        return render(request, "jobs/_row.html", {"job": job, "can_retry": True,
                                                  "row_error": exc.message(request_language(request))},
                      status_code=exc.status_code)
    if not htmx:
        return RedirectResponse("/jobs?status=queued", status_code=303)
    response = render(request, "jobs/_row.html", {"job": job, "can_retry": True, "retried": True})
    # The status cards listen for this event and reload their counts.
    response.headers["HX-Trigger"] = "jobs-changed"
    return response
