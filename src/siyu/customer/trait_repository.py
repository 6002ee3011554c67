"""Statements of the trait maintenance: order aggregates per customer, scores, settings.

Traits are maintained by jobs and by the order and identity services for one corp, without a
principal, so every statement here names ``corp_id`` itself; the API reads go through ``scoped``.
All work is set-based: one ``INSERT … SELECT … GROUP BY … ON CONFLICT`` for any number of customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    distinct,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

# Importing the domain repository registers the data-scope rule of Customer.
import siyu.customer.repository  # noqa: F401
from siyu.customer.trait_scores import (
    COUNTED_STATUSES,
    LifecycleThresholds,
    RfmThresholds,
    lifecycle_expression,
    score_expressions,
)
from siyu.kit.db import dialect_insert
from siyu.kit.tenancy import Principal, scoped
from siyu.models.customer import Customer
from siyu.models.order import Order
from siyu.models.trait import CorpTraitSettings, CustomerTrait

orders = Order.__table__
customers = Customer.__table__
traits = CustomerTrait.__table__


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _member(session: Session, column: ColumnElement, ids: Sequence[int]) -> ColumnElement:
    """``column IN ids``; one array parameter on PostgreSQL instead of one parameter per id."""
    if _is_postgresql(session):
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger())))
    return column.in_(list(ids))


def _order_filter(session: Session, corp_id: int, customer_ids: Sequence[int] | None) -> list[ColumnElement]:
    if customer_ids is None:
        return [orders.c.corp_id == corp_id, orders.c.customer_id.is_not(None)]
    return [orders.c.corp_id == corp_id, _member(session, orders.c.customer_id, customer_ids)]


def _favourite(column: ColumnElement, where: list[ColumnElement], name: str):
    """The most frequent non-null ``column`` among counted orders; ties go to the smallest value
    (the rule of PostgreSQL's ``mode()``, which the PostgreSQL statement uses instead)."""
    ranked = (
        select(orders.c.customer_id, column.label("value"),
               func.row_number().over(partition_by=orders.c.customer_id,
                                      order_by=(func.count().desc(), column)).label("rank"))
        .where(*where, orders.c.status.in_(COUNTED_STATUSES), column.is_not(None))
        .group_by(orders.c.customer_id, column)
        .subquery(f"{name}_ranked")
    )
    return select(ranked.c.customer_id, ranked.c.value).where(ranked.c.rank == 1).subquery(name)


def _channels(where: list[ColumnElement]):
    """The sorted distinct platforms of each customer's counted orders, as a JSON array (SQLite)."""
    platforms = (
        select(orders.c.customer_id, orders.c.platform)
        .where(*where, orders.c.status.in_(COUNTED_STATUSES))
        .distinct()
        .order_by(orders.c.customer_id, orders.c.platform)
        .subquery("platforms")
    )
    # SQLite aggregates in the order rows arrive, which is the subquery's order.
    return (select(platforms.c.customer_id, func.json_group_array(platforms.c.platform).label("channels"))
            .group_by(platforms.c.customer_id).subquery("channels"))


def _totals_columns(counted: ColumnElement) -> list[ColumnElement]:
    return [
        func.min(case((counted, orders.c.paid_at))).label("first_order_at"),
        func.max(case((counted, orders.c.paid_at))).label("last_order_at"),
        func.count(case((counted, 1))).label("order_count"),
        func.sum(case((counted, orders.c.amount - orders.c.refund_amount))).label("total_spend"),
        func.sum(orders.c.refund_amount).label("refund_total"),
    ]


def order_aggregates(session: Session, corp_id: int, customer_ids: Sequence[int] | None):
    """A subquery of one row per customer with orders: first/last order, count and spend of counted
    orders, refunds, favourite category and store, and the platforms bought on (JSON array).

    PostgreSQL computes it in one pass over the orders (``mode()`` and ``array_agg(DISTINCT …)`` in
    the same GROUP BY); SQLite, which has neither, ranks the favourites with window functions. Both
    give the same answers, ties included."""
    where = _order_filter(session, corp_id, customer_ids)
    counted = orders.c.status.in_(COUNTED_STATUSES)
    if _is_postgresql(session):
        return (
            select(
                orders.c.customer_id, *_totals_columns(counted),
                func.mode().within_group(orders.c.category).filter(counted).label("favourite_category"),
                func.mode().within_group(orders.c.store_id).filter(counted).label("favourite_store_id"),
                func.to_json(func.array_agg(distinct(orders.c.platform)).filter(counted)).label("channels"),
            )
            .where(*where).group_by(orders.c.customer_id).subquery("aggregates")
        )
    totals = select(orders.c.customer_id, *_totals_columns(counted)).where(*where) \
        .group_by(orders.c.customer_id).subquery("totals")
    category = _favourite(orders.c.category, where, "favourite_category")
    store = _favourite(orders.c.store_id, where, "favourite_store")
    channels = _channels(where)
    return (
        select(totals, category.c.value.label("favourite_category"), store.c.value.label("favourite_store_id"),
               channels.c.channels)
        .select_from(totals.outerjoin(category, category.c.customer_id == totals.c.customer_id)
                     .outerjoin(store, store.c.customer_id == totals.c.customer_id)
                     .outerjoin(channels, channels.c.customer_id == totals.c.customer_id))
        .subquery("aggregates")
    )


def aggregates_select(session: Session, corp_id: int, customer_ids: Sequence[int] | None, *,
                      lifecycle: LifecycleThresholds | None, thresholds: RfmThresholds | None,
                      now: datetime) -> Select:
    """One row per live customer of ``customer_ids`` (every customer of the corp with ``None``):
    the order aggregates and, with ``lifecycle``, the lifecycle stage and the scores against the
    stored cut points (without it, the row the full recompute stages before measuring them)."""
    totals = order_aggregates(session, corp_id, customer_ids)
    order_count = func.coalesce(totals.c.order_count, 0)
    total_spend = func.coalesce(func.round(totals.c.total_spend, 2), 0)
    average_spend = case((order_count > 0, func.round(totals.c.total_spend / order_count, 2)), else_=0)
    empty = literal_column("'[]'::json") if _is_postgresql(session) else literal_column("'[]'")
    columns = [
        customers.c.id.label("customer_id"),
        customers.c.corp_id,
        totals.c.first_order_at,
        totals.c.last_order_at,
        order_count.label("order_count"),
        total_spend.label("total_spend"),
        average_spend.label("average_spend"),
        func.coalesce(func.round(totals.c.refund_total, 2), 0).label("refund_total"),
        totals.c.favourite_category,
        totals.c.favourite_store_id,
        func.coalesce(totals.c.channels, empty).label("channels"),
    ]
    if lifecycle is not None:
        scores = score_expressions(totals.c.last_order_at, order_count, total_spend, thresholds, now)
        stage = lifecycle_expression(totals.c.first_order_at, totals.c.last_order_at, order_count, lifecycle, now)
        columns += [scores.recency.label("recency_score"), scores.frequency.label("frequency_score"),
                    scores.monetary.label("monetary_score"), scores.rfm_class.label("rfm_class"),
                    stage.label("lifecycle_stage"), literal(now, traits.c.updated_at.type).label("updated_at"),
                    literal(now, traits.c.scores_refreshed_at.type).label("scores_refreshed_at")]
    statement = (
        select(*columns)
        .select_from(customers.outerjoin(totals, totals.c.customer_id == customers.c.id))
        .where(customers.c.corp_id == corp_id, customers.c.merged_into_id.is_(None))
    )
    if customer_ids is not None:
        statement = statement.where(_member(session, customers.c.id, customer_ids))
    return statement


def _changed(session: Session, names: Sequence[str], new: Sequence[ColumnElement]) -> ColumnElement:
    """``(current columns) IS DISTINCT FROM (new values)``: rows whose traits did not change are not
    rewritten (no dead tuple, no index churn, their ``updated_at`` keeps the time of the last change).
    JSON has no equality operator on PostgreSQL, so it is compared as text."""
    def comparable(expression: ColumnElement, name: str) -> ColumnElement:
        if name == "channels" and _is_postgresql(session):
            return cast(expression, Text)
        return expression

    current = tuple_(*(comparable(traits.c[name], name) for name in names))
    return current.is_distinct_from(tuple_(*(comparable(value, name) for value, name in zip(new, names, strict=True))))


#: The columns a change of orders or scores can move (``updated_at`` and the keys are not among them).
TRAIT_VALUES = (
    "first_order_at", "last_order_at", "order_count", "total_spend", "average_spend", "refund_total",
    "favourite_category", "favourite_store_id", "channels", "recency_score", "frequency_score", "monetary_score",
    "rfm_class", "lifecycle_stage",
)

AGGREGATE_COLUMNS = (
    "customer_id", "corp_id", "first_order_at", "last_order_at", "order_count", "total_spend", "average_spend",
    "refund_total", "favourite_category", "favourite_store_id", "channels", "recency_score", "frequency_score",
    "monetary_score", "rfm_class", "lifecycle_stage", "updated_at", "scores_refreshed_at",
)


def upsert_aggregates(session: Session, corp_id: int, customer_ids: Sequence[int] | None, *,
                      lifecycle: LifecycleThresholds, thresholds: RfmThresholds | None, now: datetime) -> None:
    """Write the traits of ``customer_ids`` (all the corp's customers with ``None``) in one statement,
    and drop the traits of customers merged into another (the survivor carries their orders)."""
    source = aggregates_select(session, corp_id, customer_ids, lifecycle=lifecycle, thresholds=thresholds, now=now)
    insert = dialect_insert(session, traits).from_select(list(AGGREGATE_COLUMNS), source)
    insert = insert.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={name: insert.excluded[name] for name in AGGREGATE_COLUMNS if name not in ("customer_id", "corp_id")},
        where=_changed(session, TRAIT_VALUES, [insert.excluded[name] for name in TRAIT_VALUES]),
    )
    session.execute(insert)
    merged = select(customers.c.id).where(customers.c.corp_id == corp_id, customers.c.merged_into_id.is_not(None))
    if customer_ids is not None:
        merged = merged.where(_member(session, customers.c.id, customer_ids))
    session.execute(delete(traits).where(traits.c.corp_id == corp_id, traits.c.customer_id.in_(merged)))


