"""Every query of the journey domain outside the engine's hot path; tenant scoping through ``scoped``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer
from siyu.models.journey import Journey, JourneyEnrolment, JourneyStep, JourneyVersion
from siyu.models.tag import Tag

E = JourneyEnrolment


def journeys_query(principal: Principal) -> Select:
    return scoped(select(Journey), Journey, principal).where(Journey.status != "archived")


def get_journey(session: Session, principal: Principal, journey_id: int, *, for_update: bool = False
                ) -> Journey | None:
    statement = scoped(select(Journey), Journey, principal).where(Journey.id == journey_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def versions(session: Session, journey: Journey) -> list[JourneyVersion]:
    return list(session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey.id)
                                .order_by(JourneyVersion.version.desc())))


def version(session: Session, journey: Journey, number: int) -> JourneyVersion | None:
    return session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey.id,
                                                        JourneyVersion.version == number)).one_or_none()


def live_tag_ids(session: Session, corp_id: int) -> set[int]:
    return set(session.scalars(select(Tag.id).where(Tag.corp_id == corp_id, Tag.deleted_at.is_(None))))


def visible_customer_ids(session: Session, principal: Principal, customer_ids: Sequence[int]) -> list[int]:
    return list(session.scalars(scoped(select(Customer.id), Customer, principal).where(
        Customer.id.in_(list(customer_ids)), Customer.merged_into_id.is_(None)).order_by(Customer.id)))


def node_counts(session: Session, journey_id: int) -> dict[str, dict[str, int]]:
    """Per node: how many enrolments are waiting there, passed it, and converted after passing it."""
    counts: dict[str, dict[str, int]] = {}
    for node, waiting in session.execute(
            select(E.node, func.count()).where(E.journey_id == journey_id, E.status == "active").group_by(E.node)):
        counts.setdefault(node, {})["waiting"] = waiting
    rows = session.execute(
        select(JourneyStep.node, JourneyStep.outcome, func.count(),
               func.sum(case((E.converted_at.is_not(None), 1), else_=0)))
        .join(E, E.id == JourneyStep.enrolment_id)
        .where(JourneyStep.journey_id == journey_id).group_by(JourneyStep.node, JourneyStep.outcome))
    for node, outcome, passed, converted in rows:
        entry = counts.setdefault(node, {})
        entry["passed"] = entry.get("passed", 0) + passed
        entry["converted"] = entry.get("converted", 0) + int(converted or 0)
        entry[f"outcome.{outcome}"] = passed
    for entry in counts.values():
        entry.setdefault("waiting", 0)
        entry.setdefault("passed", 0)
        entry.setdefault("converted", 0)
        entry["entered"] = entry["waiting"] + entry["passed"]
    return counts


def enrolment_totals(session: Session, journey_id: int) -> dict[str, int]:
    rows = session.execute(select(E.status, func.count()).where(E.journey_id == journey_id).group_by(E.status))
    totals = {status: count for status, count in rows}
    totals["converted_total"] = session.scalar(select(func.count()).where(
        E.journey_id == journey_id, E.converted_at.is_not(None))) or 0
    return totals


def enrolments_query(journey: Journey, *, customer_id: int | None = None, node: str | None = None,
                     status: str | None = None) -> Select:
    statement = select(E).where(E.journey_id == journey.id, E.corp_id == journey.corp_id)
    if customer_id is not None:
        statement = statement.where(E.customer_id == customer_id)
    if node:
        statement = statement.where(E.node == node)
    if status:
        statement = statement.where(E.status == status)
    return statement


def enrolment(session: Session, journey: Journey, enrolment_id: int) -> JourneyEnrolment | None:
    return session.scalars(select(E).where(E.id == enrolment_id, E.journey_id == journey.id)).one_or_none()


def steps_of(session: Session, enrolment_id: int) -> list[JourneyStep]:
    return list(session.scalars(select(JourneyStep).where(JourneyStep.enrolment_id == enrolment_id)
                                .order_by(JourneyStep.executed_at, JourneyStep.id)))


def customer_names(session: Session, corp_id: int, customer_ids: Sequence[int]) -> dict[int, Any]:
    if not customer_ids:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name).where(
        Customer.corp_id == corp_id, Customer.id.in_(list(customer_ids)))).all())
