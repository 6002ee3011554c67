"""REST: channel codes and their statistics and QR downloads, package-card funnel, order bindings,
group codes."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Request, Response

from siyu.acquisition import binding, group_codes, h5_links, qr, schemas, service, stats
from siyu.acquisition import repository
from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.kit.errors import NotFound
from siyu.kit.tenancy import Principal
from siyu.models.corp import Corp

router = APIRouter(tags=["acquisition"])


def _detail(session, code, now) -> schemas.ChannelCodeDetail:
    return schemas.ChannelCodeDetail(**schemas.ChannelCode.model_validate(code).model_dump(),
                                     members=[schemas.Member(**row) for row in service.member_rows(session, code, now)])


@router.get("/channel-codes", response_model=list[schemas.ChannelCode], dependencies=[require("customers.read")])
def list_codes(session: DbSession, principal: CurrentPrincipal, kind: str | None = None):
    return list(session.scalars(repository.codes_query(principal, kind=kind).order_by(
        repository.ChannelCode.id.desc())))


@router.post("/channel-codes", response_model=schemas.ChannelCodeDetail, status_code=201,
             dependencies=[require("customers.write")])
def create_code(body: schemas.ChannelCodeCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    code = service.create_code(session, principal, clock, service.draft_from(body.model_dump()))
    return _detail(session, code, clock.now())


@router.get("/channel-codes/{code_id}", response_model=schemas.ChannelCodeDetail,
            dependencies=[require("customers.read")])
def get_code(code_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return _detail(session, service.get_code(session, principal, code_id), clock.now())


@router.delete("/channel-codes/{code_id}", status_code=204, dependencies=[require("customers.write")])
def delete_code(code_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    service.delete_code(session, principal, clock, code_id)
    return Response(status_code=204)


def statistics_of(session, principal: Principal, code_id: int, clock) -> schemas.CodeStatistics:
    code = service.get_code(session, principal, code_id)
    now = clock.now()
    found = stats.code_statistics(session, code, now, service.local_now(session, code.corp_id, now).date())
    return schemas.CodeStatistics(
        code_id=found.code_id, total_adds=found.total_adds, orders=found.orders, sales=found.sales,
        adds_per_day=[schemas.DayCount(day=d, adds=n) for d, n in found.adds_per_day],
        adds_per_staff=[schemas.StaffCount(staff_id=s, name=name, adds=n) for s, name, n in found.adds_per_staff],
        retention=[schemas.RetentionOut(days=r.days, eligible=r.eligible, retained=r.retained, rate=r.rate)
                   for r in found.retention])


@router.get("/channel-codes/{code_id}/statistics", response_model=schemas.CodeStatistics,
            dependencies=[require("customers.read")])
def code_statistics(code_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return statistics_of(session, principal, code_id, clock)


@router.get("/channel-codes/{code_id}/qr.png", dependencies=[require("customers.read")])
def qr_png(code_id: int, session: DbSession, principal: CurrentPrincipal):
    code = service.get_code(session, principal, code_id)
    return Response(qr.png(code), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="channel-code-{code.id}.png"'})


@router.get("/channel-codes/{code_id}/qr.svg", dependencies=[require("customers.read")])
def qr_svg(code_id: int, session: DbSession, principal: CurrentPrincipal):
    code = service.get_code(session, principal, code_id)
    return Response(qr.svg(code), media_type="image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="channel-code-{code.id}.svg"'})


@router.get("/channel-codes/{code_id}/poster.svg", dependencies=[require("customers.read")])
def poster(code_id: int, session: DbSession, principal: CurrentPrincipal,
           headline: str = Query("扫码添加专属顾问", max_length=40),
           note: str = Query("添加后发送订单号，领取红包", max_length=200)):
    code = service.get_code(session, principal, code_id)
    brand = session.get(Corp, principal.corp_id).name
    return Response(qr.poster(code, brand=brand, headline=headline, note=note), media_type="image/svg+xml")


@router.get("/package-cards/funnel", response_model=list[schemas.PlatformFunnel],
            dependencies=[require("customers.read")])
def package_card_funnel(session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                        start: datetime | None = None, end: datetime | None = None):
    end = end or clock.now()
    start = start or end - timedelta(days=30)
    return [schemas.PlatformFunnel(platform=f.platform, cards=f.cards, added=f.added, shipped=f.shipped,
                                   add_rate=f.add_rate, card_cost=f.card_cost, cost_per_added=f.cost_per_added)
            for f in stats.package_card_funnel(session, principal.corp_id, start, end)]


def _visible_customer(session, principal: Principal, customer_id: int) -> None:
    from siyu.customer import repository as customers

    if customers.get_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found", field="customer_id")


def binding_out(result: binding.BindingResult) -> schemas.OrderBinding:
    return schemas.OrderBinding(id=result.binding.id, order_id=result.order.id, order_no=result.order.order_no,
                                platform=result.order.platform, customer_id=result.customer_id,
                                via=result.binding.via, bound_at=result.binding.bound_at,
                                red_packet_id=result.red_packet_id, reward_refused=result.reward_refused,
                                created=result.created)


@router.post("/order-bindings", response_model=schemas.OrderBinding, status_code=201,
             dependencies=[require("customers.read")])
def bind_order(body: schemas.OrderBindingCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    """The sidebar: a staff member enters the order number and phone tail the customer sent."""
    _visible_customer(session, principal, body.customer_id)
    result = binding.bind_order(session, principal.corp_id, customer_id=body.customer_id, order_no=body.order_no,
                                phone_tail=body.phone_tail, platform=body.platform, via=body.via, clock=clock,
                                staff_id=principal.staff_id)
    return binding_out(result)


@router.post("/order-bindings/from-message", response_model=schemas.OrderBinding | None,
             dependencies=[require("customers.read")])
def bind_from_message(body: schemas.OrderBindingFromMessage, session: DbSession, principal: CurrentPrincipal,
                      clock: AppClock):
    """A chat message (from the archive feed or pasted in the sidebar); null when it names no order."""
    _visible_customer(session, principal, body.customer_id)
    result = binding.bind_from_message(session, principal.corp_id, customer_id=body.customer_id, text=body.text,
                                       clock=clock, staff_id=principal.staff_id)
    return binding_out(result) if result else None


@router.post("/order-bindings/links", response_model=schemas.BindingLink, status_code=201,
             dependencies=[require("customers.read")])
def binding_link(body: schemas.BindingLinkCreate, request: Request, session: DbSession, principal: CurrentPrincipal,
                 clock: AppClock):
    """A signed link to the H5 form, for the staff member to send to the customer."""
    _visible_customer(session, principal, body.customer_id)
    settings = request.app.state.settings
    token, expires_at = h5_links.make_token(principal.corp_id, body.customer_id, clock.now(), settings.secret_key)
    return schemas.BindingLink(url=f"{settings.public_base_url.rstrip('/')}/h5/bind/{token}", expires_at=expires_at)


@router.get("/group-codes", response_model=list[schemas.GroupCode], dependencies=[require("customers.read")])
def list_group_codes(session: DbSession, principal: CurrentPrincipal):
    return list(session.scalars(group_codes.codes_query(principal).order_by(group_codes.GroupCode.id)))


@router.post("/group-codes", response_model=schemas.GroupCode, status_code=201,
             dependencies=[require("customers.write")])
def create_group_code(body: schemas.GroupCodeCreate, session: DbSession, principal: CurrentPrincipal,
                      clock: AppClock):
    return group_codes.create_group_code(session, principal, clock, **body.model_dump())


@router.post("/group-codes/{group_code_id}/refresh", response_model=schemas.GroupCode, status_code=202,
             dependencies=[require("customers.write")])
def refresh_group_code(group_code_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    code = group_codes.get_group_code(session, principal, group_code_id)
    group_codes.request_refresh(session, code, clock)
    return code


@router.get("/customers/{customer_id}/group-code", response_model=schemas.GroupCode | None,
            dependencies=[require("customers.read")])
def group_code_for_customer(customer_id: int, session: DbSession, principal: CurrentPrincipal):
    """Which group code to invite this customer to (their tier by purchases)."""
    _visible_customer(session, principal, customer_id)
    return group_codes.group_code_for_customer(session, principal.corp_id, customer_id)