#: Advisory-lock class of trait maintenance (the object is the corp id).
TRAIT_LOCK_CLASS = 7301


def lock_for_customers(session: Session, corp_id: int, customer_ids: Sequence[int]) -> None:
    """Serialise trait computations of the same customers (PostgreSQL; SQLite has one writer).

    Two transactions adding orders of one customer each compute the aggregates from their own
    snapshot; without a lock the later commit could store the one that misses the other's order.
    Locking the customers' rows (in id order, so concurrent callers do not deadlock) makes the
    second wait, and its next statement sees the first's orders. The shared corp lock lets many
    such updates run together but waits for a full recompute of the corp, and vice versa."""
    if not _is_postgresql(session):
        return
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:class_id, :corp_id)"),
                    {"class_id": TRAIT_LOCK_CLASS, "corp_id": corp_id})
    # key_share=True renders FOR NO KEY UPDATE: it does not block foreign-key checks of new orders.
    session.execute(select(customers.c.id)
                    .where(customers.c.corp_id == corp_id, _member(session, customers.c.id, customer_ids))
                    .order_by(customers.c.id).with_for_update(key_share=True))


def lock_for_corp(session: Session, corp_id: int) -> None:
    """Exclusive trait lock of the corp for a full recompute (waits for in-flight updates)."""
    if _is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:class_id, :corp_id)"),
                        {"class_id": TRAIT_LOCK_CLASS, "corp_id": corp_id})


