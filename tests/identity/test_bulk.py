"""Resolution's bulk paths: profile gaps filled without writing customers that lack nothing, and the
statements of a resolution planned for their actual parameters on PostgreSQL (custom plans)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update

from siyu.identity.repository import custom_plans
from siyu.models import Customer
from tests.identity.helpers import claim, make_customer, resolve

PHONE = "13800138000"
OTHER_PHONE = "13900139000"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def corp(brand):
    return brand[0].corp_id


def _stamp(database, *customer_ids: int) -> None:
    with database.session() as session:
        session.execute(update(Customer).where(Customer.id.in_(customer_ids)).values(updated_at=LONG_AGO))


def test_a_known_buyer_lacking_nothing_is_not_written_and_a_gap_is_filled(database, clock, corp):
    # given a customer with a name and a phone, and one known only by phone
    complete = make_customer(database, corp, ("phone", PHONE), name="王先生")
    with database.session() as session:
        session.get(Customer, complete).phone = PHONE
    gap = make_customer(database, corp, ("phone", OTHER_PHONE))
    _stamp(database, complete, gap)

    # when orders of both arrive with the buyer's name and phone
    outcome = resolve(database, corp, clock, claim(("phone", PHONE), name="王二", phone=PHONE),
                      claim(("phone", OTHER_PHONE), name="李女士", phone=OTHER_PHONE))

    # then both resolve to their customers; the complete one is untouched, the other gets name and phone
    assert outcome.customer_ids == [complete, gap] and outcome.created_ids == []
    with database.session() as session:
        first, second = session.get(Customer, complete), session.get(Customer, gap)
        assert (first.name, first.phone, first.updated_at) == ("王先生", PHONE, LONG_AGO)
        assert (second.name, second.phone) == ("李女士", OTHER_PHONE)
        assert second.updated_at > LONG_AGO


def _plan_cache_mode(session) -> str:
    return session.execute(text("SHOW plan_cache_mode")).scalar_one()


def test_resolution_plans_for_its_parameters_and_restores_the_setting(database, clock, corp):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    with database.session() as session:
        before = _plan_cache_mode(session)
        # when a block runs inside custom_plans, nested or not
        with custom_plans(session):
            inside = _plan_cache_mode(session)
            with custom_plans(session):
                nested = _plan_cache_mode(session)
            after_nested = _plan_cache_mode(session)
        after = _plan_cache_mode(session)

    # then every statement inside is planned for its parameters, and the session's setting comes back
    assert (before, inside, nested, after_nested, after) == (
        "auto", "force_custom_plan", "force_custom_plan", "force_custom_plan", "auto")


def test_a_failed_block_leaves_no_custom_plans_behind(database, clock, corp):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    # given a block inside custom_plans that fails, rolled back as the edge does
    with database.session() as session:
        with pytest.raises(ZeroDivisionError), custom_plans(session):
            1 / 0
        session.rollback()
        # then the next transaction plans as usual, and custom_plans works again in it
        assert _plan_cache_mode(session) == "auto"
        with custom_plans(session):
            assert _plan_cache_mode(session) == "force_custom_plan"
