"""The identity API: a customer's identities, lookup, manual merge and undo, identity rules — with
the refused paths (other corp, caps, bad input, 409s, roles) changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siyu.models import Identity
from tests.auth.bearer import bearer
from tests.identity.helpers import claim, make_customer, resolve
from tests.test_tenancy import snapshot

API = "/api/v1"


@pytest.fixture
def corps(brand):
    return brand


@pytest.fixture
def admin(database, corps):
    return bearer(database, corps[0].users["admin"])


def _phone_of(database, customer_id) -> str:
    with database.session() as session:
        return session.scalar(select(Identity.value).where(Identity.customer_id == customer_id,
                                                           Identity.kind == "phone"))


def test_identities_are_listed_attached_and_removed(client, database, corps, admin):
    corp = corps[0]
    customer = corp.customer_ids[0]

    attached = client.post(f"{API}/customers/{customer}/identities", headers=admin,
                           json={"identity_kind": "phone", "value": "+86 138-0013-8000"})
    listed = client.get(f"{API}/customers/{customer}/identities", headers=admin)

    assert attached.status_code == 201, attached.text
    assert (attached.json()["kind"], attached.json()["value"], attached.json()["customer_id"]) == (
        "phone", "13800138000", customer)
    assert sorted(i["value"] for i in listed.json()) == sorted(["13800138000", _phone_of(database, customer)])

    removed = client.delete(f"{API}/customers/{customer}/identities/{attached.json()['id']}", headers=admin)
    assert removed.status_code == 200 and removed.json()["value"] == "13800138000"
    assert [i["value"] for i in client.get(f"{API}/customers/{customer}/identities", headers=admin).json()] == [
        _phone_of(database, customer)]


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"identity_kind": "phone", "value": "00000000000"}, 422, "invalid_input", "value"),
    ({"identity_kind": "phone", "value": "13800000000"}, 422, "invalid_input", "value"),  # blocked by default
    ({"identity_kind": "email", "value": "a@example.com"}, 422, "invalid_input", "identity_kind"),
    ({"identity_kind": "openid"}, 422, "invalid_input", "value"),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(client, database, corps, admin, body, status,
                                                                  code, field):
    before = snapshot(database)

    response = client.post(f"{API}/customers/{corps[0].customer_ids[0]}/identities", headers=admin, json=body)

    assert response.status_code == status, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert snapshot(database) == before


def test_an_identity_held_by_another_customer_is_refused_with_an_offer_to_merge(client, database, corps, admin):
    corp = corps[0]
    holder, other = corp.customer_ids[0], corp.customer_ids[1]
    phone = _phone_of(database, holder)
    before = snapshot(database)

    response = client.post(f"{API}/customers/{other}/identities", json={"identity_kind": "phone", "value": phone},
                           headers={**admin, "Accept-Language": "en"})

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict", "field": "value", "params": {"kind": "phone", "customer_id": holder},
        "message": f"This phone belongs to customer {holder}; if they are the same person, merge the two "
                   "customers (field value)"}
    assert snapshot(database) == before


def test_an_identity_beyond_the_cap_is_refused(client, database, corps, admin):
    customer = corps[0].customer_ids[0]
    first = client.post(f"{API}/customers/{customer}/identities", headers=admin,
                        json={"identity_kind": "phone", "value": "13800138000"})
    assert first.status_code == 201
    before = snapshot(database)

    third = client.post(f"{API}/customers/{customer}/identities", headers=admin,
                        json={"identity_kind": "phone", "value": "13800138001"})

    assert third.status_code == 409
    assert third.json()["error"]["message"] == "该客户的 phone 已达上限 2 个（字段 identity_kind）"
    assert snapshot(database) == before


def test_another_corps_customer_and_identities_are_not_found(client, database, corps, admin):
    corp_a, corp_b = corps
    b_customer = corp_b.customer_ids[0]
    with database.session() as session:
        b_identity = session.scalar(select(Identity.id).where(Identity.customer_id == b_customer))
    a_identity_of_b = f"{API}/customers/{corp_a.customer_ids[0]}/identities/{b_identity}"
    before = snapshot(database)

    responses = [
        client.get(f"{API}/customers/{b_customer}/identities", headers=admin),
        client.post(f"{API}/customers/{b_customer}/identities", headers=admin,
                    json={"identity_kind": "openid", "value": "o1"}),
        client.delete(a_identity_of_b, headers=admin),
        client.get(f"{API}/identities/lookup", params={"kind": "phone", "value": _phone_of(database, b_customer)},
                   headers=admin),
        client.post(f"{API}/customers/merge", headers=admin,
                    json={"survivor_id": corp_a.customer_ids[0], "merged_id": b_customer}),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert [r.json()["error"].get("field") for r in responses] == [None, None, "identity_id", "value", "merged_id"]
    assert snapshot(database) == before


def test_lookup_follows_merges_and_refuses_bad_input(client, database, clock, corps, admin):
    corp = corps[0]
    newer = make_customer(database, corp.corp_id, ("unionid", "u1"))
    older = corp.customer_ids[0]
    phone = _phone_of(database, older)
    assert resolve(database, corp.corp_id, clock, claim(("unionid", "u1"), ("phone", phone))).customer_ids == [newer]

    found = client.get(f"{API}/identities/lookup", params={"kind": "phone", "value": f"+86 {phone}"}, headers=admin)
    merged_away = client.get(f"{API}/customers/{older}", headers=admin)
    bad_kind = client.get(f"{API}/identities/lookup", params={"kind": "email", "value": "x"}, headers=admin)
    junk = client.get(f"{API}/identities/lookup", params={"kind": "phone", "value": "unknown"}, headers=admin)
    missing = client.get(f"{API}/identities/lookup", params={"kind": "phone"}, headers=admin)
    unknown = client.get(f"{API}/identities/lookup", params={"kind": "openid", "value": "nobody"}, headers=admin)

    assert (found.status_code, found.json()["id"]) == (200, newer)
    assert (merged_away.status_code, merged_away.json()["id"]) == (200, newer)
    assert [(r.status_code, r.json()["error"]["field"]) for r in (bad_kind, junk, missing, unknown)] == [
        (422, "kind"), (422, "value"), (422, "value"), (404, "value")]


def test_an_operator_merges_two_customers_and_undoes_it(client, database, corps):
    corp = corps[0]
    survivor, merged = corp.customer_ids[0], corp.customer_ids[1]
    operator = bearer(database, corp.users["hq_operator"])

    made = client.post(f"{API}/customers/merge", headers=operator,
                       json={"survivor_id": survivor, "merged_id": merged, "note": "同一手机号的两条档案"})
    history = client.get(f"{API}/customers/{survivor}/merges", headers=operator)
    again = client.post(f"{API}/customers/merge", headers=operator, json={"survivor_id": survivor, "merged_id": merged})

    assert made.status_code == 201, made.text
    merge = made.json()
    assert (merge["survivor_id"], merge["merged_id"], merge["reason"], merge["note"]) == (
        survivor, merged, "manual", "同一手机号的两条档案")
    # both are served by the same staff member: the merged customer's relation stays, recorded as kept
    assert sorted(merge["moved"]) == ["customer_order", "identity", "relation:kept"]
    assert [m["id"] for m in history.json()] == [merge["id"]]
    assert (again.status_code, again.json()["error"]["field"]) == (409, "merged_id")
    assert client.get(f"{API}/customers/{merged}", headers=operator).json()["id"] == survivor

    undone = client.post(f"{API}/customers/{survivor}/merges/{merge['id']}/undo", headers=operator)
    twice = client.post(f"{API}/customers/{merged}/merges/{merge['id']}/undo", headers=operator)

    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    assert undone.json()["undone_by_user_id"] == corp.users["hq_operator"]
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "conflict"
    assert client.get(f"{API}/customers/{merged}", headers=operator).json()["id"] == merged


def test_merging_and_undoing_are_for_corp_wide_roles(client, database, clock, corps):
    corp = corps[0]
    s1_customers = corp.served[corp.staff_ids[0]]
    manager = bearer(database, corp.users["store_manager"])
    merge_id = client.post(f"{API}/customers/merge", headers=bearer(database, corp.users["admin"]),
                           json={"survivor_id": s1_customers[0], "merged_id": s1_customers[1]}).json()["id"]
    before = snapshot(database)

    merge = client.post(f"{API}/customers/merge", headers=manager,
                        json={"survivor_id": corp.customer_ids[2], "merged_id": corp.customer_ids[3]})
    undo = client.post(f"{API}/customers/{s1_customers[0]}/merges/{merge_id}/undo", headers=manager)
    rules = client.put(f"{API}/identity-rules", headers=manager, json={"rules": []})

    assert [r.status_code for r in (merge, undo, rules)] == [403, 403, 403]
    assert snapshot(database) == before


def test_undo_of_a_merge_not_of_this_customer_is_not_found(client, database, corps, admin):
    corp = corps[0]
    a, b, c = corp.customer_ids[:3]
    merge_id = client.post(f"{API}/customers/merge", headers=admin, json={"survivor_id": a, "merged_id": b}).json()["id"]
    before = snapshot(database)

    response = client.post(f"{API}/customers/{c}/merges/{merge_id}/undo", headers=admin)

    assert (response.status_code, response.json()["error"]["field"]) == (404, "merge_id")
    assert snapshot(database) == before


def test_identity_rules_are_read_and_edited_and_apply_at_once(client, database, corps, admin):
    customer = corps[0].customer_ids[0]

    defaults = client.get(f"{API}/identity-rules", headers=admin).json()
    edited = client.put(f"{API}/identity-rules", headers=admin, json={"rules": [
        {"kind": "phone", "max_per_customer": 1, "priority": 20, "blocked_values": ["400 820 8820", "13911112222"]},
    ]})
    attach = client.post(f"{API}/customers/{customer}/identities", headers=admin,
                         json={"identity_kind": "phone", "value": "13800138000"})

    assert [r["kind"] for r in defaults][:4] == ["unionid", "user_id", "wecom_external_userid", "phone"]
    assert defaults[2] == {"kind": "wecom_external_userid", "max_per_customer": None, "priority": 15,
                           "merge_key": True, "blocked_values": [], "customised": False}
    phone = next(r for r in edited.json() if r["kind"] == "phone")
    assert phone == {"kind": "phone", "max_per_customer": 1, "priority": 20, "merge_key": True,
                     "blocked_values": ["13911112222"], "customised": True}
    assert attach.status_code == 409 and attach.json()["error"]["field"] == "identity_kind"


@pytest.mark.parametrize(("rule", "field"), [
    ({"kind": "phone", "max_per_customer": 0, "priority": 20}, "rules.0.max_per_customer"),
    ({"kind": "fax", "priority": 20}, "rules.0.kind"),
    ({"kind": "phone"}, "rules.0.priority"),
])
def test_a_malformed_rule_is_refused_naming_the_field(client, database, corps, admin, rule, field):
    before = snapshot(database)

    response = client.put(f"{API}/identity-rules", headers=admin, json={"rules": [rule]})

    assert (response.status_code, response.json()["error"]["field"]) == (422, field)
    assert snapshot(database) == before
