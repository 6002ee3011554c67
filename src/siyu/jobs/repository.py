"""Queries of jobs for the console and API, through ``scoped``. A corp sees its own jobs and
system-wide ones (``corp_id`` NULL, which carry no tenant data). Jobs have no data-scope rule: only
corp-wide roles see them; a store manager or staff user sees none (their arguments name customers
and staff of the whole corp)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal, scoped
from siyu.models.job import Job, JobStatus


def _visible(statement: Select[Any], principal: Principal) -> Select[Any]:
    return scoped(statement, Job, principal, include_system=True)


def jobs_query(principal: Principal, status: JobStatus | None = None, name: str | None = None) -> Select[Any]:
    statement = _visible(select(Job), principal)
    if status:
        statement = statement.where(Job.status == status)
    if name:
        statement = statement.where(Job.name == name)
    return statement


def get_job(session: Session, principal: Principal, job_id: int) -> Job | None:
    return session.scalars(_visible(select(Job).where(Job.id == job_id), principal)).one_or_none()


def job_counts(session: Session, principal: Principal) -> dict[str, int]:
    counts = {status.value: 0 for status in JobStatus}
    statement = _visible(select(Job.status, func.count()).group_by(Job.status), principal)
    for status, count in session.execute(statement):
        counts[str(status.value if hasattr(status, "value") else status)] = int(count)
    return counts
