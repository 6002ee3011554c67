"""The traits API: a customer's traits with labels, and the corp's trait settings."""

from __future__ import annotations

from sqlalchemy import select

from siyu.customer.traits import mark_customers_changed, refresh_scores
from siyu.models import Job
from siyu.models.trait import CorpTraitSettings
from tests.auth.bearer import bearer

API = "/api/v1"


def test_a_customers_traits_speak_the_callers_language(client, database, clock, brand):
    # given the brand's customers (one order each on 1 January) with refreshed traits
    corp, other = brand
    with database.session() as session:
        mark_customers_changed(session, corp.corp_id, corp.customer_ids)
        refresh_scores(session, corp.corp_id)
    headers = bearer(database, corp.users["admin"])
    customer = corp.customer_ids[0]
    # when
    zh = client.get(f"{API}/customers/{customer}/traits", headers=headers)
    en = client.get(f"{API}/customers/{customer}/traits", headers={**headers, "Accept-Language": "en"})
    # then
    assert zh.status_code == 200, zh.text
    body = zh.json()
    assert {key: body[key] for key in ("customer_id", "order_count", "total_spend", "average_spend", "channels",
                                       "favourite_category", "favourite_store_id", "lifecycle_stage",
                                       "lifecycle_stage_label", "rfm_class", "rfm_class_label")} == {
        "customer_id": customer, "order_count": 1, "total_spend": "88.50", "average_spend": "88.50",
        "channels": ["pos"], "favourite_category": "水果", "favourite_store_id": corp.store_ids[0],
        "lifecycle_stage": "new", "lifecycle_stage_label": "新客户",
        "rfm_class": "general_retain", "rfm_class_label": "一般挽留客户"}
    # (six buyers of one 88.50 order; this one bought on the older of the two days: R 3 of a mean 4)
    assert (body["recency_score"], body["frequency_score"], body["monetary_score"]) == (3, 1, 1)
    assert en.json()["rfm_class_label"] == "General to win back"
    assert en.json()["lifecycle_stage_label"] == "New"
    # and another corp's customer, or one outside a staff user's scope, is not found
    assert client.get(f"{API}/customers/{other.customer_ids[0]}/traits", headers=headers).status_code == 404
    staff = bearer(database, corp.users["staff"])
    outsider = corp.served[corp.staff_ids[0]][0]
    assert client.get(f"{API}/customers/{outsider}/traits", headers=staff).status_code == 404
    mine = corp.served[corp.staff_ids[2]][0]
    assert client.get(f"{API}/customers/{mine}/traits", headers=staff).status_code == 200


def test_trait_settings_read_change_and_refresh(client, database, clock, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["admin"])
    # given no settings yet: the defaults are shown and nothing is written
    assert client.get(f"{API}/trait-settings", headers=headers).json() == {
        "new_days": 30, "active_days": 90, "lost_days": 365, "rfm_thresholds": {}, "rfm_refreshed_at": None,
        "value_model": {}, "value_model_fitted_at": None}
    with database.session() as session:
        assert session.get(CorpTraitSettings, corp.corp_id) is None
    # when an admin shortens the thresholds
    changed = client.put(f"{API}/trait-settings", headers=headers,
                         json={"new_days": 7, "active_days": 30, "lost_days": 180})
    # then they are stored and a refresh of the stages is queued
    assert changed.status_code == 200, changed.text
    assert (changed.json()["new_days"], changed.json()["active_days"], changed.json()["lost_days"]) == (7, 30, 180)
    with database.session() as session:
        queued = [(j.name, j.args) for j in session.scalars(select(Job).order_by(Job.id))]
    assert queued == [("traits.refresh_scores", {"corp_id": corp.corp_id}),
                      ("traits.schedule", {"day": "2026-01-05"})]
    # when a manual refresh is asked for
    refresh = client.post(f"{API}/trait-settings/refresh", headers=headers)
    assert refresh.status_code == 202
    with database.session() as session:
        jobs = {j.id: j.name for j in session.scalars(select(Job))}
    assert [jobs[i] for i in refresh.json()["job_ids"]] == ["traits.refresh_scores", "traits.refit_value_model"]


def test_refused_settings_changes_leave_everything_as_it_was(client, database, clock, brand):
    corp, _ = brand
    admin = bearer(database, corp.users["admin"])
    operator = bearer(database, corp.users["hq_operator"])
    client.put(f"{API}/trait-settings", headers=admin, json={"new_days": 30, "active_days": 90, "lost_days": 365})
    with database.session() as session:
        jobs_before = session.scalars(select(Job.id)).all()
    # when the thresholds do not grow, or a non-admin changes them or asks for a refresh
    shrinking = client.put(f"{API}/trait-settings", headers={**admin, "Accept-Language": "en"},
                           json={"new_days": 30, "active_days": 90, "lost_days": 90})
    forbidden = client.put(f"{API}/trait-settings", headers=operator,
                           json={"new_days": 7, "active_days": 30, "lost_days": 180})
    refresh = client.post(f"{API}/trait-settings/refresh", headers=operator)
    # then
    assert (shrinking.status_code, forbidden.status_code, refresh.status_code) == (422, 403, 403)
    assert shrinking.json()["error"]["message"] == (
        "Thresholds must grow: 1 ≤ new days ≤ active days < lost days (field lost_days)")
    with database.session() as session:
        settings = session.get(CorpTraitSettings, corp.corp_id)
        assert (settings.new_days, settings.active_days, settings.lost_days) == (30, 90, 365)
        assert session.scalars(select(Job.id)).all() == jobs_before
