"""REST: the loyalty programme (settings, levels), members and their points, coupon templates and
coupons.

Route order is the order of the tenancy tests' write sweep, which runs every write once on one set
of objects: a level is changed, then deleted, then one is created (a new level would otherwise take
the rank and name the change gives the sample); coupons are issued and redeemed before their
template is changed (the change may switch it off).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.kit.pagination import Page, paginate
from siyu.loyalty import members, points, repository, schemas, service
from siyu.models.loyalty import Coupon, Member, PointsEntry

router = APIRouter(prefix="/loyalty", tags=["loyalty"])


# -- settings and levels --------------------------------------------------------------------------------

@router.get("/settings", response_model=schemas.LoyaltySettings, dependencies=[require("customers.read")])
def get_settings(session: DbSession, principal: CurrentPrincipal):
    return members.settings(session, principal.corp_id)


@router.put("/settings", response_model=schemas.LoyaltySettings, dependencies=[require("loyalty.write")])
def update_settings(body: schemas.LoyaltySettingsUpdate, session: DbSession, principal: CurrentPrincipal,
                    clock: AppClock):
    return members.update_settings(session, principal.corp_id, now=clock.now(), **body.model_dump())


@router.get("/levels", response_model=list[schemas.MemberLevel], dependencies=[require("customers.read")])
def list_levels(session: DbSession, principal: CurrentPrincipal):
    return service.levels_out(session, principal, repository.levels(session, principal))


@router.post("/levels/recompute", response_model=schemas.LevelsRecomputeQueued, status_code=202,
             dependencies=[require("loyalty.write")])
def recompute_levels(session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return schemas.LevelsRecomputeQueued(job_id=service.queue_level_recompute(session, principal, clock.now()))


@router.patch("/levels/{level_id}", response_model=schemas.MemberLevel, dependencies=[require("loyalty.write")])
def update_level(level_id: int, body: schemas.MemberLevelUpdate, session: DbSession, principal: CurrentPrincipal,
                 clock: AppClock):
    level = members.update_level(session, principal, level_id, body.model_dump(exclude_unset=True), now=clock.now())
    return service.levels_out(session, principal, [level])[0]


@router.delete("/levels/{level_id}", status_code=204, dependencies=[require("loyalty.write")])
def delete_level(level_id: int, session: DbSession, principal: CurrentPrincipal):
    members.delete_level(session, principal, level_id)
    return Response(status_code=204)


@router.post("/levels", response_model=schemas.MemberLevel, status_code=201, dependencies=[require("loyalty.write")])
def create_level(body: schemas.MemberLevelCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    level = members.create_level(session, principal.corp_id, members.LevelDraft(**body.model_dump()), now=clock.now())
    return service.levels_out(session, principal, [level])[0]


# -- members and points ---------------------------------------------------------------------------------

@router.get("/members", response_model=Page[schemas.LoyaltyMember], dependencies=[require("customers.read")])
def list_members(session: DbSession, principal: CurrentPrincipal, level_id: int | None = None,
                 member_no: str | None = None, limit: int = Query(50), cursor: str | None = None):
    statement = repository.members_query(principal, level_id=level_id, member_no=member_no)
    rows, next_cursor = paginate(session, statement, Member.customer_id, limit=limit, cursor=cursor)
    return Page(items=service.members_out(session, rows), next_cursor=next_cursor)


@router.post("/members", response_model=schemas.LoyaltyMember, dependencies=[require("customers.write")])
def enrol_member(body: schemas.MemberEnrol, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                 response: Response):
    member, created = service.enrol(session, principal, body.customer_id, body.birthday, clock.now())
    response.status_code = 201 if created else 200
    return service.members_out(session, [member])[0]


@router.get("/members/{customer_id}", response_model=schemas.LoyaltyMember, dependencies=[require("customers.read")])
def get_member(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.members_out(session, [service.member(session, principal, customer_id)])[0]


@router.patch("/members/{customer_id}", response_model=schemas.LoyaltyMember,
              dependencies=[require("customers.write")])
def update_member(customer_id: int, body: schemas.MemberUpdate, session: DbSession, principal: CurrentPrincipal,
                  clock: AppClock):
    member = service.update_member(session, principal, customer_id, body.birthday, clock.now())
    return service.members_out(session, [member])[0]


@router.get("/members/{customer_id}/points", response_model=Page[schemas.PointsEntry],
            dependencies=[require("customers.read")])
def points_ledger(customer_id: int, session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                  cursor: str | None = None):
    service.member(session, principal, customer_id)
    rows, next_cursor = paginate(session, repository.entries_query(principal, customer_id), PointsEntry.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[schemas.PointsEntry.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/members/{customer_id}/points", response_model=schemas.PointsEntry,
             dependencies=[require("customers.write")])
def adjust_points(customer_id: int, body: schemas.PointsAdjustment, session: DbSession, principal: CurrentPrincipal,
                  clock: AppClock, response: Response):
    entry, applied = service.adjust_points(session, principal, customer_id, body, clock.now())
    response.status_code = 201 if applied else 200
    return entry


@router.get("/points/expiring", response_model=list[schemas.ExpiringPoints], dependencies=[require("customers.read")])
def expiring_points(session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                    within_days: int = Query(30, ge=1, le=366)):
    return points.expiring_points(session, principal.corp_id, now=clock.now(), within_days=within_days,
                                  visible=repository.visible_customer_ids(principal))


# -- coupon templates and coupons -----------------------------------------------------------------------

@router.get("/coupon-templates", response_model=list[schemas.CouponTemplate],
            dependencies=[require("customers.read")])
def list_templates(session: DbSession, principal: CurrentPrincipal, active: bool | None = None):
    return service.templates_out(session, principal, repository.templates(session, principal, active=active))


@router.post("/coupon-templates", response_model=schemas.CouponTemplate, status_code=201,
             dependencies=[require("loyalty.write")])
def create_template(body: schemas.CouponTemplateCreate, session: DbSession, principal: CurrentPrincipal,
                    clock: AppClock):
    return service.templates_out(session, principal, [service.create_template(session, principal, body,
                                                                              clock.now())])[0]


@router.get("/coupon-templates/{template_id}", response_model=schemas.CouponTemplate,
            dependencies=[require("customers.read")])
def get_template(template_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.templates_out(session, principal, [service.get_template(session, principal, template_id)])[0]


@router.post("/coupons", response_model=schemas.Coupon, dependencies=[require("customers.write")])
def issue_coupon(body: schemas.CouponIssue, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                 response: Response):
    coupon, created = service.issue(session, principal, body, clock.now())
    response.status_code = 201 if created else 200
    return coupon


@router.post("/coupons/{coupon_id}/redeem", response_model=schemas.Coupon, dependencies=[require("customers.write")])
def redeem_coupon(coupon_id: int, body: schemas.CouponRedeem, session: DbSession, principal: CurrentPrincipal,
                  clock: AppClock):
    return service.redeem(session, principal, coupon_id, body.order_id, clock.now())


@router.get("/coupons", response_model=Page[schemas.Coupon], dependencies=[require("customers.read")])
def list_coupons(session: DbSession, principal: CurrentPrincipal, customer_id: int | None = None,
                 template_id: int | None = None, status: schemas.CouponStatusName | None = None,
                 limit: int = Query(50), cursor: str | None = None):
    statement = repository.coupons_query(principal, customer_id=customer_id, template_id=template_id, status=status)
    rows, next_cursor = paginate(session, statement, Coupon.id, limit=limit, cursor=cursor)
    return Page(items=[schemas.Coupon.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/coupons/{coupon_id}", response_model=schemas.Coupon, dependencies=[require("customers.read")])
def get_coupon(coupon_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.coupon(session, principal, coupon_id)


@router.patch("/coupon-templates/{template_id}", response_model=schemas.CouponTemplate,
              dependencies=[require("loyalty.write")])
def update_template(template_id: int, body: schemas.CouponTemplateUpdate, session: DbSession,
                    principal: CurrentPrincipal, clock: AppClock):
    template = service.update_template(session, principal, template_id, body, clock.now())
    return service.templates_out(session, principal, [template])[0]
