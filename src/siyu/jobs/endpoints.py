"""REST: the job queue (read, retry dead jobs)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.jobs import repository, schemas, service
from siyu.kit.errors import NotFound
from siyu.kit.pagination import Page, paginate
from siyu.models.job import Job, JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=Page[schemas.Job], dependencies=[require("jobs.read")])
def list_jobs(session: DbSession, principal: CurrentPrincipal, status: JobStatus | None = None,
              name: str | None = None, limit: int = Query(50), cursor: str | None = None):
    rows, next_cursor = paginate(session, repository.jobs_query(principal, status, name), Job.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[schemas.Job.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", response_model=schemas.Job, dependencies=[require("jobs.read")])
def get_job(job_id: int, session: DbSession, principal: CurrentPrincipal):
    job = repository.get_job(session, principal, job_id)
    if job is None:
        raise NotFound("error.job_not_found")
    return job


@router.post("/jobs/{job_id}/retry", response_model=schemas.Job, dependencies=[require("jobs.retry")])
def retry_job(job_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.retry(session, principal, job_id, clock)
