"""Console: the home dashboard."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from siyu.auth.dependencies import AppClock, DbSession
from siyu.console.rendering import render
from siyu.console.shell import console_page, shell_of
from siyu.dashboard import service
from siyu.kit.tenancy import Principal

router = APIRouter()


@router.get("/")
def home(request: Request, session: DbSession, clock: AppClock, principal: Principal = console_page("home")):
    overview = service.overview(session, principal, clock, shell_of(request).zone)
    return render(request, "dashboard/home.html", {"overview": overview, "chart": asdict(overview.series)})
