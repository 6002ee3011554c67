"""Console: channel codes (渠道活码) and package cards — the list with today's adds and a 14-day chart, the
package-card funnel, the red-packet ledger with its exports, creating a code, and one code's page
(statistics with charts, QR downloads, poster). Through the same services as the REST API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.acquisition import repository, service, stats
from siyu.acquisition.endpoints import statistics_of
from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.kit.errors import SiyuError
from siyu.kit.tenancy import Principal
from siyu.console.shell import console_page
from siyu.models.acquisition import ChannelCode, ChannelCodeDay, OrderBinding
from siyu.models.org import Staff, StaffStatus
from siyu.models.red_packet import RedPacket
from siyu.red_packet import service as red_packets

router = APIRouter()
CHART_DAYS = 14
CHART_CODES = 6


def _today_adds(session: Session, code_ids: list[int], day) -> dict[int, int]:
    rows = session.execute(select(ChannelCodeDay.channel_code_id, func.sum(ChannelCodeDay.adds)).where(
        ChannelCodeDay.channel_code_id.in_(code_ids), ChannelCodeDay.day == day)
        .group_by(ChannelCodeDay.channel_code_id))
    return {code_id: int(adds) for code_id, adds in rows}


def _ledger_summary(session: Session, corp_id: int, since) -> dict:
    row = session.execute(select(func.count(), func.coalesce(func.sum(RedPacket.amount), 0)).where(
        RedPacket.corp_id == corp_id, RedPacket.status == "paid", RedPacket.created_at >= since)).one()
    bindings = session.scalar(select(func.count()).select_from(OrderBinding).where(
        OrderBinding.corp_id == corp_id, OrderBinding.bound_at >= since)) or 0
    return {"paid": int(row[0]), "paid_amount": Decimal(int(row[1])) / 100, "bindings": int(bindings)}


def _index(request: Request, session: Session, principal: Principal, clock, form: FormState | None = None,
           status_code: int = 200):
    now = clock.now()
    today = service.local_now(session, principal.corp_id, now).date()
    codes = list(session.scalars(repository.codes_query(principal).order_by(ChannelCode.id.desc()).limit(200)))
    ids = [code.id for code in codes]
    totals, today_adds = stats.total_adds(session, ids), _today_adds(session, ids, today)
    since = today - timedelta(days=CHART_DAYS - 1)
    per_day = stats.adds_per_day(session, ids, since)
    busiest = sorted(codes, key=lambda c: -totals.get(c.id, 0))[:CHART_CODES]
    chart = {"days": [(since + timedelta(days=i)).strftime("%m-%d") for i in range(CHART_DAYS)],
             "series": [{"name": c.name, "data": [per_day[c.id].get(since + timedelta(days=i), 0)
                                                   for i in range(CHART_DAYS)]} for c in busiest]}
    staff = list(session.scalars(select(Staff).where(Staff.corp_id == principal.corp_id,
                                                     Staff.status == StaffStatus.active).order_by(Staff.id).limit(300)))
    context = {
        "codes": codes, "totals": totals, "today_adds": today_adds, "chart": chart, "staff": staff,
        # the period ends a minute from now, so an add of this very second is counted
        "funnel": stats.package_card_funnel(session, principal.corp_id, now - timedelta(days=30),
                                            now + timedelta(minutes=1)),
        "ledger": _ledger_summary(session, principal.corp_id, now - timedelta(days=30)),
        "budget": red_packets.budget_of(session, principal.corp_id),
        "can_write": principal.corp_wide and principal.can("customers.write"),
        "form": form or FormState("code", {"routing": "weighted", "daily_cap": "300"}),
        "total_today": sum(today_adds.values()), "total_adds": sum(totals.values()),
    }
    return render(request, "acquisition/index.html", context, status_code=status_code)


@router.get("/channel-codes")
def channel_codes_page(request: Request, session: DbSession, clock: AppClock,
                       principal: Principal = console_page("channel_codes")):
    return _index(request, session, principal, clock)


def _draft_from_form(values: dict[str, str], members: list[str]) -> service.CodeDraft:
    drafts = []
    for staff_id in members:
        weight = values.get(f"weight_{staff_id}") or "1"
        drafts.append(service.MemberDraft(staff_id=int(staff_id), weight=int(weight) if weight.isdigit() else 0,
                                          backup=values.get(f"backup_{staff_id}") == "on"))
    try:
        card_cost = Decimal(values["card_cost"]) if values.get("card_cost") else None
    except InvalidOperation:
        card_cost = Decimal(-1)
    cap = values.get("daily_cap") or "300"
    return service.CodeDraft(
        name=values.get("name", ""), members=drafts, routing=values.get("routing", "round_robin"),
        daily_cap=int(cap) if cap.isdigit() else 0, welcome_text=values.get("welcome_text", ""),
        remark_template=values.get("remark_template", ""), kind=values.get("kind", "channel"),
        platform=values.get("platform") or None, shop=values.get("shop") or None, card_cost=card_cost)


@router.post("/channel-codes")
async def create_code(request: Request, session: DbSession, clock: AppClock,
                      principal: Principal = console_page("channel_codes", "customers.write")):
    submitted = await request.form()
    values = {k: str(v).strip() for k, v in submitted.items() if isinstance(v, str)}
    members = [str(v) for v in submitted.getlist("member") if str(v).isdigit()]
    form = FormState("code", values)
    try:
        code = service.create_code(session, principal, clock, _draft_from_form(values, members))
    except SiyuError as error:
        record(error, form, request_language(request))
        return _index(request, session, principal, clock, form, error.status_code)
    return RedirectResponse(f"/channel-codes/{code.id}", status_code=303)


@router.get("/channel-codes/{code_id}")
def code_page(code_id: int, request: Request, session: DbSession, clock: AppClock,
              principal: Principal = console_page("channel_codes")):
    code = service.get_code(session, principal, code_id)
    statistics = statistics_of(session, principal, code_id, clock)
    context = {"code": code, "stats": statistics, "members": service.member_rows(session, code, clock.now()),
               "chart": {"days": [d.day.strftime("%m-%d") for d in statistics.adds_per_day],
                         "adds": [d.adds for d in statistics.adds_per_day],
                         "staff": [s.name for s in statistics.adds_per_staff],
                         "staff_adds": [s.adds for s in statistics.adds_per_staff]}}
    return render(request, "acquisition/detail.html", context)