def buyer_cut_rows(session: Session, corp_id: int, positions: list[int], source=traits) -> dict[str, dict[int, Any]]:
    """The values at the 1-based sorted ``positions`` among buyers for each metric, in one scan:
    ``{"recency": {position: last_order_at}, "frequency": {…}, "monetary": {…}}`` where recency is
    sorted newest first (fewest days since the last order first). ``source`` is ``customer_trait``
    or the full recompute's staging table (same columns)."""
    buyers = and_(source.c.corp_id == corp_id, source.c.order_count > 0)
    ranked = select(
        source.c.last_order_at, source.c.order_count, source.c.total_spend,
        func.row_number().over(order_by=source.c.last_order_at.desc()).label("r_rank"),
        func.row_number().over(order_by=source.c.order_count).label("f_rank"),
        func.row_number().over(order_by=source.c.total_spend).label("m_rank"),
    ).where(buyers).subquery("ranked")
    rows = session.execute(
        select(ranked).where(ranked.c.r_rank.in_(positions) | ranked.c.f_rank.in_(positions)
                             | ranked.c.m_rank.in_(positions))
    ).all()
    found: dict[str, dict[int, Any]] = {"recency": {}, "frequency": {}, "monetary": {}}
    for last_order_at, order_count, total_spend, r_rank, f_rank, m_rank in rows:
        found["recency"][r_rank] = last_order_at
        found["frequency"][f_rank] = int(order_count)
        found["monetary"][m_rank] = Decimal(str(total_spend)).quantize(Decimal("0.01"))
    return found


