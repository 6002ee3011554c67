"""Console pages of areas not built yet: an honest page naming the issue that will build each one.

``routes.py`` includes this router after every real page, and only areas with ``built=False`` get a
route here, so building an area never collides with its placeholder.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from siyu.console.areas import AREAS, Area
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.kit.tenancy import Principal

router = APIRouter()


def _placeholder(area: Area):
    def page(request: Request, principal: Principal = console_page(area.key)):
        return render(request, "console/not_built.html", {"area": area})

    page.__name__ = f"not_built_{area.key}"
    return page


for _area in AREAS:
    if not _area.built:
        router.add_api_route(_area.path, _placeholder(_area), methods=["GET"], name=f"not_built.{_area.key}")
