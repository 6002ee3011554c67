"""Trait maintenance: per-customer order aggregates kept up to date as orders arrive.

``mark_customers_changed`` is the hook the order and identity services call in their transaction
whenever orders of some customers were inserted, refunded, cancelled or moved by a merge. It
recomputes exactly those customers, set-based (one ``INSERT … SELECT … GROUP BY … ON CONFLICT`` per
chunk), including their lifecycle stage and their R/F/M scores against the corp's current cut points;
the cut points themselves, and every customer's stage as time moves, are refreshed by the daily job
(``siyu.customer.tasks``). ``recompute_corp`` rebuilds a whole corp in one pass (repairs, the
benchmark).

Rows whose values do not change are not rewritten, so ``updated_at`` and ``scores_refreshed_at``
say when a customer's traits (or scores) last changed; the corp's ``rfm_refreshed_at`` says when its
cut points were last measured. On PostgreSQL the customers being recomputed are row-locked first, so
two transactions adding orders of one customer cannot store a total that misses one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from siyu.customer import trait_repository
from siyu.customer.trait_scores import (
    LifecycleThresholds,
    RfmThresholds,
    minimum_high_score,
    quantile_positions,
)
from siyu.kit.clock import Clock, get_clock

#: Customers per statement: keeps SQLite under its bound-parameter limit and each statement short.
CHUNK_SIZE = 2000


def lifecycle_thresholds(session: Session, corp_id: int) -> LifecycleThresholds:
    """The corp's lifecycle thresholds (the defaults until an operator changes them)."""
    settings = trait_repository.corp_settings(session, corp_id)
    if settings is None:
        return LifecycleThresholds()
    return LifecycleThresholds(settings.new_days, settings.active_days, settings.lost_days)


def rfm_thresholds(session: Session, corp_id: int) -> RfmThresholds | None:
    """The corp's R/F/M cut points, ``None`` before the first refresh found buyers."""
    settings = trait_repository.corp_settings(session, corp_id)
    return None if settings is None else RfmThresholds.from_json(settings.rfm_thresholds)


def mark_customers_changed(session: Session, corp_id: int, customer_ids: Iterable[int], *,
                           clock: Clock | None = None) -> None:
    """Orders of these customers changed: recompute their traits now, in the caller's transaction.

    Every customer id is recomputed from all of its orders (so the call is idempotent and safe to
    repeat); ids of customers merged into another lose their traits, their survivor should be in the
    same call. Ids of another corp are ignored. Only flushes; the caller commits.
    """
    ids = sorted({int(customer_id) for customer_id in customer_ids if customer_id is not None})
    if not ids:
        return
    session.flush()
    clock = clock or get_clock()
    now = clock.now()
    lifecycle = lifecycle_thresholds(session, corp_id)
    thresholds = rfm_thresholds(session, corp_id)
    for start in range(0, len(ids), CHUNK_SIZE):
        trait_repository.lock_for_customers(session, corp_id, ids[start:start + CHUNK_SIZE])
        trait_repository.upsert_aggregates(session, corp_id, ids[start:start + CHUNK_SIZE], lifecycle=lifecycle,
                                           thresholds=thresholds, now=now)
    _expire_traits(session)
    _notify_rule_tags(session, corp_id, ids, clock)
    _ensure_daily_refresh(session, clock)


def recompute_corp(session: Session, corp_id: int, *, clock: Clock | None = None) -> RfmThresholds | None:
    """The full recompute: every live customer's aggregates from all the corp's orders, new R/F/M cut
    points measured on them, and each trait row written once with its scores and stage (repairs, a
    corp's first import, the benchmark). Returns the new cut points (``None`` without buyers)."""
    session.flush()
    clock = clock or get_clock()
    now = clock.now()
    settings = trait_repository.ensure_corp_settings(session, corp_id, now)
    lifecycle = LifecycleThresholds(settings.new_days, settings.active_days, settings.lost_days)
    trait_repository.lock_for_corp(session, corp_id)
    stage = trait_repository.stage_corp_aggregates(session, corp_id, now)
    thresholds = _measure_thresholds(session, corp_id, now, stage)
    trait_repository.write_from_stage(session, stage, lifecycle=lifecycle, thresholds=thresholds, now=now)
    trait_repository.delete_merged_traits(session, corp_id)
    _store_thresholds(session, settings, thresholds, now)
    _notify_rule_tags(session, corp_id, None, clock)
    return thresholds


def _store_thresholds(session: Session, settings, thresholds: RfmThresholds | None, now: datetime) -> None:
    settings.rfm_thresholds = {} if thresholds is None else thresholds.to_json()
    settings.rfm_refreshed_at = now
    settings.updated_at = now
    session.flush()
    _expire_traits(session)


def _ensure_daily_refresh(session: Session, clock: Clock) -> None:
    # Traits exist, so the daily refresh must be scheduled: a keyed no-op once it is.
    from siyu.customer.tasks import ensure_schedule

    ensure_schedule(session, clock)


