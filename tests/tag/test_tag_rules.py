"""Rule tags follow their condition as customers' traits change."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from siyu.customer.traits import mark_customers_changed
from siyu.kit.errors import InvalidInput
from siyu.kit.jobs import enqueue
from siyu.models import Customer, CustomerTag, Order, Tag, TagGroup, TagHistory, TagRule
from siyu.models.job import Job
from siyu.tag.manage import TagDraft, create_group
from siyu.tag.rules import register_rule_evaluator, trait_rule_evaluator, validate_rule
from tests.tag.conftest import principal

API = "/api/v1"
REGULARS = {"all": [{"trait": "order_count", "op": ">=", "value": 2},
                    {"trait": "lifecycle_stage", "op": "in", "value": ["new", "active"]}]}


def test_rules_are_validated_and_normalised():
    assert validate_rule({"any": [{"trait": "total_spend", "op": ">", "value": 99.5},
                                  {"trait": "rfm_class", "op": "not_in", "value": ["general_retain"]}]}) == {
        "any": [{"trait": "total_spend", "op": ">", "value": "99.5"},
                {"trait": "rfm_class", "op": "not_in", "value": ["general_retain"]}]}
    bad = [
        {"trait": "shoe_size", "op": "=", "value": 42},
        {"trait": "order_count", "op": "~", "value": 1},
        {"trait": "order_count", "op": ">", "value": "many"},
        {"trait": "lifecycle_stage", "op": ">", "value": "new"},
        {"trait": "lifecycle_stage", "op": "=", "value": "sleepy"},
        {"trait": "order_count", "op": "in", "value": []},
        {"all": []},
        {"all": [{"trait": "order_count", "op": ">", "value": 1}], "any": []},
        {"trait": "order_count", "op": ">", "value": True},
        ["order_count"],
    ]
    for rule in bad:
        with pytest.raises(InvalidInput):
            validate_rule(rule)


def _buyer(session, corp_id, customer_id, paid_at, *amounts):
    orders = []
    for index, amount in enumerate(amounts):
        order = Order(corp_id=corp_id, customer_id=customer_id, platform="pos", shop="rule",
                      order_no=f"r{customer_id}-{paid_at.timestamp()}-{index}", amount=Decimal(amount), paid_at=paid_at)
        session.add(order)
        orders.append(order)
    session.flush()
    return orders


def test_customers_enter_and_leave_a_rule_tag_as_their_traits_change(client, database, clock, brand, admin_headers,
                                                                      run_jobs):
    # given customers with traits: one regular (two orders this week), one single buyer
    corp, _ = brand
    regular, single, later = corp.customer_ids[6], corp.customer_ids[7], corp.customer_ids[1]
    with database.session() as session:
        orders = _buyer(session, corp.corp_id, regular, clock.now() - timedelta(days=2), "10.00", "20.00")
        _buyer(session, corp.corp_id, single, clock.now() - timedelta(days=2), "10.00")
        mark_customers_changed(session, corp.corp_id, [regular, single, later])
    run_jobs()
    # when an operator creates the rule tag "常客"
    created = client.post(f"{API}/tag-groups", headers=admin_headers, json={
        "name": "自动", "tags": [{"name": "常客", "kind": "rule", "rule": REGULARS}]})
    assert created.status_code == 201, created.text
    tag = created.json()["tags"][0]
    assert tag["rule"] == {"all": [{"trait": "order_count", "op": ">=", "value": "2"},
                                   {"trait": "lifecycle_stage", "op": "in", "value": ["new", "active"]}]}
    assert run_jobs() == ["tags.evaluate_rules"]
    # then only the regular carries it
    with database.session() as session:
        assert session.execute(select(CustomerTag.customer_id, CustomerTag.source)
                               .where(CustomerTag.tag_id == tag["id"])).all() == [(regular, "rule")]
        assert session.get(TagRule, tag["id"]).evaluated_at == clock.now()
    # when another customer's second order arrives and the regular's orders are refunded
    clock.advance(timedelta(hours=1))
    with database.session() as session:
        _buyer(session, corp.corp_id, later, clock.now(), "30.00")
        for order in orders:
            refunded = session.get(Order, order.id)
            refunded.status, refunded.refund_amount = "refunded", refunded.amount
        mark_customers_changed(session, corp.corp_id, [later, regular])
    # then a rule job for exactly those customers runs, and the tag follows
    with database.session() as session:
        queued = session.scalars(select(Job.args).where(Job.name == "tags.evaluate_rules", Job.status == "queued")).all()
    assert queued == [{"corp_id": corp.corp_id, "customer_ids": sorted([later, regular])}]
    assert run_jobs() == ["tags.evaluate_rules"]
    with database.session() as session:
        assert session.execute(select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag["id"])).all() == [
            (later,)]
        history = session.execute(select(TagHistory.customer_id, TagHistory.action, TagHistory.source, TagHistory.at)
                                  .order_by(TagHistory.id)).all()
    assert history == [(regular, "add", "rule", clock.now() - timedelta(hours=1)),
                       (later, "add", "rule", clock.now()), (regular, "remove", "rule", clock.now())]


def test_a_manual_copy_of_a_rule_tag_survives_the_rule(database, clock, brand, run_jobs):
    # given a rule tag that a customer also carries manually, and a rule nobody meets
    corp, _ = brand
    customer = corp.customer_ids[0]
    with database.session() as session:
        group = create_group(session, principal(corp), clock, name="自动", tags=[
            TagDraft("大客户", kind="rule", rule={"trait": "total_spend", "op": ">", "value": "100000"})])
        tag_id = session.scalar(select(Tag.id).where(Tag.group_id == group.id))
        session.add(CustomerTag(corp_id=corp.corp_id, customer_id=customer, tag_id=tag_id, source="manual",
                                tagged_at=clock.now()))
        mark_customers_changed(session, corp.corp_id, [customer])
    # when the rule is evaluated
    run_jobs()
    # then the manual row stays and no history was written
    with database.session() as session:
        assert session.execute(select(CustomerTag.customer_id, CustomerTag.source)).all() == [(customer, "manual")]
        assert session.scalar(select(func.count()).select_from(TagHistory)) == 0


def test_the_segment_engine_can_replace_the_evaluator(database, clock, brand, run_jobs):
    # given an evaluator that matches customers by name instead of traits
    corp, _ = brand
    target = corp.customer_ids[3]

    def by_name(session, corp_id, rule):
        return select(Customer.id).where(Customer.corp_id == corp_id, Customer.name == rule["name"])

    register_rule_evaluator(by_name)
    try:
        with database.session() as session:
            group = TagGroup(corp_id=corp.corp_id, name="分群", created_at=clock.now(), updated_at=clock.now())
            session.add(group)
            session.flush()
            tag = Tag(corp_id=corp.corp_id, group_id=group.id, name="按名", kind="rule", created_at=clock.now(),
                      updated_at=clock.now())
            session.add(tag)
            session.flush()
            name = session.get(Customer, target).name
            session.add(TagRule(tag_id=tag.id, corp_id=corp.corp_id, condition={"name": name},
                                created_at=clock.now(), updated_at=clock.now()))
            enqueue(session, "tags.evaluate_rules", {"corp_id": corp.corp_id, "customer_ids": None}, clock=clock)
        run_jobs()
    finally:
        register_rule_evaluator(None)
    # then the replacement decided
    with database.session() as session:
        assert session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id)).all() == [(target, tag.id)]
    # and None restores the built-in evaluator
    from siyu.tag import rules

    assert rules._evaluator is trait_rule_evaluator


def test_an_invalid_rule_is_refused_and_creates_nothing(client, database, brand, admin_headers):
    group = client.post(f"{API}/tag-groups", headers=admin_headers, json={"name": "自动"}).json()
    response = client.post(f"{API}/tags", headers={**admin_headers, "Accept-Language": "en"}, json={
        "group_id": group["id"], "name": "坏规则", "kind": "rule",
        "rule": {"trait": "lifecycle_stage", "op": "=", "value": "sleepy"}})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "Invalid rule: lifecycle_stage is one of prospect, new, active, dormant, lost (field rule)")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Tag)) == 0
        assert session.scalar(select(func.count()).select_from(TagRule)) == 0
        assert session.scalar(select(func.count()).select_from(Job).where(Job.name == "tags.evaluate_rules")) == 0
