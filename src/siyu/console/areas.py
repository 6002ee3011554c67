"""The console's navigation: every area of the product, grouped as operators think of the chain
(获客 → 客户 → 触达 → 营销 → 合规 → 数据 → 管理).

An area that is not built yet is served by ``console.views`` as an honest "not built yet" page that
names the issue which will build it — never with sample data. To replace it with a real page, give
the area's domain a ``views.py`` with a route at ``area.path``, list it in ``routes.py``, and set
``built=True`` on its line below.

Labels live in the catalogue: ``console.area.<key>`` (name), ``console.area.<key>.about`` (what it
will do) and ``console.area.<key>.issue`` (the issue that builds it).
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.kit.tenancy import Principal


@dataclass(frozen=True)
class Area:
    """One entry of the left navigation."""

    key: str
    path: str
    #: key of the navigation group (``console.group.<group>``); None for the top entry (home)
    group: str | None
    #: permission needed to see and open the area; None: every console user
    permission: str | None = None
    built: bool = False

    @property
    def label_key(self) -> str:
        return f"console.area.{self.key}"


#: Navigation groups in the order they are shown.
GROUPS: tuple[str, ...] = ("acquire", "customer", "reach", "marketing", "compliance", "data", "admin")

AREAS: tuple[Area, ...] = (
    Area("home", "/", None, "dashboard.read", built=True),
    Area("channel_codes", "/channel-codes", "acquire", built=True),
    Area("fission", "/fission", "acquire"),
    Area("customers", "/customers", "customer", "customers.read", built=True),
    Area("orders", "/orders", "customer", "orders.read", built=True),
    Area("tags", "/tags", "customer"),
    Area("segments", "/segments", "customer", "customers.read", built=True),
    Area("groups", "/groups", "customer", built=True),
    Area("journeys", "/journeys", "reach", "journeys.read", built=True),
    Area("broadcasts", "/broadcasts", "reach", "broadcasts.read", built=True),
    Area("moments", "/moments", "reach", "broadcasts.read", built=True),
    Area("content", "/content", "reach", "broadcasts.read", built=True),
    Area("loyalty", "/loyalty", "marketing", "customers.read", built=True),
    Area("staff_tasks", "/staff-tasks", "marketing", "customers.read", built=True),
    Area("archive", "/archive", "compliance"),
    Area("analytics", "/analytics", "data", "dashboard.read"),
    Area("ingest", "/ingest", "data", "settings.write", built=True),
    Area("org", "/org", "admin", "org.read", built=True),
    Area("jobs", "/jobs", "admin", "jobs.read", built=True),
    Area("wecom", "/settings/wecom", "admin", "wecom.admin", built=True),
    Area("policy", "/settings/policy", "admin", "settings.write", built=True),
    Area("settings", "/settings", "admin", "settings.write"),
)

AREAS_BY_KEY: dict[str, Area] = {area.key: area for area in AREAS}


@dataclass(frozen=True)
class NavGroup:
    """A heading of the navigation with the areas the principal may open."""

    key: str | None
    areas: tuple[Area, ...]


def visible(area: Area, principal: Principal) -> bool:
    return area.permission is None or principal.can(area.permission)


def navigation(principal: Principal | None) -> list[NavGroup]:
    """The navigation for ``principal``: groups in order, empty groups left out."""
    if principal is None:
        return []
    groups: list[NavGroup] = []
    top = tuple(area for area in AREAS if area.group is None and visible(area, principal))
    if top:
        groups.append(NavGroup(None, top))
    for group in GROUPS:
        areas = tuple(area for area in AREAS if area.group == group and visible(area, principal))
        if areas:
            groups.append(NavGroup(group, areas))
    return groups


def area_for_path(path: str) -> Area | None:
    """The area a console path belongs to (longest matching prefix), for highlighting the nav."""
    best: Area | None = None
    for area in AREAS:
        if area.path == "/":
            matches = path == "/"
        else:
            matches = path == area.path or path.startswith(area.path + "/")
        if matches and (best is None or len(area.path) > len(best.path)):
            best = area
    return best
