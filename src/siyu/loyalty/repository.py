"""Queries of loyalty: levels, settings, members, the ledger and coupons.

The programme's catalogue (levels, settings, coupon templates) is corp-wide: every role of the corp
reads it. A member, their ledger and their coupons are visible exactly when the customer is (the
customer's data-scope rule). Functions without a principal name ``corp_id`` themselves: they serve
jobs and other domains' services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

# Importing the domain repository registers the data-scope rule of Customer (and Order).
import siyu.customer.repository  # noqa: F401
from siyu.kit.tenancy import Principal, data_scope, scoped
from siyu.models.customer import Customer
from siyu.models.loyalty import (
    Coupon,
    CouponStatus,
    CouponTemplate,
    LoyaltySettings,
    Member,
    MemberLevel,
    PointsEntry,
)
from siyu.models.order import Order


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: ColumnElement, ids: Sequence[int]) -> ColumnElement:
    """``column IN ids``; one array parameter on PostgreSQL instead of one parameter per id."""
    if is_postgresql(session):
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger())))
    return column.in_(list(ids))


# -- data scopes ----------------------------------------------------------------------------------------

@data_scope(MemberLevel)
def _level_scope(statement: Select, principal: Principal) -> Select:
    return statement


@data_scope(CouponTemplate)
def _template_scope(statement: Select, principal: Principal) -> Select:
    return statement


@data_scope(LoyaltySettings)
def _settings_scope(statement: Select, principal: Principal) -> Select:
    return statement


def visible_customer_ids(principal: Principal) -> Select:
    return scoped(select(Customer.id), Customer, principal)


@data_scope(Member)
def _member_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(Member.customer_id.in_(visible_customer_ids(principal).scalar_subquery()))


@data_scope(PointsEntry)
def _entry_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(PointsEntry.customer_id.in_(visible_customer_ids(principal).scalar_subquery()))


@data_scope(Coupon)
def _coupon_scope(statement: Select, principal: Principal) -> Select:
    return statement.where(Coupon.customer_id.in_(visible_customer_ids(principal).scalar_subquery()))


# -- settings and levels --------------------------------------------------------------------------------

def settings_of(session: Session, corp_id: int) -> LoyaltySettings | None:
    return session.get(LoyaltySettings, corp_id)


def levels(session: Session, principal: Principal) -> list[MemberLevel]:
    return list(session.scalars(scoped(select(MemberLevel), MemberLevel, principal).order_by(MemberLevel.rank)))


def levels_of_corp(session: Session, corp_id: int) -> list[MemberLevel]:
    return list(session.scalars(select(MemberLevel).where(MemberLevel.corp_id == corp_id)
                                .order_by(MemberLevel.rank)))


def get_level(session: Session, principal: Principal, level_id: int) -> MemberLevel | None:
    return session.scalars(scoped(select(MemberLevel), MemberLevel, principal)
                           .where(MemberLevel.id == level_id)).one_or_none()


def level_taken(session: Session, corp_id: int, *, name: str | None = None, rank: int | None = None,
                except_id: int | None = None) -> bool:
    statement = select(MemberLevel.id).where(MemberLevel.corp_id == corp_id)
    statement = statement.where(MemberLevel.name == name) if name is not None else statement.where(
        MemberLevel.rank == rank)
    if except_id is not None:
        statement = statement.where(MemberLevel.id != except_id)
    return session.scalar(statement.limit(1)) is not None


def members_per_level(session: Session, principal: Principal) -> dict[int | None, int]:
    rows = session.execute(scoped(select(Member.level_id, func.count()), Member, principal)
                           .group_by(Member.level_id))
    return {level_id: count for level_id, count in rows}


# -- customers and members ------------------------------------------------------------------------------

def visible_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    return session.scalars(scoped(select(Customer), Customer, principal)
                           .where(Customer.id == customer_id, Customer.merged_into_id.is_(None))).one_or_none()


def live_customer_ids(session: Session, corp_id: int, customer_ids: Sequence[int]) -> list[int]:
    if not customer_ids:
        return []
    return list(session.scalars(select(Customer.id).where(
        Customer.corp_id == corp_id, among(session, Customer.id, customer_ids), Customer.merged_into_id.is_(None))))


def get_member(session: Session, corp_id: int, customer_id: int) -> Member | None:
    return session.scalars(select(Member).where(Member.corp_id == corp_id,
                                                Member.customer_id == customer_id)).one_or_none()


def visible_member(session: Session, principal: Principal, customer_id: int) -> Member | None:
    return session.scalars(scoped(select(Member), Member, principal)
                           .where(Member.customer_id == customer_id)).one_or_none()


def members_query(principal: Principal, *, level_id: int | None = None, member_no: str | None = None) -> Select[Any]:
    statement = scoped(select(Member), Member, principal)
    if level_id is not None:
        statement = statement.where(Member.level_id == level_id)
    if member_no is not None:
        statement = statement.where(Member.member_no == member_no)
    return statement


def members_with_names(session: Session, members: Sequence[Member]) -> dict[int, str | None]:
    if not members:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_([m.customer_id for m in members])))
    return {customer_id: name for customer_id, name in rows}


# -- ledger ---------------------------------------------------------------------------------------------

def entries_query(principal: Principal, customer_id: int) -> Select[Any]:
    return scoped(select(PointsEntry), PointsEntry, principal).where(PointsEntry.customer_id == customer_id)


def entry_by_key(session: Session, corp_id: int, idempotency_key: str) -> PointsEntry | None:
    return session.scalars(select(PointsEntry).where(PointsEntry.corp_id == corp_id,
                                                     PointsEntry.idempotency_key == idempotency_key)).one_or_none()


def balance_of(session: Session, customer_id: int) -> int:
    return session.scalar(select(Member.points_balance).where(Member.customer_id == customer_id)) or 0


# -- coupons --------------------------------------------------------------------------------------------

def templates(session: Session, principal: Principal, *, active: bool | None = None) -> list[CouponTemplate]:
    statement = scoped(select(CouponTemplate), CouponTemplate, principal)
    if active is not None:
        statement = statement.where(CouponTemplate.active.is_(active))
    return list(session.scalars(statement.order_by(CouponTemplate.id.desc())))


def get_template(session: Session, principal: Principal, template_id: int) -> CouponTemplate | None:
    return session.scalars(scoped(select(CouponTemplate), CouponTemplate, principal)
                           .where(CouponTemplate.id == template_id)).one_or_none()


def template_of_corp(session: Session, corp_id: int, template_id: int) -> CouponTemplate | None:
    return session.scalars(select(CouponTemplate).where(CouponTemplate.corp_id == corp_id,
                                                        CouponTemplate.id == template_id)).one_or_none()


def coupon_counts(session: Session, corp_id: int, template_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Coupons per template and status: ``{template_id: {"issued": n, "redeemed": n, …}}``."""
    counts: dict[int, dict[str, int]] = {t: {s.value: 0 for s in CouponStatus} for t in template_ids}
    if not template_ids:
        return counts
    rows = session.execute(select(Coupon.template_id, Coupon.status, func.count())
                           .where(Coupon.corp_id == corp_id, Coupon.template_id.in_(list(template_ids)))
                           .group_by(Coupon.template_id, Coupon.status))
    for template_id, status, count in rows:
        counts[template_id][CouponStatus(status).value] = count
    return counts


