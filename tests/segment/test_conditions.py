"""Every condition type against the hand-made population (tests/segment/conftest.py): exact members."""

from __future__ import annotations

import pytest

from siyu.segment import compile_condition
from siyu.segment.compiler import bucket_of
from tests.conftest import _empty_tables
from tests.factories import make_brand
from tests.segment.conftest import NOW, build_population

EVERYONE = {"c0", "c1", "c2", "c3", "c4", "c5", "w1", "w2"}

# (condition with placeholders resolved by _resolve, expected members)
CASES = [
    ({"trait": {"name": "order_count", "op": ">=", "value": 2}}, {"c0"}),
    ({"trait": {"name": "total_spend", "op": "between", "value": [50, "100"]}}, {"c1"}),
    ({"trait": {"name": "rfm_class", "op": "!=", "value": "important_value"}}, EVERYONE - {"c0"}),
    ({"trait": {"name": "last_order_at", "op": "within", "value": "30d"}}, {"c0"}),
    ({"trait": {"name": "last_order_at", "op": "not_within", "value": "30d"}}, EVERYONE - {"c0"}),
    ({"trait": {"name": "last_order_at", "op": "before", "value": "2026-02-01"}}, {"c1"}),
    ({"trait": {"name": "last_order_at", "op": "between", "value": ["2026-02-20", "2026-02-24"]}}, {"c0"}),
    ({"trait": {"name": "last_order_at", "op": "is_not_set"}}, EVERYONE - {"c0", "c1"}),
    ({"trait": {"name": "channels", "op": "contains", "value": "taobao"}}, {"c0"}),
    ({"trait": {"name": "channels", "op": "is_set"}}, {"c0", "c1"}),
    ({"trait": {"name": "gender", "op": "=", "value": "female"}}, {"c2"}),
    ({"trait": {"name": "name", "op": "contains", "value": "-s3-"}}, {"c4", "c5"}),
    ({"trait": {"name": "lifecycle_stage", "op": "in", "value": ["active", "dormant"]}}, {"c0", "c1"}),
    ({"trait": {"name": "recency_score", "op": "<", "value": 3}}, {"c1"}),
    ({"tag": {"any": ["T1"]}}, {"c0", "c2"}),
    ({"tag": {"all": ["T1", "T2"]}}, {"c0"}),
    ({"tag": {"none": ["T1"]}}, EVERYONE - {"c0", "c2"}),
    ({"tag": {"any": ["T3"], "source": "relation"}}, {"c3"}),
    ({"event": {"name": "view_product"}}, {"c0", "c1"}),
    ({"event": {"name": "view_product", "within": "7d"}}, {"c0"}),
    ({"event": {"name": "view_product", "within": "5d", "count": {"op": ">=", "value": 2}}}, {"c0"}),
    ({"event": {"name": "view_product", "within": "5d", "count": {"op": ">=", "value": 3}}}, set()),
    ({"event": {"name": "view_product", "within": "7d", "performed": False}}, EVERYONE - {"c0"}),
    ({"event": {"name": "view_product", "count": {"op": "<", "value": 2}}}, EVERYONE - {"c0"}),
    ({"event": {"name": "view_product", "within": "1w",
                "where": [{"property": "category", "op": "=", "value": "水果"}]}}, {"c0"}),
    ({"event": {"name": "view_product", "where": [{"property": "category", "op": "=", "value": "蔬菜"}]}},
     {"c0", "c1"}),
    ({"event": {"name": "view_product", "where": [{"property": "price", "op": ">", "value": 40}]}}, {"c0"}),
    ({"event": {"name": "view_product", "performed": False,
                "where": [{"property": "category", "op": "in", "value": ["蔬菜"]}]}}, EVERYONE - {"c0", "c1"}),
    ({"event": {"name": "add_to_cart", "within": "1d"}}, {"c2"}),
    ({"event": {"name": "view_product", "between": ["2026-01-15", "2026-01-25"]}}, {"c1"}),
    ({"event": {"name": "view_product", "between": ["2026-03-02", "2026-03-09"]}}, set()),
    ({"order": {"metric": "count", "op": ">=", "value": 2, "category": "水果", "within": "90d"}}, {"c0"}),
    ({"order": {"metric": "sum", "op": ">=", "value": 300, "within": "30d"}}, {"c3"}),
    ({"order": {"platform": ["taobao"]}}, {"c3"}),
    ({"order": {"op": "=", "value": 0, "within": "30d"}}, EVERYONE - {"c0", "c3"}),
    ({"order": {"store": ["store2"]}}, {"c4", "c5"}),
    ({"order": {"store": ["branch"]}}, EVERYONE - {"w1", "w2"}),
    ({"order": {"between": ["2026-03-05", "2026-03-06"]}}, set()),
    ({"rfm": {"classes": ["important_value"]}}, {"c0"}),
    ({"lifecycle": {"stages": ["prospect"]}}, {"c2"}),
    ({"city": {"in": ["上海"]}}, {"c0", "c2"}),
    ({"city": {"in": ["上海"], "negate": True}}, EVERYONE - {"c0", "c2"}),
    ({"relation": {"staff": ["s1"]}}, {"c0", "c1"}),
    ({"relation": {"department": "store2"}}, {"c4"}),
    ({"relation": {"department": "branch"}}, {"c0", "c1", "c2", "c3", "c4"}),
    ({"relation": {"status": "lost"}}, {"c5"}),
    ({"relation": {"state": "spring"}}, {"c4"}),
    ({"relation": {"channel_code": ["code"]}}, {"c4"}),
    ({"relation": {"added_within": "30d"}}, {"c4"}),
    ({"relation": {"status": "any"}}, EVERYONE - {"w1", "w2"}),
    ({"group_chat": {}}, {"c1"}),
    ({"group_chat": {"chats": ["chat"]}}, {"c1"}),
    ({"identity": {"kind": "unionid"}}, {"c0"}),
    ({"identity": {"kind": "phone", "present": False}}, {"w1", "w2"}),
    ({"identity": {"kind": "phone"}}, EVERYONE - {"w1", "w2"}),
    ({"touch": {"channel": "broadcast", "within": "7d"}}, {"c0"}),
    ({"not": {"touch": {"channel": "broadcast", "within": "7d"}}}, EVERYONE - {"c0"}),
    ({"touch": {"within": "30d"}}, {"c0", "c2"}),
    ({"touch": {"within": "7d", "status": ["blocked"]}}, {"c1"}),
    ({"member_level": {"levels": ["level"]}}, {"c1"}),
    ({"any": [{"all": [{"tag": {"any": ["T1"]}}, {"city": {"in": ["上海"]}}]},
              {"not": {"relation": {"status": "any"}}}]}, {"c0", "c2", "w1", "w2"}),
    ({"not": {"all": [{"tag": {"any": ["T1"]}}, {"city": {"in": ["上海"]}}]}}, EVERYONE - {"c0", "c2"}),
    ({"not": {"any": [{"tag": {"any": ["T1"]}}, {"not": {"city": {"in": ["杭州"]}}}]}}, {"c1"}),
]


