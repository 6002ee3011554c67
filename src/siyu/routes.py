"""Every router of the application, in one list per surface. Domains add theirs here."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.acquisition import endpoints as acquisition_endpoints
from siyu.acquisition import views as acquisition_views
from siyu.auth import endpoints as auth_endpoints
from siyu.auth import views as auth_views
from siyu.broadcast import endpoints as broadcast_endpoints
from siyu.broadcast import views as broadcast_views
from siyu.console import views as console_views
from siyu.content import endpoints as content_endpoints
from siyu.content import views as content_views
from siyu.customer import customer_360_endpoints
from siyu.customer import endpoints as customer_endpoints
from siyu.customer import trait_endpoints
from siyu.customer import views as customer_views
from siyu.dashboard import views as dashboard_views
from siyu.group import endpoints as group_endpoints
from siyu.group import views as group_views
from siyu.identity import endpoints as identity_endpoints
from siyu.ingest import endpoints as ingest_endpoints
from siyu.ingest import views as ingest_views
from siyu.jobs import endpoints as jobs_endpoints
from siyu.jobs import views as jobs_views
from siyu.journey import endpoints as journey_endpoints
from siyu.journey import views as journey_views
from siyu.loyalty import endpoints as loyalty_endpoints
from siyu.loyalty import views as loyalty_views
from siyu.moment import endpoints as moment_endpoints
from siyu.moment import views as moment_views
from siyu.order import endpoints as order_endpoints
from siyu.order import views as order_views
from siyu.org import endpoints as org_endpoints
from siyu.org import views as org_views
from siyu.policy import endpoints as policy_endpoints
from siyu.policy import views as policy_views
from siyu.red_packet import endpoints as red_packet_endpoints
from siyu.segment import endpoints as segment_endpoints
from siyu.segment import views as segment_views
from siyu.staff_task import endpoints as staff_task_endpoints
from siyu.staff_task import views as staff_task_views
from siyu.tag import endpoints as tag_endpoints
from siyu.wecom import endpoints as wecom_endpoints
from siyu.wecom import views as wecom_views

api_router = APIRouter()
# Order matters where paths overlap: the Customer 360 routes (``/customers/export``) come before
# ``/customers/{customer_id}``.
for _module in (auth_endpoints, org_endpoints, customer_360_endpoints, customer_endpoints, jobs_endpoints,
                policy_endpoints, broadcast_endpoints, wecom_endpoints, ingest_endpoints, identity_endpoints,
                order_endpoints, trait_endpoints, tag_endpoints, segment_endpoints, journey_endpoints,
                acquisition_endpoints, red_packet_endpoints, group_endpoints, loyalty_endpoints,
                staff_task_endpoints, content_endpoints, moment_endpoints):
    api_router.include_router(_module.router)

console_router = APIRouter(include_in_schema=False)
for _module in (acquisition_views, group_views, policy_views, broadcast_views, auth_views, dashboard_views,
                customer_views, org_views, jobs_views, wecom_views, ingest_views, order_views, segment_views,
                journey_views, loyalty_views, staff_task_views, content_views, moment_views):
    console_router.include_router(_module.router)
# Last, so a real page always wins over the "not built yet" page of its area.
console_router.include_router(console_views.router)


def public_routers() -> list[APIRouter]:
    """Routers outside /api/v1 with their own authentication (ingest keys, WeCom signatures)."""
    from siyu.acquisition import h5 as acquisition_h5
    from siyu.integrations.wecom import callbacks as wecom_callbacks

    return [wecom_callbacks.router, ingest_endpoints.tracking_router, acquisition_h5.router]
