"""Console sessions (CSRF on every unsafe call, invalidated by session_version) and API tokens."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.kit.i18n import translate
from siyu.models import ApiToken
from tests.auth.bearer import bearer
from tests.factories import csrf_token, login
from tests.test_tenancy import snapshot

API = "/api/v1"


@pytest.fixture
def admin_session(client, brand):
    """``client`` logged into the console as alpha's admin, and the session's CSRF token."""
    corp, _ = brand
    assert login(client, corp, "admin").status_code == 303
    return corp, csrf_token(client)


def _tokens(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def test_a_session_post_without_the_csrf_header_is_refused(client, database, admin_session):
    before = snapshot(database)

    response = client.post(f"{API}/auth/tokens", json={"name": "cli"})

    assert response.status_code == 403
    assert response.json() == {"error": {"code": "forbidden", "message": translate("error.csrf", "zh-CN")}}
    assert snapshot(database) == before


def test_a_session_post_with_a_wrong_csrf_header_is_refused(client, database, admin_session):
    before = snapshot(database)
    response = client.post(f"{API}/auth/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": "guessed"})
    assert response.status_code == 403
    assert snapshot(database) == before


def test_a_session_post_with_the_csrf_header_is_accepted(client, database, admin_session):
    _, csrf = admin_session

    response = client.post(f"{API}/auth/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": csrf})

    assert response.status_code == 201
    assert response.json()["token"].startswith("siyu_")
    assert _tokens(database) == 1


def test_every_unsafe_method_of_a_session_needs_the_csrf_header(client, database, admin_session):
    corp, csrf = admin_session
    created = client.post(f"{API}/auth/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": csrf}).json()
    before = snapshot(database)

    renamed = client.patch(f"{API}/departments/{corp.store_ids[0]}", json={"name": "改名"})
    revoked = client.delete(f"{API}/auth/tokens/{created['id']}")

    assert (renamed.status_code, revoked.status_code) == (403, 403)
    assert snapshot(database) == before
    # reading needs no token
    assert client.get(f"{API}/departments/{corp.store_ids[0]}").status_code == 200


def test_bearer_tokens_need_no_csrf_header(app, database, brand):
    corp, _ = brand
    with TestClient(app) as api_client:
        response = api_client.post(f"{API}/auth/tokens", json={"name": "script"},
                                   headers=bearer(database, corp.users["admin"]))
    assert response.status_code == 201
    assert _tokens(database) == 2


def test_a_revoked_token_is_refused(client, database, brand):
    corp, _ = brand
    headers = bearer(database, corp.users["hq_operator"])
    token_id = client.get(f"{API}/auth/tokens", headers=headers).json()[0]["id"]

    revoked = client.delete(f"{API}/auth/tokens/{token_id}", headers=headers)
    after = client.get(f"{API}/me", headers=headers)

    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert after.status_code == 401
    assert after.json() == {"error": {"code": "unauthorized", "message": translate("error.invalid_token")}}


def test_an_unknown_token_is_refused(client, brand):
    response = client.get(f"{API}/me", headers={"Authorization": "Bearer siyu_not-a-token"})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")


def test_tokens_are_listed_and_revoked_by_their_owner_only(client, database, brand):
    corp, _ = brand
    mine = bearer(database, corp.users["hq_operator"])
    theirs = bearer(database, corp.users["auditor"])
    their_token = client.get(f"{API}/auth/tokens", headers=theirs).json()[0]["id"]

    listed = client.get(f"{API}/auth/tokens", headers=mine).json()
    revoked = client.delete(f"{API}/auth/tokens/{their_token}", headers=mine)

    assert their_token not in [token["id"] for token in listed]
    assert revoked.status_code == 404
    assert client.get(f"{API}/me", headers=theirs).status_code == 200


def test_an_auditor_may_hold_an_api_token(client, database, brand):
    # auditors read through the API as well; a token is their credential, not a change of data
    corp, _ = brand
    response = client.post(f"{API}/auth/tokens", json={"name": "export"},
                           headers=bearer(database, corp.users["auditor"]))
    assert response.status_code == 201


@pytest.mark.parametrize(("change", "token_survives"), [
    ({"password": "a-new-passphrase"}, True),
    ({"role": "auditor"}, True),
    ({"is_active": False}, False),
])
def test_a_password_change_role_change_or_deactivation_ends_sessions(app, client, database, brand, change,
                                                                      token_survives):
    # given the hq operator logged into the console and holding an API token
    corp, _ = brand
    with TestClient(app) as operator:
        assert login(operator, corp, "hq_operator").status_code == 303
        assert operator.get(f"{API}/me").status_code == 200
        token = bearer(database, corp.users["hq_operator"])

        # when an admin changes them
        changed = client.patch(f"{API}/users/{corp.users['hq_operator']}", json=change,
                               headers=bearer(database, corp.users["admin"]))

        # then their console session is over; a token follows the user's state, not the session
        assert changed.status_code == 200
        assert operator.get(f"{API}/me").status_code == 401
        assert client.get(f"{API}/me", headers=token).status_code == (200 if token_survives else 401)


def test_after_a_password_change_only_the_new_password_logs_in(app, client, database, brand):
    corp, _ = brand
    client.patch(f"{API}/users/{corp.users['hq_operator']}", json={"password": "a-new-passphrase"},
                 headers=bearer(database, corp.users["admin"]))
    with TestClient(app) as fresh:
        assert login(fresh, corp, "hq_operator").status_code == 401
        assert login(fresh, corp, "hq_operator", "a-new-passphrase").status_code == 303


def test_a_deactivated_user_cannot_log_in(app, client, database, brand):
    corp, _ = brand
    client.patch(f"{API}/users/{corp.users['store_manager']}", json={"is_active": False},
                 headers=bearer(database, corp.users["admin"]))
    with TestClient(app) as fresh:
        assert login(fresh, corp, "store_manager").status_code == 401
        assert fresh.get(f"{API}/me").status_code == 401


def test_logout_needs_the_csrf_token(client, admin_session):
    _, csrf = admin_session

    client.post("/logout", data={}, follow_redirects=False)
    still_in = client.get(f"{API}/me").status_code
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert still_in == 200
    assert client.get(f"{API}/me").status_code == 401

