"""Customer 360 search: any identity value, a phone however it is typed, a name prefix — through the
REST list and the console — always within the caller's corp and data scope."""

from __future__ import annotations

import pytest

from siyu.models import Customer
from tests.auth.bearer import bearer
from tests.console.conftest import rows
from tests.customer.customer_360_people import C0_IDENTITIES, C4_EXTERNAL_USERID, seed_people

API = "/api/v1/customers"


@pytest.fixture
def people(database, brand):
    return seed_people(database, brand)


def _found(client, headers, **params) -> list[int]:
    response = client.get(API, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_every_identity_kind_finds_its_customer_and_only_in_this_corp(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    for kind, value in sorted(C0_IDENTITIES.items()):
        # when the admin searches for c0's identity value (corp beta holds the same value)
        found = _found(client, headers, q=value, match="prefix")
        # and restricts the search to that kind, and to another kind
        by_kind = _found(client, headers, q=value, identity_kind=kind)
        by_other_kind = _found(client, headers, q=value, identity_kind="phone")

        # then exactly c0 is found, never corp beta's customer
        assert (found, by_kind, by_other_kind) == ([people.c[0]], [people.c[0]], []), kind


def test_external_userid_finds_the_wecom_contact(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    assert _found(client, headers, q=C4_EXTERNAL_USERID, match="prefix") == [people.c[4]]


def test_a_phone_is_found_however_it_is_typed(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    with database.session() as session:
        assert session.get(Customer, people.c[0]).phone == "13900010000"
    for typed in ("13900010000", "+86 139-0001-0000", "0086 139 0001 0000", "１３９０００１００００", "(139) 0001 0000"):
        assert _found(client, headers, q=typed, match="prefix") == [people.c[0]], typed
        assert _found(client, headers, q=typed, identity_kind="phone") == [people.c[0]], typed


def test_a_name_prefix_finds_every_customer_starting_with_it_newest_first(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    s1_customers = [people.c[1], people.c[0]]

    # names are "alpha客户alpha-s1-0" …: a prefix matches, a middle part does not (in prefix mode)
    assert _found(client, headers, q="alpha客户alpha-s1-", match="prefix") == s1_customers
    assert _found(client, headers, q="客户alpha-s1", match="prefix") == []
    # the API's default stays "contains", as before
    assert _found(client, headers, q="客户alpha-s1") == s1_customers


def test_search_never_reaches_outside_the_staff_users_customers(client, database, people):
    # given s3's user (serving c4 and c5); c0 holds the unionid
    headers = bearer(database, people.corp.users["staff"])

    # when they search c0's unionid, a name prefix of every customer, and c4's external userid
    assert _found(client, headers, q=C0_IDENTITIES["unionid"], match="prefix") == []
    assert _found(client, headers, q="alpha", match="prefix") == [people.c[5], people.c[4]]
    assert _found(client, headers, q=C4_EXTERNAL_USERID, match="prefix") == [people.c[4]]


def test_search_refuses_an_unknown_identity_kind_naming_the_field(client, database, people):
    headers = bearer(database, people.corp.users["admin"])
    response = client.get(API, params={"q": "x", "identity_kind": "passport"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "identity_kind"


def test_console_search_shows_what_matched(app, database, people):
    from fastapi.testclient import TestClient

    from tests.factories import login

    with TestClient(app) as console:
        assert login(console, people.corp, "admin").status_code == 303
        page = console.get("/customers", params={"q": C0_IDENTITIES["openid"]})
        by_name = console.get("/customers", params={"q": "alpha散客"})
        console.get("/lang/en?next=/customers")
        english = console.get("/customers", params={"q": "nobody-at-all"})

    assert page.status_code == 200
    assert rows(page.text, "customer") == [str(people.c[0])]
    assert 'data-matched="openid"' in page.text
    assert "匹配：微信 openid" in page.text
    assert rows(by_name.text, "customer") == [str(people.c[7]), str(people.c[6])]
    assert rows(english.text, "customer") == []
    assert "No customer matches" in english.text
