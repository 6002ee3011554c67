"""REST: customers (read side; the CDP issue adds identities, merge and import)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from siyu.auth.dependencies import CurrentPrincipal, DbSession, require
from siyu.customer import listing, repository, schemas
from siyu.customer.customer_360_endpoints import Filters
from siyu.customer.listing import CustomerFilter
from siyu.kit.errors import NotFound
from siyu.kit.pagination import Page

router = APIRouter(tags=["customers"])


@router.get("/customers", response_model=Page[schemas.Customer], dependencies=[require("customers.read")])
def list_customers(session: DbSession, principal: CurrentPrincipal, wanted: CustomerFilter = Filters,
                   limit: int = Query(50), cursor: str | None = None):
    """Customers in the caller's scope, newest first: ``q`` finds any identity value, a phone or a
    name; the other parameters filter (see ``customer.listing``)."""
    zone = listing.corp_zone(session, principal.corp_id)
    rows, next_cursor = listing.customers_of_page(session, principal, wanted, zone, limit=limit, cursor=cursor)
    return Page(items=[schemas.Customer.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/customers/{customer_id}", response_model=schemas.Customer, dependencies=[require("customers.read")])
def get_customer(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    from siyu.identity.manual import resolve

    # a merged-away id keeps working: it answers with the survivor
    return resolve(session, principal, customer_id)


@router.get("/customers/{customer_id}/orders", response_model=list[schemas.Order],
            dependencies=[require("orders.read")])
def customer_orders(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    if repository.get_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found")
    return repository.orders_of_customer(session, principal, customer_id)
