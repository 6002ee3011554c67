"""Who a broadcast is for, as SQL: the audience (segment, tags, stores, staff) and, per customer, the
serving relation WeCom delivers through (the most recently added active relation with an active
staff member)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from siyu.kit.errors import InvalidInput
from siyu.models import Customer, CustomerTag, Relation, RelationStatus, Staff, StaffStatus


def check_audience(audience: dict[str, Any]) -> dict[str, Any]:
    """Normalise the audience; refusals name the field."""
    for name in ("group_chat_ids", "owner_staff_ids"):
        if audience.get(name):
            raise InvalidInput("error.broadcast_customer_audience_field", field=f"audience.{name}")
    clean: dict[str, Any] = {}
    for name in ("tag_ids", "store_ids", "staff_ids"):
        values = audience.get(name) or []
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            raise InvalidInput("error.broadcast_ids_invalid", field=f"audience.{name}")
        if values:
            clean[name] = sorted(set(values))
    match = audience.get("tag_match", "any")
    if match not in ("any", "all"):
        raise InvalidInput("error.broadcast_tag_match_invalid", field="audience.tag_match")
    if "tag_ids" in clean:
        clean["tag_match"] = match
    segment_id = audience.get("segment_id")
    if segment_id is not None:
        if not isinstance(segment_id, int):
            raise InvalidInput("error.broadcast_ids_invalid", field="audience.segment_id")
        clean["segment_id"] = segment_id
    return clean


def check_references(session: Session, corp_id: int, audience: dict[str, Any]) -> None:
    """Every id of the audience names a row of this corp (``NotFound`` naming the field otherwise)."""
    from siyu.kit.errors import NotFound
    from siyu.models import Department, Tag

    for name, model in (("tag_ids", Tag), ("store_ids", Department), ("staff_ids", Staff)):
        wanted = set(audience.get(name) or [])
        if wanted:
            found = set(session.scalars(select(model.id).where(model.corp_id == corp_id, model.id.in_(wanted))))
            if wanted - found:
                raise NotFound("error.broadcast_reference_not_found", field=f"audience.{name}")
    if audience.get("segment_id") is not None:
        from siyu.segment import members_select

        members_select(session, corp_id, audience["segment_id"])  # NotFound for another corp's segment


def audience_customers(session: Session, corp_id: int, audience: dict[str, Any]) -> Select:
    """``SELECT customer.id`` of the audience (merged-away customers never included)."""
    statement = select(Customer.id.label("customer_id")).where(Customer.corp_id == corp_id,
                                                               Customer.merged_into_id.is_(None))
    if audience.get("segment_id") is not None:
        from siyu.segment import members_select

        members = members_select(session, corp_id, audience["segment_id"]).subquery()
        statement = statement.where(Customer.id.in_(select(members.c.customer_id)))
    tag_ids = audience.get("tag_ids") or []
    if tag_ids:
        def tagged(ids: list[int]):
            return exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag_id.in_(ids))

        if audience.get("tag_match") == "all":
            statement = statement.where(and_(*[tagged([tag_id]) for tag_id in tag_ids]))
        else:
            statement = statement.where(tagged(tag_ids))
    if audience.get("store_ids"):
        statement = statement.where(Customer.home_store_id.in_(audience["store_ids"]))
    if audience.get("staff_ids"):
        statement = statement.where(exists().where(
            Relation.customer_id == Customer.id, Relation.staff_id.in_(audience["staff_ids"]),
            Relation.status == RelationStatus.active))
    return statement


def serving_relations(corp_id: int, staff_ids: list[int] | None = None):
    """Per customer, the one active relation a broadcast goes through (subquery: customer_id,
    staff_id, external_userid)."""
    ranked = (select(Relation.customer_id, Relation.staff_id, Relation.external_userid,
                     func.row_number().over(partition_by=Relation.customer_id,
                                            order_by=(Relation.added_at.desc(), Relation.id.desc())).label("rank"))
              .join(Staff, Staff.id == Relation.staff_id)
              .where(Relation.corp_id == corp_id, Relation.status == RelationStatus.active,
                     Relation.external_userid.is_not(None), Staff.status == StaffStatus.active))
    if staff_ids:
        ranked = ranked.where(Relation.staff_id.in_(staff_ids))
    ranked = ranked.subquery()
    return (select(ranked.c.customer_id, ranked.c.staff_id, ranked.c.external_userid)
            .where(ranked.c.rank == 1).subquery())


def recipients_select(session: Session, corp_id: int, audience: dict[str, Any], *, ordered: bool = True) -> Select:
    """(customer_id, staff_id, external_userid, contact_deleted) of every audience customer; staff and
    external userid are NULL for a customer nobody can reach through WeCom, who is not sent to the
    gate: the broadcast blocks them itself (``contact_deleted`` if they deleted a staff contact, else
    ``no_relation``)."""
    customers = audience_customers(session, corp_id, audience).subquery()
    serving = serving_relations(corp_id, audience.get("staff_ids"))
    deleted = exists().where(Relation.corp_id == corp_id, Relation.customer_id == customers.c.customer_id,
                             Relation.status == RelationStatus.deleted_by_customer)
    statement = (select(customers.c.customer_id, serving.c.staff_id, serving.c.external_userid,
                        deleted.label("contact_deleted"))
                 .outerjoin(serving, serving.c.customer_id == customers.c.customer_id))
    return statement.order_by(customers.c.customer_id) if ordered else statement
