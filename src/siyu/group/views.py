"""Console: customer groups — the groups with owners, one group's "20 % of members bring 80 % of sales"
chart and join/quit timeline, group codes, and loss alerts (deleted contacts, both sides)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from sqlalchemy import select

from siyu.auth.dependencies import AppClock, DbSession
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.group import insights
from siyu.kit.tenancy import Principal
from siyu.models.acquisition import GroupCode

router = APIRouter()
LOSS_DAYS = 7


@router.get("/groups")
def groups_page(request: Request, session: DbSession, clock: AppClock, group: int | None = None,
                principal: Principal = console_page("groups")):
    corp_wide = principal.corp_wide
    groups = insights.groups(session, principal.corp_id) if corp_wide else []
    chosen = next((g for g in groups if g.id == group), groups[0] if groups else None)
    concentration = insights.sales_concentration(session, principal.corp_id, chosen.id) if chosen else None
    chart = None
    if concentration and concentration.ranking:
        running, cumulative = 0.0, []
        total = float(concentration.total_sales) or 1.0
        for _, _, sales in concentration.ranking:
            running += float(sales)
            cumulative.append(round(100 * running / total, 1))
        chart = {"names": [name or str(cid) for cid, name, _ in concentration.ranking],
                 "sales": [float(s) for _, _, s in concentration.ranking], "cumulative": cumulative}
    context = {
        "groups": groups, "chosen": chosen, "concentration": concentration, "chart": chart,
        "timeline": insights.timeline(session, chosen.id, limit=15) if chosen else [],
        "alerts": insights.loss_alerts(session, principal.corp_id, clock.now() - timedelta(days=LOSS_DAYS), limit=50)
        if corp_wide else [],
        "group_codes": list(session.scalars(select(GroupCode).where(
            GroupCode.corp_id == principal.corp_id, GroupCode.status != "deleted").order_by(GroupCode.id)))
        if corp_wide else [],
        "loss_days": LOSS_DAYS, "corp_wide": corp_wide,
    }
    return render(request, "group/index.html", context)