def count_buyers(session: Session, corp_id: int, source=traits) -> int:
    return session.scalar(select(func.count()).select_from(source)
                          .where(source.c.corp_id == corp_id, source.c.order_count > 0)) or 0


def score_sums(session: Session, corp_id: int, thresholds: RfmThresholds, now: datetime,
               source=traits) -> tuple[int, int, int]:
    """Sums of the R, F and M scores among buyers under ``thresholds`` (for the exact means)."""
    scores = score_expressions(source.c.last_order_at, source.c.order_count, source.c.total_spend, thresholds, now)
    row = session.execute(
        select(func.sum(scores.recency), func.sum(scores.frequency), func.sum(scores.monetary))
        .where(source.c.corp_id == corp_id, source.c.order_count > 0)
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


#: The staging table of a full recompute: a temporary table, private to the transaction's connection.
STAGE_TABLE = "customer_trait_stage"


def stage_corp_aggregates(session: Session, corp_id: int, now: datetime):
    """Compute the order aggregates of every live customer of the corp into a temporary table, so
    the cut points can be measured on them and each trait row is written once, with its scores."""
    if _is_postgresql(session):
        # The aggregate pass and the cut points sort millions of rows: the default 4 MB of sort memory
        # would spill them to disk. JIT compilation of these wide expressions does not pay for itself on
        # one pass (see docs/benchmarks.md). Both last until the transaction ends.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
    session.execute(text(f"DROP TABLE IF EXISTS {STAGE_TABLE}"))
    create = aggregates_select(session, corp_id, None, lifecycle=None, thresholds=None, now=now) \
        .into(STAGE_TABLE, temporary=True)
    session.execute(create)
    return create.table


def write_from_stage(session: Session, stage, *, lifecycle: LifecycleThresholds, thresholds: RfmThresholds | None,
                     now: datetime) -> tuple[int, int]:
    """Write every staged row into ``customer_trait`` with its scores and stage, then drop the stage.
    Returns (rows updated, rows inserted).

    Two statements, each doing only what it must: an ``UPDATE … FROM`` of the existing rows whose
    values changed (unchanged rows are not touched: no dead tuple, no index entry, ``updated_at``
    kept), then a plain ``INSERT … SELECT`` of the customers that have no row yet, in key order. The
    corp's exclusive trait lock (``lock_for_corp``) keeps the maintenance of the same customers out
    meanwhile, so the insert needs no conflict handling — the speculative insertion of ``ON
    CONFLICT`` doubled the cost of a corp's first recompute."""
    scores = score_expressions(stage.c.last_order_at, stage.c.order_count, stage.c.total_spend, thresholds, now)
    stage_of = lifecycle_expression(stage.c.first_order_at, stage.c.last_order_at, stage.c.order_count, lifecycle, now)
    values: dict[str, ColumnElement] = {name: stage.c[name] for name in AGGREGATE_COLUMNS[2:11]}
    values.update(recency_score=scores.recency, frequency_score=scores.frequency, monetary_score=scores.monetary,
                  rfm_class=scores.rfm_class, lifecycle_stage=stage_of)
    updated = session.execute(
        update(traits)
        .where(traits.c.customer_id == stage.c.customer_id,
               _changed(session, TRAIT_VALUES, [values[name] for name in TRAIT_VALUES]))
        .values(**values, updated_at=now, scores_refreshed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    missing = select(
        stage.c.customer_id, stage.c.corp_id, *values.values(),
        literal(now, traits.c.updated_at.type), literal(now, traits.c.scores_refreshed_at.type),
    ).where(~select(traits.c.customer_id).where(traits.c.customer_id == stage.c.customer_id).exists()) \
        .order_by(stage.c.customer_id)  # in key order: the primary key grows at its right edge
    names = ["customer_id", "corp_id", *values, "updated_at", "scores_refreshed_at"]
    inserted = session.execute(traits.insert().from_select(names, missing)).rowcount
    session.execute(text(f"DROP TABLE {STAGE_TABLE}"))
    return updated, inserted


def delete_merged_traits(session: Session, corp_id: int) -> None:
    """Drop the traits of the corp's customers merged into another."""
    merged = select(customers.c.id).where(customers.c.corp_id == corp_id, customers.c.merged_into_id.is_not(None))
    session.execute(delete(traits).where(traits.c.corp_id == corp_id, traits.c.customer_id.in_(merged)))


def update_scores(session: Session, corp_id: int, *, lifecycle: LifecycleThresholds,
                  thresholds: RfmThresholds | None, now: datetime) -> int:
    """Rescore every trait row of the corp in one UPDATE: scores, class and lifecycle stage (rows
    whose values stay the same are left alone). Returns how many rows changed."""
    scores = score_expressions(traits.c.last_order_at, traits.c.order_count, traits.c.total_spend, thresholds, now)
    stage = lifecycle_expression(traits.c.first_order_at, traits.c.last_order_at, traits.c.order_count,
                                 lifecycle, now)
    new = (scores.recency, scores.frequency, scores.monetary, scores.rfm_class, stage)
    names = ("recency_score", "frequency_score", "monetary_score", "rfm_class", "lifecycle_stage")
    result = session.execute(
        update(traits).where(traits.c.corp_id == corp_id, _changed(session, names, new))
        .values(recency_score=scores.recency, frequency_score=scores.frequency, monetary_score=scores.monetary,
                rfm_class=scores.rfm_class, lifecycle_stage=stage, scores_refreshed_at=now, updated_at=now)
    )
    return result.rowcount


def corp_settings(session: Session, corp_id: int) -> CorpTraitSettings | None:
    return session.get(CorpTraitSettings, corp_id)


def ensure_corp_settings(session: Session, corp_id: int, now: datetime) -> CorpTraitSettings:
    """The corp's settings row, created with the defaults on first use (race-safe)."""
    session.execute(
        dialect_insert(session, CorpTraitSettings.__table__)
        .values(corp_id=corp_id, new_days=30, active_days=90, lost_days=365, rfm_thresholds={}, value_model={},
                updated_at=now)
        .on_conflict_do_nothing(index_elements=["corp_id"])
    )
    settings = session.get(CorpTraitSettings, corp_id)
    assert settings is not None
    return settings


def corp_ids_with_customers(session: Session) -> list[int]:
    """Every corp that has at least one customer (the daily refresh visits these)."""
    return list(session.scalars(select(customers.c.corp_id).distinct().order_by(customers.c.corp_id)))


def customer_trait(session: Session, principal: Principal, customer_id: int) -> CustomerTrait | None:
    """The traits of a customer the principal may see."""
    visible = scoped(select(Customer.id), Customer, principal).where(Customer.id == customer_id)
    return session.scalars(
        select(CustomerTrait).where(CustomerTrait.corp_id == principal.corp_id,
                                    CustomerTrait.customer_id.in_(visible.scalar_subquery()))
    ).one_or_none()


def write_value_predictions(session: Session, corp_id: int, rows: list[dict[str, Any]], now: datetime) -> None:
    """Store the predicted value of each ``{"customer_id", …}`` row (executemany)."""
    if not rows:
        return
    session.execute(
        update(traits)
        .where(traits.c.corp_id == corp_id, traits.c.customer_id == bindparam("b_customer_id"))
        .values(probability_alive=bindparam("b_probability_alive"),
                expected_purchases_90d=bindparam("b_expected_purchases"),
                expected_average_spend=bindparam("b_expected_average_spend"),
                predicted_value_90d=bindparam("b_predicted_value"), updated_at=now)
        .execution_options(synchronize_session=False),
        [{f"b_{key}": value for key, value in row.items()} for row in rows],
    )


def clear_value_predictions(session: Session, corp_id: int, now: datetime) -> None:
    """Forget every prediction of the corp (before writing a new fit, so non-buyers carry none)."""
    session.execute(
        update(traits).where(traits.c.corp_id == corp_id, traits.c.probability_alive.is_not(None))
        .values(probability_alive=None, expected_purchases_90d=None, expected_average_spend=None,
                predicted_value_90d=None, updated_at=now)
    )


def corp_has_rule_tags(session: Session, corp_id: int) -> bool:
    """Whether the corp has a live rule tag (only then do trait changes concern tags)."""
    from siyu.models.tag import Tag

    return session.scalar(
        select(Tag.id).where(Tag.corp_id == corp_id, Tag.kind == "rule", Tag.deleted_at.is_(None)).limit(1)
    ) is not None
