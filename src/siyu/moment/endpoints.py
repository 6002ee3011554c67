"""REST: moments tasks — list, create (delivered to WeCom through the outbox) and read one with its
synced results. The same service as the console."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.models.moment import MomentTask
from siyu.moment import schemas, service

router = APIRouter(tags=["moments"])


@router.get("/moments", response_model=list[schemas.MomentOut], dependencies=[require("broadcasts.read")])
def list_moments(session: DbSession, principal: CurrentPrincipal):
    return session.scalars(select(MomentTask).where(MomentTask.corp_id == principal.corp_id)
                           .order_by(MomentTask.id.desc()).limit(200)).all()


@router.post("/moments", response_model=schemas.MomentOut, status_code=201, dependencies=[require("broadcasts.write")])
def create_moment(body: schemas.MomentCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.create_moment(session, principal.corp_id, text=body.text, staff_ids=body.staff_ids,
                                 tag_ids=body.tag_ids, material_ids=body.material_ids, now=clock.now())


@router.get("/moments/{moment_task_id}", response_model=schemas.MomentOut, dependencies=[require("broadcasts.read")])
def get_moment(moment_task_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.get_moment(session, principal.corp_id, moment_task_id)
