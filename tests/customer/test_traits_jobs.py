"""The daily scheduler, the refresh jobs, and the value model written into traits."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import select

from siyu.analytics.clv_service import forecast_corp
from siyu.customer.tasks import ensure_schedule, run_schedule
from siyu.customer.trait_value import refit_value_model
from siyu.customer.traits import recompute_corp
from siyu.kit.jobs import JobContext, Worker, enqueue, load_handler_modules
from siyu.kit.tenancy import Principal
from siyu.models import Job, JobStatus, Role
from siyu.models.trait import CorpTraitSettings, CustomerTrait
from tests.customer.trait_population import add_customer, add_order, make_trait_corp


def _jobs(session) -> list[tuple[str, dict, str | None, datetime, str]]:
    return [(j.name, j.args, j.key, j.due_at, j.status) for j in session.scalars(select(Job).order_by(Job.id))]


def test_the_scheduler_enqueues_each_corps_refresh_once_per_day(database, clock):
    # given two corps with customers and one without, at 09:00 UTC on 5 January
    load_handler_modules()
    with database.session() as session:
        first = make_trait_corp(session, "first")
        second = make_trait_corp(session, "second")
        make_trait_corp(session, "empty")
        for corp in (first, second):
            add_order(session, corp.corp_id, add_customer(session, corp.corp_id), clock.now(), "10.00")
        # when the schedule is ensured twice
        started = ensure_schedule(session, clock)
        again = ensure_schedule(session, clock)
    # then one scheduler job waits for 18:00
    evening = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    assert started is not None and again is None
    with database.session() as session:
        assert _jobs(session) == [("traits.schedule", {"day": "2026-01-05"}, "traits.schedule:2026-01-05", evening,
                                   JobStatus.queued)]
    # when the evening comes and the worker runs the scheduler
    clock.set(evening)
    worker = Worker(database, clock=clock, worker_id="w", lease_seconds=30)
    worker.run_once()
    # then each corp with customers got its two jobs for the day, and tomorrow's scheduler waits
    with database.session() as session:
        jobs = _jobs(session)
    day_keys = sorted(key for _, _, key, _, _ in jobs if key and ":2026-01-05" in key and "schedule" not in key)
    assert day_keys == sorted([f"traits.refresh_scores:{first.corp_id}:2026-01-05",
                               f"traits.refit_value_model:{first.corp_id}:2026-01-05",
                               f"traits.refresh_scores:{second.corp_id}:2026-01-05",
                               f"traits.refit_value_model:{second.corp_id}:2026-01-05"])
    assert ("traits.schedule", {"day": "2026-01-06"}, "traits.schedule:2026-01-06", evening + timedelta(days=1),
            JobStatus.queued) in jobs
    # when the same day's scheduler runs again (a retry after a crash)
    with database.session() as session:
        result = run_schedule(JobContext(session, clock, 0, None, 1, "w"), day="2026-01-05")
    # then nothing more is enqueued
    assert result == {"enqueued": 0}
    with database.session() as session:
        assert len(_jobs(session)) == len(jobs)
    # and ensuring the schedule after today's run is a no-op too
    with database.session() as session:
        assert ensure_schedule(session, clock) is None


def test_the_refresh_job_scores_the_corp(database, clock):
    # given a corp with two buyers and traits computed, and its refresh job
    load_handler_modules()
    with database.session() as session:
        corp = make_trait_corp(session)
        small, big = add_customer(session, corp.corp_id), add_customer(session, corp.corp_id)
        add_order(session, corp.corp_id, small, clock.now() - timedelta(days=100), "10.00")
        for _ in range(3):
            add_order(session, corp.corp_id, big, clock.now() - timedelta(days=1), "50.00")
        recompute_corp(session, corp.corp_id)
        enqueue(session, "traits.refresh_scores", {"corp_id": corp.corp_id}, clock=clock)
    # when the worker runs it
    Worker(database, clock=clock, worker_id="w", lease_seconds=30).run_once()
    # then
    with database.session() as session:
        rows = {t.customer_id: (t.recency_score, t.frequency_score, t.monetary_score, t.rfm_class, t.lifecycle_stage)
                for t in session.scalars(select(CustomerTrait))}
        assert session.get(CorpTraitSettings, corp.corp_id).rfm_thresholds["frequency"] == [1, 1, 3, 3]
    # (two buyers: the cut points are the values at rows 1, 1, 2, 2)
    assert rows == {small: (3, 1, 1, "general_retain", "dormant"), big: (5, 3, 3, "important_value", "new")}


def _simulated_corp(session, clock, rng: np.random.Generator, buyers: int) -> int:
    corp = make_trait_corp(session, "value")
    for _ in range(buyers):
        customer = add_customer(session, corp.corp_id)
        moment = clock.now() - timedelta(days=float(rng.uniform(30, 300)))
        rate, drop = rng.gamma(1.0, 1 / 20), rng.beta(1.0, 4.0)
        count = 0
        while moment < clock.now():
            add_order(session, corp.corp_id, customer, moment, f"{rng.gamma(4.0, 20.0) + 1:.2f}")
            count += 1
            if count > 1 and rng.random() < drop:
                break
            moment += timedelta(days=float(rng.exponential(1 / rate)))
    recompute_corp(session, corp.corp_id)
    return corp.corp_id


def test_the_value_model_is_fitted_and_written_into_traits(database, clock):
    # given a corp of simulated buyers with repeat purchases, at noon Shanghai time
    clock.set(datetime(2026, 7, 1, 4, 0, tzinfo=UTC))
    with database.session() as session:
        corp_id = _simulated_corp(session, clock, np.random.default_rng(5), 120)
    # when the value model is refitted
    with database.session() as session:
        model = refit_value_model(session, corp_id, clock=clock)
    # then the parameters are those of the analytics forecast, and every buyer carries its predictions
    with database.session() as session:
        forecast = forecast_corp(session, Principal(user_id=0, corp_id=corp_id, role=Role.admin), clock)
        settings = session.get(CorpTraitSettings, corp_id)
        traits = {t.customer_id: t for t in session.scalars(select(CustomerTrait))}
    assert model["status"] == "fitted" and model["customers"] == 120
    assert model["bgnbd"] == asdict(forecast.purchase_model)
    assert model["gamma_gamma"] == asdict(forecast.spend_model)
    assert (model["as_of"], model["horizon_days"]) == ("2026-07-01", 90)
    assert settings.value_model == model and settings.value_model_fitted_at == clock.now()
    for customer in forecast.customers:
        trait = traits[customer.customer_id]
        assert trait.probability_alive == round(customer.probability_alive, 6)
        assert trait.expected_purchases_90d == round(customer.expected_purchases, 6)
        assert trait.expected_average_spend == Decimal(str(round(customer.expected_average_spend, 2)))
        assert trait.predicted_value_90d == Decimal(str(round(customer.expected_value, 2)))


def test_a_corp_without_repeat_buyers_records_why_and_keeps_no_predictions(database, clock):
    # given one-time buyers only, one of whom carries a stale prediction
    with database.session() as session:
        corp = make_trait_corp(session)
        ids = [add_customer(session, corp.corp_id) for _ in range(3)]
        for customer in ids:
            add_order(session, corp.corp_id, customer, clock.now() - timedelta(days=10), "20.00")
        recompute_corp(session, corp.corp_id)
        session.get(CustomerTrait, ids[0]).probability_alive = 0.5
    # when
    with database.session() as session:
        model = refit_value_model(session, corp.corp_id, clock=clock)
    # then
    assert model == {"status": "not_fitted", "reason": "clv_insufficient_history",
                     "message_key": "error.clv_no_repeat_purchases", "params": {"customers": 3}}
    with database.session() as session:
        assert [t.probability_alive for t in session.scalars(select(CustomerTrait))] == [None, None, None]
        assert session.get(CorpTraitSettings, corp.corp_id).value_model == model
