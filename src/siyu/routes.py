"""Every router of the application, in one list per surface. Domains add theirs here."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.auth import endpoints as auth_endpoints
from siyu.auth import views as auth_views
from siyu.customer import endpoints as customer_endpoints
from siyu.dashboard import views as dashboard_views
from siyu.jobs import endpoints as jobs_endpoints
from siyu.jobs import views as jobs_views
from siyu.org import endpoints as org_endpoints
from siyu.org import views as org_views

api_router = APIRouter()
for _module in (auth_endpoints, org_endpoints, customer_endpoints, jobs_endpoints):
    api_router.include_router(_module.router)

console_router = APIRouter(include_in_schema=False)
for _module in (auth_views, dashboard_views, org_views, jobs_views):
    console_router.include_router(_module.router)


def public_routers() -> list[APIRouter]:
    """Routers outside /api/v1 with their own authentication (ingest keys, WeCom signatures)."""
    return []
