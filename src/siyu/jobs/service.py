"""Operator actions on jobs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.jobs import repository
from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, NotFound
from siyu.kit.jobs import retry_job
from siyu.kit.tenancy import Principal
from siyu.models.job import Job


def retry(session: Session, principal: Principal, job_id: int, clock: Clock) -> Job:
    """Requeue a dead job. Only dead jobs can be retried; others are already on their way."""
    job = repository.get_job(session, principal, job_id)
    if job is None:
        raise NotFound("error.job_not_found")
    if not retry_job(session, job.id, clock):
        raise Conflict("error.job_not_dead", status=job.status.value)
    session.refresh(job)
    return job
