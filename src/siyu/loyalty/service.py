"""Loyalty for a principal: what the API and the console do, scoped to what the caller may see.

Each operation checks that the objects it names are visible to the principal (404 naming the field
otherwise), then calls the corp-level functions of ``members``, ``points`` and ``coupons`` that
journeys and broadcasts call directly. Refusals become errors here: 409 with the refusal's code.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.loyalty import coupons, members, points, repository, schemas
from siyu.loyalty.tasks import RECOMPUTE_LEVELS
from siyu.models.loyalty import Coupon, CouponKind, CouponTemplate, Member, MemberLevel, PointsEntry


def _customer(session: Session, principal: Principal, customer_id: int, field: str | None = "customer_id"):
    customer = repository.visible_customer(session, principal, customer_id)
    if customer is None:
        raise NotFound("error.customer_not_found", field=field)
    return customer


def _member(session: Session, principal: Principal, customer_id: int) -> Member:
    member = repository.visible_member(session, principal, customer_id)
    if member is None:
        if repository.visible_customer(session, principal, customer_id) is None:
            raise NotFound("error.customer_not_found")
        raise NotFound("error.loyalty_not_member")
    return member


# -- levels ---------------------------------------------------------------------------------------------

def levels_out(session: Session, principal: Principal, levels: list[MemberLevel]) -> list[schemas.MemberLevel]:
    counts = repository.members_per_level(session, principal)
    return [schemas.MemberLevel.model_validate(level).model_copy(update={"members": counts.get(level.id, 0)})
            for level in levels]


def queue_level_recompute(session: Session, principal: Principal, now: datetime) -> int | None:
    return enqueue(session, RECOMPUTE_LEVELS, {"corp_id": principal.corp_id}, corp_id=principal.corp_id,
                   key=f"{RECOMPUTE_LEVELS}:{principal.corp_id}:manual:{now.isoformat()}")


# -- members --------------------------------------------------------------------------------------------

def members_out(session: Session, found: list[Member]) -> list[schemas.LoyaltyMember]:
    names = repository.members_with_names(session, found)
    level_names = {level.id: level.name for level in repository.levels_of_corp(session, found[0].corp_id)} \
        if found else {}
    return [schemas.LoyaltyMember(
        customer_id=m.customer_id, customer_name=names.get(m.customer_id), member_no=m.member_no,
        level_id=m.level_id, level_name=level_names.get(m.level_id), joined_at=m.joined_at, birthday=m.birthday,
        points_balance=m.points_balance, points_earned_total=m.points_earned_total) for m in found]


def enrol(session: Session, principal: Principal, customer_id: int, birthday: date | None, now: datetime
          ) -> tuple[Member, bool]:
    """Enrol a visible customer; returns the member and whether they were new."""
    _customer(session, principal, customer_id)
    created = members.enrol(session, principal.corp_id, [customer_id], now=now, birthday=birthday) == 1
    member = repository.get_member(session, principal.corp_id, customer_id)
    if not created and birthday is not None and member.birthday is None:
        members.update_member(session, member, now=now, birthday=birthday)
    return member, created


def member(session: Session, principal: Principal, customer_id: int) -> Member:
    return _member(session, principal, customer_id)


def update_member(session: Session, principal: Principal, customer_id: int, birthday: date | None,
                  now: datetime) -> Member:
    return members.update_member(session, _member(session, principal, customer_id), now=now, birthday=birthday)


# -- points ---------------------------------------------------------------------------------------------

def adjust_points(session: Session, principal: Principal, customer_id: int, body: schemas.PointsAdjustment,
                  now: datetime) -> tuple[PointsEntry, bool]:
    """An operator's adjustment; returns the entry and whether it was applied now (False: the key
    was used before). Refused (409) when it would take the balance below zero."""
    _customer(session, principal, customer_id, field=None)
    if body.points == 0:
        raise InvalidInput("error.loyalty_zero_points", field="points")
    outcome = points.adjust(session, principal.corp_id, customer_id, body.points,
                            idempotency_key=f"manual:{body.idempotency_key}", now=now, note=body.note,
                            user_id=principal.user_id)
    if outcome.refusal:
        raise Conflict(f"loyalty.refusal.{outcome.refusal}", field="points", refusal=outcome.refusal)
    return outcome.entry, outcome.applied


# -- coupons --------------------------------------------------------------------------------------------

def _template(session: Session, principal: Principal, template_id: int, field: str | None = None) -> CouponTemplate:
    template = repository.get_template(session, principal, template_id)
    if template is None:
        raise NotFound("error.coupon_template_not_found", field=field)
    return template


def templates_out(session: Session, principal: Principal, found: list[CouponTemplate]
                  ) -> list[schemas.CouponTemplate]:
    counts = repository.coupon_counts(session, principal.corp_id, [t.id for t in found])
    return [schemas.CouponTemplate.model_validate(t).model_copy(update={"counts": counts[t.id]}) for t in found]


def create_template(session: Session, principal: Principal, body: schemas.CouponTemplateCreate, now: datetime
                    ) -> CouponTemplate:
    fields = body.model_dump()
    fields["kind"] = CouponKind(fields["kind"])
    return coupons.create_template(session, principal.corp_id, coupons.TemplateDraft(**fields), now=now)


def get_template(session: Session, principal: Principal, template_id: int) -> CouponTemplate:
    return _template(session, principal, template_id)


def update_template(session: Session, principal: Principal, template_id: int, body: schemas.CouponTemplateUpdate,
                    now: datetime) -> CouponTemplate:
    template = _template(session, principal, template_id)
    return coupons.update_template(session, template, body.model_dump(exclude_unset=True), now=now)


def issue(session: Session, principal: Principal, body: schemas.CouponIssue, now: datetime) -> tuple[Coupon, bool]:
    """Issue a coupon by hand; the idempotency key is the operator's, kept apart from journeys'."""
    _template(session, principal, body.template_id, field="template_id")
    _customer(session, principal, body.customer_id)
    outcome = coupons.issue_coupon(session, principal.corp_id, body.customer_id, body.template_id, source="manual",
                                   source_ref=f"user:{principal.user_id}",
                                   idempotency_key=f"manual:{body.idempotency_key}", now=now, note=body.note)
    if outcome.refusal:
        raise Conflict(f"loyalty.refusal.{outcome.refusal}", refusal=outcome.refusal)
    return outcome.coupon, outcome.created


def coupon(session: Session, principal: Principal, coupon_id: int) -> Coupon:
    found = repository.get_coupon(session, principal, coupon_id)
    if found is None:
        raise NotFound("error.coupon_not_found")
    return found


def redeem(session: Session, principal: Principal, coupon_id: int, order_id: int, now: datetime) -> Coupon:
    found = coupon(session, principal, coupon_id)
    if repository.visible_order(session, principal, order_id) is None:
        raise NotFound("error.loyalty_order_not_found", field="order_id")
    return coupons.redeem_coupon(session, principal.corp_id, found.id, order_id, now=now)


def void(session: Session, principal: Principal, coupon_id: int, now: datetime) -> Coupon:
    found = coupon(session, principal, coupon_id)
    return coupons.void_coupon(session, principal.corp_id, found.id, now=now)