def coupons_query(principal: Principal, *, customer_id: int | None = None, template_id: int | None = None,
                  status: str | None = None) -> Select[Any]:
    statement = scoped(select(Coupon), Coupon, principal)
    if customer_id is not None:
        statement = statement.where(Coupon.customer_id == customer_id)
    if template_id is not None:
        statement = statement.where(Coupon.template_id == template_id)
    if status is not None:
        statement = statement.where(Coupon.status == status)
    return statement


def get_coupon(session: Session, principal: Principal, coupon_id: int) -> Coupon | None:
    return session.scalars(scoped(select(Coupon), Coupon, principal).where(Coupon.id == coupon_id)).one_or_none()


def coupon_of_corp(session: Session, corp_id: int, coupon_id: int) -> Coupon | None:
    return session.scalars(select(Coupon).where(Coupon.corp_id == corp_id, Coupon.id == coupon_id)).one_or_none()


def coupon_by_key(session: Session, corp_id: int, idempotency_key: str) -> Coupon | None:
    return session.scalars(select(Coupon).where(Coupon.corp_id == corp_id,
                                                Coupon.idempotency_key == idempotency_key)).one_or_none()


def coupon_on_order(session: Session, order_id: int) -> Coupon | None:
    return session.scalars(select(Coupon).where(Coupon.order_id == order_id)).one_or_none()


def visible_order(session: Session, principal: Principal, order_id: int) -> Order | None:
    return session.scalars(scoped(select(Order), Order, principal).where(Order.id == order_id)).one_or_none()


def order_of_corp(session: Session, corp_id: int, order_id: int) -> Order | None:
    return session.scalars(select(Order).where(Order.corp_id == corp_id, Order.id == order_id)).one_or_none()


# -- console overview -----------------------------------------------------------------------------------

def programme_totals(session: Session, principal: Principal, now, within_days: int = 30) -> dict[str, int]:
    """Members, points outstanding and points expiring soon among the members the principal sees."""
    from datetime import timedelta

    members, outstanding = session.execute(scoped(
        select(func.count(), func.coalesce(func.sum(Member.points_balance), 0)), Member, principal)).one()
    expiring = session.scalar(scoped(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0))
        .where(PointsEntry.remaining > 0, PointsEntry.expires_at > now,
               PointsEntry.expires_at <= now + timedelta(days=within_days)), PointsEntry, principal))
    return {"members": int(members), "points_outstanding": int(outstanding), "points_expiring": int(expiring or 0)}


def coupons_of_customer(session: Session, principal: Principal, customer_id: int, limit: int = 50) -> list[Coupon]:
    return list(session.scalars(coupons_query(principal, customer_id=customer_id)
                                .order_by(Coupon.id.desc()).limit(limit)))


def template_names(session: Session, corp_id: int) -> dict[int, str]:
    return dict(session.execute(select(CouponTemplate.id, CouponTemplate.name)
                                .where(CouponTemplate.corp_id == corp_id)).all())