@pytest.fixture(scope="module")
def shared(_session_database):
    """One population for every case of this module: the conditions only read it (emptying every
    table per case would cost more than all the cases together)."""
    _empty_tables(_session_database)
    with _session_database.session() as session:
        brands = make_brand(session, "alpha", "甲品牌"), make_brand(session, "beta", "乙品牌")
    with _session_database.session() as session:
        population = build_population(session, *brands)
    yield _session_database, population
    _empty_tables(_session_database)


def _resolve(value, population):
    """Replace the population's names (T1, s1, store2, chat …) with their ids."""
    brand = population.brand
    names = {**population.tags, "s1": brand.staff_ids[0], "s3": brand.staff_ids[2], "store2": brand.store_ids[1],
             "branch": brand.branch_id, "chat": population.chat_id, "level": population.level_id,
             "code": population.channel_code_id}
    if isinstance(value, dict):
        return {key: _resolve(item, population) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, population) for item in value]
    if isinstance(value, str) and value in names:
        return names[value]
    return value


def members(database, population, condition) -> set[str]:
    with database.session() as session:
        statement = compile_condition(session, population.corp_id, {"version": 1, "condition": condition}, now=NOW)
        return population.labels(session.scalars(statement))


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_condition_matches_exactly_the_expected_customers(shared, condition, expected):
    # given the population and one condition (names resolved to the population's ids)
    database, population = shared
    resolved = _resolve(condition, population)

    # when it is compiled and run
    found = members(database, population, resolved)

    # then exactly the expected customers of corp A match — never the merged one, never corp B
    assert found == expected


def test_a_random_bucket_splits_stably_by_the_same_hash_as_python(shared):
    # given a 50/50 split by salt "exp-1"
    database, population = shared
    first_half = {"bucket": {"salt": "exp-1", "buckets": 2, "from": 0, "to": 0}}
    second_half = {"bucket": {"salt": "exp-1", "buckets": 2, "from": 1, "to": 1}}

    # when both halves are evaluated
    a, b = members(database, population, first_half), members(database, population, second_half)

    # then they partition everyone, as the Python function of the same hash says
    expected = {label for label in EVERYONE if bucket_of(population.ids[label], "exp-1", 2) == 0}
    assert (a, b) == (expected, EVERYONE - expected)
