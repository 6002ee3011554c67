"""Console pages of issue 6 over real HTTP: the policy settings and the broadcast wizard."""

from __future__ import annotations

import re

from sqlalchemy import select

from siyu.models.broadcast import Broadcast, BroadcastStatus
from siyu.models.policy import ContactPolicy
from tests.console.conftest import console, csrf_of, field_error, kpis, rows, seeded  # noqa: F401


def _policy_form(**changes) -> dict[str, str]:
    form = {"wecom_quota_rule": "daily", "marketing_cap": "2", "marketing_period": "week", "moments_per_day": "3",
            "quiet_start": "22:00", "quiet_end": "08:00", "opt_out_keywords": "退订，TD", "blacklist_tag_id": "",
            "deferral_days": "7"}
    form.update(changes)
    return form


def test_policy_settings_refuse_a_bad_time_next_to_its_field_and_save_nothing(console, database):
    admin = console("admin")
    page = admin.get("/settings/policy")
    assert page.status_code == 200
    assert "联系策略（不打扰）" in page.text
    refused = admin.post("/settings/policy", data={"csrf_token": csrf_of(page.text), **_policy_form(quiet_start="25:00")})
    assert refused.status_code == 422
    assert field_error(refused.text, "policy.quiet_start") == "时间格式须为 HH:MM，例如 22:00（字段 quiet_start）"
    with database.session() as session:
        assert session.scalars(select(ContactPolicy)).all() == []
    saved = admin.post("/settings/policy", data={"csrf_token": csrf_of(page.text), **_policy_form()},
                       follow_redirects=False)
    assert (saved.status_code, saved.headers["location"]) == (303, "/settings/policy?saved=1")
    with database.session() as session:
        row = session.scalars(select(ContactPolicy)).one()
    assert (row.wecom_quota_rule, row.opt_out_keywords, row.quiet_start_minute) == ("daily", ["退订", "TD"], 1320)


def test_the_policy_page_is_for_admins_only(console):
    assert console("hq_operator").get("/settings/policy").status_code == 403


def test_the_wizard_previews_a_draft_and_sends_it(console, database, seeded):
    operator = console("hq_operator")
    new = operator.get("/broadcasts/new")
    assert new.status_code == 200
    refused = operator.post("/broadcasts", data={"csrf_token": csrf_of(new.text), "name": "春节",
                                                 "text_a": "{customer_name} 新年好", "priority": "marketing",
                                                 "holdout_percent": "0", "tag_match": "any"})
    assert refused.status_code == 422
    assert "不能使用客户个性化占位符 {customer_name}" in field_error(refused.text, "broadcast.text_a")
    with database.session() as session:
        assert session.scalars(select(Broadcast)).all() == []
    created = operator.post("/broadcasts", data={"csrf_token": csrf_of(new.text), "name": "春节",
                                                 "text_a": "{staff_name} 祝您新年好", "priority": "marketing",
                                                 "holdout_percent": "0", "tag_match": "any",
                                                 "store_ids": str(seeded[0].store_ids[0])}, follow_redirects=False)
    assert created.status_code == 303
    detail = operator.get(created.headers["location"])
    # store 1: four served customers, one walk-in who nobody serves
    assert {k: kpis(detail.text)[k] for k in ("audience", "eligible", "blocked")} == {
        "audience": "5", "eligible": "4", "blocked": "1"}
    assert rows(detail.text, "rule") == ["no_relation"]
    sent = operator.post(created.headers["location"] + "/send", data={"csrf_token": csrf_of(detail.text)},
                         follow_redirects=False)
    assert sent.status_code == 303
    with database.session() as session:
        assert session.scalars(select(Broadcast.status)).one() == BroadcastStatus.scheduled
    assert re.search(r'data-status="scheduled"', operator.get(created.headers["location"]).text)


def test_broadcasts_of_another_corp_are_not_found(console, database, seeded, clock):
    from siyu.broadcast import service

    with database.session() as session:
        other = service.create_broadcast(session, seeded[1].corp_id, name="乙", audience={},
                                         variants=[service.VariantDraft("你好")], now=clock.now())
    assert console("admin").get(f"/broadcasts/{other.id}").status_code == 404
