"""The frame every console page is drawn in: who is looking, for which corp, in which area.

Views declare ``principal: Principal = console_page("org")``: the dependency authenticates the
request (redirecting to the login page when there is no session), checks the area's permission
and loads the corp shown in the top bar, so templates never query anything themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request

from siyu.auth.dependencies import ConsolePrincipal, DbSession
from siyu.console.areas import AREAS_BY_KEY, Area
from siyu.console.repository import CorpProfile, corp_profile
from siyu.kit.errors import Forbidden
from siyu.kit.tenancy import Principal


@dataclass(frozen=True)
class Shell:
    """Per-request context of the layout (top bar and navigation)."""

    corp: CorpProfile
    area: Area

    @property
    def zone(self) -> ZoneInfo:
        """The corp's time zone: dates are shown, and months counted, in it."""
        try:
            return ZoneInfo(self.corp.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("Asia/Shanghai")


def console_page(area_key: str, permission: str | None = None):
    """Dependency for a page (or form post) of ``area_key``; ``permission`` is needed on top of the
    area's own (e.g. ``org.write`` to post a form on the organisation page)."""
    area = AREAS_BY_KEY[area_key]
    needed = [p for p in (area.permission, permission) if p]

    def enter(request: Request, session: DbSession, principal: ConsolePrincipal) -> Principal:
        for name in needed:
            if not principal.can(name):
                raise Forbidden("error.permission", permission=name)
        request.state.shell = Shell(corp_profile(session, principal), area)
        return principal

    return Depends(enter)


def shell_of(request: Request) -> Shell:
    """The shell set up by ``console_page`` for this request."""
    return request.state.shell
