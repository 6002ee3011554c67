"""REST: customer groups (list, timeline, sales concentration) and loss alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.group import insights
from siyu.kit.errors import Forbidden, NotFound

router = APIRouter(tags=["groups"])


class GroupOut(BaseModel):
    id: int
    chat_id: str
    name: str | None
    owner: str | None
    member_count: int
    status: str


class TimelineOut(BaseModel):
    at: datetime
    member_userid: str
    customer_id: int | None
    change: str
    scene: int | None


class RankedMember(BaseModel):
    customer_id: int
    name: str | None
    sales: Decimal


class ConcentrationOut(BaseModel):
    members: int
    buyers: int
    total_sales: Decimal
    top_members: int
    top_share: float | None
    ranking: list[RankedMember]


class LossAlertOut(BaseModel):
    relation_id: int
    ended_at: datetime
    status: str
    customer_id: int
    customer_name: str | None
    staff_name: str
    channel_code: str | None


def _corp_wide(principal) -> None:
    if not principal.corp_wide:
        raise Forbidden("error.forbidden")


def _group(session, principal, group_chat_id: int):
    _corp_wide(principal)
    group = insights.group_of_corp(session, principal.corp_id, group_chat_id)
    if group is None:
        raise NotFound("group.error.not_found")
    return group


@router.get("/groups", response_model=list[GroupOut], dependencies=[require("customers.read")])
def list_groups(session: DbSession, principal: CurrentPrincipal):
    _corp_wide(principal)
    return [GroupOut(**vars(row)) for row in insights.groups(session, principal.corp_id)]


@router.get("/groups/{group_chat_id}/timeline", response_model=list[TimelineOut],
            dependencies=[require("customers.read")])
def group_timeline(group_chat_id: int, session: DbSession, principal: CurrentPrincipal):
    group = _group(session, principal, group_chat_id)
    return [TimelineOut(**vars(entry)) for entry in insights.timeline(session, group.id)]


@router.get("/groups/{group_chat_id}/sales-concentration", response_model=ConcentrationOut,
            dependencies=[require("customers.read")])
def sales_concentration(group_chat_id: int, session: DbSession, principal: CurrentPrincipal):
    group = _group(session, principal, group_chat_id)
    found = insights.sales_concentration(session, principal.corp_id, group.id)
    return ConcentrationOut(members=found.members, buyers=found.buyers, total_sales=found.total_sales,
                            top_members=found.top_members, top_share=found.top_share,
                            ranking=[RankedMember(customer_id=c, name=n, sales=s) for c, n, s in found.ranking])


@router.get("/loss-alerts", response_model=list[LossAlertOut], dependencies=[require("customers.read")])
def loss_alerts(session: DbSession, principal: CurrentPrincipal, clock: AppClock, days: int = 7):
    _corp_wide(principal)
    since = clock.now() - timedelta(days=max(1, min(days, 90)))
    return [LossAlertOut(**vars(alert)) for alert in insights.loss_alerts(session, principal.corp_id, since)]
