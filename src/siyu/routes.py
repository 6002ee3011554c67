"""Every router of the application, in one list per surface. Domains add theirs here."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.auth import endpoints as auth_endpoints
from siyu.auth import views as auth_views
from siyu.console import views as console_views
from siyu.customer import endpoints as customer_endpoints
from siyu.customer import trait_endpoints
from siyu.dashboard import views as dashboard_views
from siyu.identity import endpoints as identity_endpoints
from siyu.ingest import endpoints as ingest_endpoints
from siyu.ingest import views as ingest_views
from siyu.jobs import endpoints as jobs_endpoints
from siyu.jobs import views as jobs_views
from siyu.order import endpoints as order_endpoints
from siyu.order import views as order_views
from siyu.org import endpoints as org_endpoints
from siyu.org import views as org_views
from siyu.tag import endpoints as tag_endpoints
from siyu.wecom import endpoints as wecom_endpoints
from siyu.wecom import views as wecom_views

api_router = APIRouter()
for _module in (auth_endpoints, org_endpoints, customer_endpoints, jobs_endpoints, wecom_endpoints,
                ingest_endpoints, identity_endpoints, order_endpoints, trait_endpoints, tag_endpoints):
    api_router.include_router(_module.router)

console_router = APIRouter(include_in_schema=False)
for _module in (auth_views, dashboard_views, org_views, jobs_views, wecom_views, ingest_views, order_views):
    console_router.include_router(_module.router)
# Last, so a real page always wins over the "not built yet" page of its area.
console_router.include_router(console_views.router)


def public_routers() -> list[APIRouter]:
    """Routers outside /api/v1 with their own authentication (ingest keys, WeCom signatures)."""
    from siyu.integrations.wecom import callbacks as wecom_callbacks

    return [wecom_callbacks.router, ingest_endpoints.tracking_router]
