"""Resolving claims to customers: creation, attachment within the caps, deterministic merges with
history, chains, anonymous visitors, and that a batch resolves exactly like the same claims one by
one."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from siyu.identity import manual
from siyu.identity.repository import system_principal
from siyu.identity.service import ResolvedSkip, resolve_customer, resolve_customers, survivor_of
from siyu.kit.errors import NotFound
from siyu.models import Customer, Event
from tests.identity.helpers import claim, holders, live_customers, make_customer, merges, resolve

PHONE = "13800138000"


@pytest.fixture
def corp(brand):
    return brand[0].corp_id


def _count(database, model, corp_id) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.corp_id == corp_id))


def test_a_new_person_becomes_one_customer_holding_every_identity(database, clock, corp):
    # when a claim with a formatted phone, an openid and a unionid arrives
    outcome = resolve(database, corp, clock, claim(("phone", "+86 138-0013-8000"), ("openid", "o1"),
                                                   ("unionid", "u1"), name="王小明", city="上海"))

    # then one customer holds all three, in canonical form, with the profile and first-seen time
    [customer_id] = outcome.customer_ids
    assert outcome.created_ids == [customer_id] and outcome.skips == [] and outcome.merge_ids == []
    assert {pair: holder for pair, holder in holders(database, corp).items() if holder == customer_id} == {
        ("phone", PHONE): customer_id, ("openid", "o1"): customer_id, ("unionid", "u1"): customer_id}
    with database.session() as session:
        customer = session.get(Customer, customer_id)
        assert (customer.name, customer.city, customer.first_seen_at) == ("王小明", "上海", clock.now())


def test_known_identities_resolve_to_their_customer_and_new_ones_attach(database, clock, corp):
    # given a customer known by phone
    first = resolve(database, corp, clock, claim(("phone", PHONE))).customer_ids[0]

    # when a claim with the same phone and a new openid arrives
    second = resolve(database, corp, clock, claim(("phone", "0086 13800138000"), ("openid", "o2")))

    # then it is the same customer, now holding the openid too; nobody new was created
    assert second.customer_ids == [first] and second.created_ids == []
    assert holders(database, corp)[("openid", "o2")] == first


def test_a_claim_without_a_usable_identity_resolves_to_none_and_creates_nothing(database, clock, corp):
    customers_before = _count(database, Customer, corp)

    outcome = resolve(database, corp, clock, claim(("phone", "unknown"), ("openid", ""), ("email", "a@b.c")),
                      claim())

    assert outcome.customer_ids == [None, None]
    assert _count(database, Customer, corp) == customers_before


def test_claims_of_one_batch_that_share_a_new_identity_make_one_customer(database, clock, corp):
    outcome = resolve(database, corp, clock,
                      claim(("phone", PHONE), ("openid", "o1")),
                      claim(("phone", PHONE), ("openid", "o2")),
                      claim(("openid", "o2"), ("member_no", "M1")),
                      claim(("openid", "o3")))

    one, other = outcome.customer_ids[0], outcome.customer_ids[3]
    assert outcome.customer_ids == [one, one, one, other] and one != other
    assert len(outcome.created_ids) == 2 and merges(database, corp) == []


def test_an_identity_beyond_the_cap_is_not_attached_and_the_skip_is_reported(database, clock, corp):
    # given a customer with two phones (the default cap)
    customer = make_customer(database, corp, ("unionid", "u1"), ("phone", "13900000001"), ("phone", "13900000002"))

    # when a claim brings a third phone with the unionid
    outcome = resolve(database, corp, clock, claim(("unionid", "u1"), ("phone", "13900000003")))

    # then it resolves to the customer, the third phone is skipped and stored nowhere
    assert outcome.customer_ids == [customer]
    assert outcome.skips == [ResolvedSkip(0, "phone", "13900000003", "cap_exceeded", customer)]
    assert ("phone", "13900000003") not in holders(database, corp)


def test_a_claim_linking_two_customers_merges_them_into_the_holder_of_the_strongest_identity(database, clock, corp):
    # given an older customer known by phone (with an event) and a newer one known by unionid
    older = make_customer(database, corp, ("phone", PHONE), name="老客户")
    newer = make_customer(database, corp, ("unionid", "u1"))
    with database.session() as session:
        event = Event(corp_id=corp, customer_id=older, message_id="m1", type="track", name="view",
                      timestamp=clock.now(), received_at=clock.now())
        session.add(event)
        session.flush()
        event_id = event.id

    # when an order names both
    outcome = resolve(database, corp, clock, claim(("unionid", "u1"), ("phone", PHONE)), reason="order")

    # then the unionid holder survives (priority 10 beats phone's 20, age notwithstanding)
    assert outcome.customer_ids == [newer] and outcome.redirects == {older: newer}
    assert merges(database, corp) == [(newer, older, "order", "phone", PHONE)]
    assert live_customers(database, corp).count(older) == 0
    with database.session() as session:
        assert session.get(Customer, older).merged_into_id == newer
        assert session.get(Customer, newer).name == "老客户"  # the survivor lacked a name
        assert session.get(Event, event_id).customer_id == newer
    assert holders(database, corp)[("phone", PHONE)] == newer


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_between_equal_identities_the_oldest_customer_survives(database, clock, corp, order):
    # given two customers known by one phone each
    phones = ["13900000001", "13900000002"]
    first = make_customer(database, corp, ("phone", phones[0]))
    second = make_customer(database, corp, ("phone", phones[1]))

    # when a claim names both phones (in either order)
    outcome = resolve(database, corp, clock, claim(*[("phone", phones[i]) for i in order]))

    # then the older customer survives
    assert outcome.customer_ids == [first]
    assert [m[:2] for m in merges(database, corp)] == [(first, second)]


def test_a_merge_that_would_give_one_customer_two_unionids_is_not_made(database, clock, corp):
    # given two WeChat people who share a phone (a couple)
    wife = make_customer(database, corp, ("unionid", "u-wife"), ("phone", PHONE))
    husband = make_customer(database, corp, ("unionid", "u-husband"))

    # when the husband's order names the shared phone
    outcome = resolve(database, corp, clock, claim(("unionid", "u-husband"), ("phone", PHONE)))

    # then nothing is merged: the order is the husband's, the phone stays the wife's
    assert outcome.customer_ids == [husband]
    assert outcome.skips == [ResolvedSkip(0, "phone", PHONE, "merge_blocked", wife, "unionid")]
    assert merges(database, corp) == [] and holders(database, corp)[("phone", PHONE)] == wife


def test_an_anonymous_id_never_merges_two_known_customers(database, clock, corp):
    # given a family tablet: mum logged in on it, dad has his own account
    mum = make_customer(database, corp, ("user_id", "mum"), ("anonymous_id", "tablet"))
    dad = make_customer(database, corp, ("user_id", "dad"))

    # when dad logs in on the tablet
    outcome = resolve(database, corp, clock, claim(("user_id", "dad"), ("anonymous_id", "tablet")))

    # then dad is dad, the tablet stays with mum and nobody is merged
    assert outcome.customer_ids == [dad]
    assert outcome.skips == [ResolvedSkip(0, "anonymous_id", "tablet", "not_a_merge_key", mum)]
    assert merges(database, corp) == []


def test_an_anonymous_visitor_joins_the_person_who_logs_in(database, clock, corp):
    # given a visitor known only by a browser id, and a member known by their user id
    visitor = make_customer(database, corp, ("anonymous_id", "browser-1"))
    member = make_customer(database, corp, ("user_id", "U1"))

    # when the member logs in on that browser
    outcome = resolve(database, corp, clock, claim(("user_id", "U1"), ("anonymous_id", "browser-1")),
                      reason="event:identify")

    # then the visitor is merged into the member
    assert outcome.customer_ids == [member]
    assert merges(database, corp) == [(member, visitor, "event:identify", "anonymous_id", "browser-1")]


def test_an_anonymous_only_claim_resolves_to_the_holder_and_attaches_what_is_new(database, clock, corp):
    visitor = make_customer(database, corp, ("anonymous_id", "browser-1"))

    outcome = resolve(database, corp, clock, claim(("anonymous_id", "browser-1"), ("user_id", "U9")))

    assert outcome.customer_ids == [visitor] and holders(database, corp)[("user_id", "U9")] == visitor


def test_merges_chain_and_merged_ids_resolve_to_the_final_survivor(database, clock, corp):
    # given three customers, linked in two steps
    a = make_customer(database, corp, ("phone", "13900000001"))
    b = make_customer(database, corp, ("member_no", "M1"))
    c = make_customer(database, corp, ("unionid", "u1"))
    assert resolve(database, corp, clock, claim(("member_no", "M1"), ("phone", "13900000001"))).customer_ids == [a]
    assert resolve(database, corp, clock, claim(("unionid", "u1"), ("member_no", "M1"))).customer_ids == [c]

    # then b went into a, then a into c; every id ends at c and every identity is c's
    assert [m[:2] for m in merges(database, corp)] == [(a, b), (c, a)]
    with database.session() as session:
        assert [survivor_of(session, corp, x) for x in (a, b, c)] == [c, c, c]
        with pytest.raises(NotFound):
            survivor_of(session, corp, 10**9)
    assert set(holders(database, corp).values()) >= {c}
    assert {holders(database, corp)[p] for p in [("phone", "13900000001"), ("member_no", "M1"),
                                                 ("unionid", "u1")]} == {c}


def test_profile_fields_fill_gaps_and_never_overwrite(database, clock, corp):
    customer = make_customer(database, corp, ("phone", PHONE), name="原名")

    resolve(database, corp, clock, claim(("phone", PHONE), name="新名", city="杭州", gender="f",
                                         birthday="1990-05-01", phone="+86 138 0013 8000"))

    with database.session() as session:
        row = session.get(Customer, customer)
        assert (row.name, row.city, row.gender, row.phone, row.birthday.date().isoformat()) == (
            "原名", "杭州", "f", PHONE, "1990-05-01")


def test_rules_edited_for_the_corp_take_effect_on_the_next_resolution(database, clock, corp):
    # given a customer with one phone
    customer = make_customer(database, corp, ("unionid", "u1"), ("phone", "13900000001"))
    principal = system_principal(corp)

    # when the corp allows one phone per customer, blocks its hotline and stops merging on member numbers
    with database.session() as session:
        manual.update_rules(session, principal, [
            manual.RuleChange("phone", 1, 20, True, ["400-820-8820", "13911112222"]),
            manual.RuleChange("member_no", 1, 25, False, []),
        ], clock=clock)
    other = make_customer(database, corp, ("member_no", "M1"), ("openid", "o-other"))
    outcome = resolve(database, corp, clock,
                      claim(("unionid", "u1"), ("phone", "13900000002")),
                      claim(("phone", "139-1111-2222")),
                      claim(("unionid", "u1"), ("member_no", "M1")))

    # then the second phone is refused, the hotline is junk and the shared member number merges nothing
    assert outcome.customer_ids == [customer, None, customer]
    assert [(s.kind, s.reason) for s in outcome.skips] == [("phone", "cap_exceeded"),
                                                           ("member_no", "not_a_merge_key")]
    assert merges(database, corp) == [] and live_customers(database, corp).count(other) == 1


def test_a_claim_in_one_corp_never_touches_another_corps_customers(database, clock, brand):
    corp_a, corp_b = brand
    a_customer = make_customer(database, corp_a.corp_id, ("phone", PHONE))
    before = holders(database, corp_a.corp_id)

    outcome = resolve(database, corp_b.corp_id, clock, claim(("phone", PHONE)))

    assert outcome.customer_ids[0] != a_customer and outcome.created_ids == outcome.customer_ids
    assert holders(database, corp_a.corp_id) == before
    assert holders(database, corp_b.corp_id)[("phone", PHONE)] == outcome.customer_ids[0]


def test_the_shared_interface_resolves_lists_and_single_claims(database, clock, corp):
    with database.session(immediate=True) as session:
        ids = resolve_customers(session, corp, [claim(("openid", "o1")), claim()], reason="test", clock=clock)
        single = resolve_customer(session, corp, [("openid", "o1"), ("jd_pin", "jd1")], reason="test", clock=clock)
    assert ids[1] is None and single == ids[0]


def _random_claims(seed: int, count: int) -> list:
    generator = random.Random(seed)
    pool = {"phone": [f"1390000{n:04d}" for n in range(12)], "unionid": [f"u{n}" for n in range(8)],
            "openid": [f"o{n}" for n in range(15)], "member_no": [f"M{n}" for n in range(6)],
            "anonymous_id": [f"a{n}" for n in range(10)], "user_id": [f"U{n}" for n in range(6)]}
    claims = []
    for _ in range(count):
        kinds = generator.sample(sorted(pool), generator.randint(1, 3))
        claims.append(claim(*[(kind, generator.choice(pool[kind])) for kind in kinds]))
    return claims


def _shape(database, corp_id, ids: list[int | None]) -> tuple:
    """The outcome with customer ids replaced by the index of the first claim that got them."""
    first: dict[int, int] = {}
    for index, customer_id in enumerate(ids):
        first.setdefault(customer_id, index)
    owned = holders(database, corp_id)
    with database.session() as session:
        final = {cid: survivor_of(session, corp_id, cid) for cid in set(owned.values())}
    # (the brand's own customers, which no claim names, differ between the corps and are left out)
    return ([first[c] for c in ids],
            sorted((pair, first[final[c]]) for pair, c in owned.items() if final[c] in first),
            len(live_customers(database, corp_id)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_resolves_exactly_like_the_same_claims_one_by_one(database, clock, brand, seed):
    corp_a, corp_b = brand
    claims = _random_claims(seed, 60)

    batch = resolve(database, corp_a.corp_id, clock, *claims)
    one_by_one = [resolve(database, corp_b.corp_id, clock, c) for c in claims]

    single_ids = [outcome.customer_ids[0] for outcome in one_by_one]
    with database.session() as session:
        single_ids = [survivor_of(session, corp_b.corp_id, c) if c else c for c in single_ids]
        batch_ids = [survivor_of(session, corp_a.corp_id, c) if c else c for c in batch.customer_ids]
    # (the claims are tangled enough to merge and to hit caps: the comparison is not vacuous)
    assert sum(len(outcome.merge_ids) for outcome in one_by_one) >= 3 and len(batch.skips) >= 3
    assert _shape(database, corp_a.corp_id, batch_ids) == _shape(database, corp_b.corp_id, single_ids)
    assert [(s.claim, s.kind, s.value, s.reason) for s in batch.skips] == [
        (index, s.kind, s.value, s.reason) for index, outcome in enumerate(one_by_one) for s in outcome.skips]