def _expire_traits(session: Session) -> None:
    # The statements bypass the identity map; objects loaded earlier must not show stale values.
    from siyu.models.trait import CustomerTrait

    for instance in list(session.identity_map.values()):
        if isinstance(instance, CustomerTrait):
            session.expire(instance)


#: The job that re-evaluates rule tags (``siyu.tag.tasks``); named, not imported, because tags read
#: traits and not the other way round.
RULE_TAGS_JOB = "tags.evaluate_rules"


def _notify_rule_tags(session: Session, corp_id: int, customer_ids: list[int] | None, clock: Clock) -> None:
    """Enqueue the re-evaluation of the corp's rule tags for these customers (all with ``None``),
    in the caller's transaction, when the corp has any rule tag."""
    from siyu.kit.jobs import enqueue

    if not trait_repository.corp_has_rule_tags(session, corp_id):
        return
    if customer_ids is None:
        enqueue(session, RULE_TAGS_JOB, {"corp_id": corp_id, "customer_ids": None}, corp_id=corp_id, clock=clock)
        return
    for start in range(0, len(customer_ids), CHUNK_SIZE):
        enqueue(session, RULE_TAGS_JOB, {"corp_id": corp_id, "customer_ids": customer_ids[start:start + CHUNK_SIZE]},
                corp_id=corp_id, clock=clock)


def refresh_scores(session: Session, corp_id: int, *, clock: Clock | None = None) -> RfmThresholds | None:
    """Recompute the corp's R/F/M cut points and mean scores among buyers, then rescore every
    customer's R/F/M, class and lifecycle stage in one UPDATE. Returns the new thresholds (``None``
    when the corp has no buyer yet; then every score is cleared and only stages are set)."""
    session.flush()
    clock = clock or get_clock()
    now = clock.now()
    settings = trait_repository.ensure_corp_settings(session, corp_id, now)
    lifecycle = LifecycleThresholds(settings.new_days, settings.active_days, settings.lost_days)
    thresholds = _measure_thresholds(session, corp_id, now, trait_repository.traits)
    trait_repository.update_scores(session, corp_id, lifecycle=lifecycle, thresholds=thresholds, now=now)
    _store_thresholds(session, settings, thresholds, now)
    _notify_rule_tags(session, corp_id, None, clock)
    return thresholds


def _measure_thresholds(session: Session, corp_id: int, now: datetime, source) -> RfmThresholds | None:
    """Cut points and exact mean scores among the buyers of ``source`` (the traits, or the stage)."""
    buyers = trait_repository.count_buyers(session, corp_id, source)
    if buyers == 0:
        return None
    positions = quantile_positions(buyers)
    cuts = trait_repository.buyer_cut_rows(session, corp_id, positions, source)
    one_day = timedelta(days=1)
    # Scores first with placeholder "high" boundaries: the sums of the scores do not depend on them.
    provisional = RfmThresholds(
        recency_days=tuple((now - cuts["recency"][p]) / one_day for p in positions),
        frequency=tuple(cuts["frequency"][p] for p in positions),
        monetary=tuple(cuts["monetary"][p] for p in positions),
        recency_mean=0.0, frequency_mean=0.0, monetary_mean=0.0, buyers=buyers,
        recency_high_from=6, frequency_high_from=6, monetary_high_from=6,
    )
    r_sum, f_sum, m_sum = trait_repository.score_sums(session, corp_id, provisional, now, source)
    return replace(
        provisional,
        recency_mean=round(r_sum / buyers, 4), frequency_mean=round(f_sum / buyers, 4),
        monetary_mean=round(m_sum / buyers, 4),
        recency_high_from=minimum_high_score(r_sum, buyers), frequency_high_from=minimum_high_score(f_sum, buyers),
        monetary_high_from=minimum_high_score(m_sum, buyers),
    )


def update_lifecycle_settings(session: Session, corp_id: int, *, new_days: int, active_days: int, lost_days: int,
                              clock: Clock) -> None:
    """Change the corp's lifecycle thresholds; every stage is recomputed by a refresh job enqueued
    here (in the caller's transaction). Thresholds must grow: new ≤ active < lost."""
    from siyu.customer.tasks import REFRESH_SCORES
    from siyu.kit.errors import InvalidInput
    from siyu.kit.jobs import enqueue

    if not 1 <= new_days <= active_days < lost_days:
        raise InvalidInput("error.trait_thresholds_order", field="lost_days")
    now = clock.now()
    settings = trait_repository.ensure_corp_settings(session, corp_id, now)
    settings.new_days, settings.active_days, settings.lost_days = new_days, active_days, lost_days
    settings.updated_at = now
    session.flush()
    enqueue(session, REFRESH_SCORES, {"corp_id": corp_id}, corp_id=corp_id, clock=clock)
    _ensure_daily_refresh(session, clock)
