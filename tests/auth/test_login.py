"""Console login: argon2 passwords, ``name@corp``, ambiguous names, throttling and safe redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from siyu.kit.i18n import translate
from siyu.kit.security import safe_redirect_path
from siyu.models import LoginAttempt, User
from tests.auth.bearer import bearer
from tests.factories import PASSWORD, csrf_token

API = "/api/v1"


def _login(client, username: str, password: str = PASSWORD, next_page: str = "/"):
    form = {"username": username, "password": password, "csrf_token": csrf_token(client), "next": next_page}
    return client.post("/login", data=form, follow_redirects=False)


def _failures(database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(LoginAttempt.username).order_by(LoginAttempt.id)))


def test_passwords_are_stored_as_argon2_hashes(client, database, brand):
    corp, _ = brand
    created = client.post(f"{API}/users", json={"username": "newcomer", "display_name": "新人", "password":
                                                "s3cret-passphrase", "role": "auditor"},
                          headers=bearer(database, corp.users["admin"]))
    assert created.status_code == 201
    with database.session() as session:
        stored = session.get(User, created.json()["id"]).password_hash
    assert stored.startswith("$argon2id$")
    assert "s3cret-passphrase" not in stored
    assert "password" not in created.json() and "password_hash" not in created.json()


def test_login_with_name_at_corp_opens_a_session_in_that_corp(client, database, clock, brand):
    _, corp_b = brand

    response = _login(client, "admin@beta")
    me = client.get(f"{API}/me")

    assert response.status_code == 303 and response.headers["location"] == "/"
    assert me.status_code == 200
    assert (me.json()["corp_id"], me.json()["user_id"], me.json()["role"]) == \
        (corp_b.corp_id, corp_b.users["admin"], "admin")
    with database.session() as session:
        assert session.get(User, corp_b.users["admin"]).last_login_at == clock.now()


def test_wrong_password_is_refused_and_counted(client, database, brand):
    response = _login(client, "admin@alpha", "wrong-password")

    assert response.status_code == 401
    assert translate("error.login_failed") in response.text
    assert client.get(f"{API}/me").status_code == 401
    assert _failures(database) == ["admin@alpha"]


def test_unknown_user_and_unknown_corp_are_refused_alike(client, brand):
    for login in ("nobody@alpha", "admin@gamma", "nobody"):
        response = _login(client, login)
        assert response.status_code == 401, login
        assert translate("error.login_failed") in response.text
    assert client.get(f"{API}/me").status_code == 401


def test_a_username_in_several_corps_needs_the_corp(client, database, brand):
    # given "admin" exists in both corps
    response = _login(client, "admin")

    # then the bare name is ambiguous — even with the right password — and nobody is logged in
    assert response.status_code == 401
    assert translate("error.login_ambiguous") in response.text
    assert client.get(f"{API}/me").status_code == 401


def test_a_username_in_one_corp_logs_in_without_the_corp(client, database, brand):
    corp, _ = brand
    admin = bearer(database, corp.users["admin"])
    client.post(f"{API}/users", json={"username": "solo", "display_name": "独", "password": "long-enough-1",
                                      "role": "auditor"}, headers=admin)

    response = _login(client, "solo", "long-enough-1")

    assert response.status_code == 303
    assert client.get(f"{API}/me").json()["username"] == "solo"


def test_five_failures_throttle_the_account_even_for_the_right_password(client, database, clock, brand):
    # given five wrong passwords for admin@alpha
    for _ in range(5):
        assert _login(client, "admin@alpha", "wrong-password").status_code == 401

    # when the right password comes next
    response = _login(client, "admin@alpha")

    # then it is refused with the throttle message, nobody is logged in and no failure is added
    assert response.status_code == 429
    assert translate("error.login_throttled", minutes=15) in response.text
    assert "登录失败次数过多，请 15 分钟后再试" in response.text
    assert client.get(f"{API}/me").status_code == 401
    assert _failures(database) == ["admin@alpha"] * 5
    with database.session() as session:
        last_logins = session.scalars(select(User.last_login_at).where(User.username == "admin")).all()
    assert last_logins == [None, None]

    # and other accounts are not affected, while the window lasts
    assert _login(client.__class__(client.app), "hq_operator@alpha").status_code == 303

    # when the window has passed, the right password works and the failures are forgotten
    clock.advance(timedelta(minutes=15, seconds=1))
    assert _login(client, "admin@alpha").status_code == 303
    assert _failures(database) == []


def test_the_throttle_counts_the_account_however_it_is_spelled(client, database, brand):
    # given a user whose name is unique, so both "solo" and "solo@alpha" reach them
    corp, _ = brand
    client.post(f"{API}/users", json={"username": "solo", "display_name": "独", "password": "long-enough-1",
                                      "role": "auditor"}, headers=bearer(database, corp.users["admin"]))
    for login in ("solo", "solo@alpha", " solo ", "solo@alpha", "solo"):
        assert _login(client, login, "wrong-password").status_code == 401

    # when the right password is tried under either spelling
    responses = [_login(client, login, "long-enough-1") for login in ("solo", "solo@alpha")]

    # then both are throttled: five failures of one account, not two budgets of five
    assert [r.status_code for r in responses] == [429, 429]
    assert _failures(database) == ["solo@alpha"] * 5


def test_an_overlong_login_is_a_failure_not_a_crash(client, database, brand):
    response = _login(client, "x" * 500 + "@alpha", "wrong-password")

    assert response.status_code == 401
    assert [len(name) for name in _failures(database)] == [200]


def test_the_login_form_needs_its_csrf_token(client, database, brand):
    csrf_token(client)
    response = client.post("/login", data={"username": "admin@alpha", "password": PASSWORD, "next": "/"},
                           follow_redirects=False)

    assert response.status_code == 403
    assert client.get(f"{API}/me").status_code == 401
    with database.session() as session:
        logged_in = select(func.count()).select_from(User).where(User.last_login_at.is_not(None))
        assert session.scalar(logged_in) == 0


@pytest.mark.parametrize(("next_page", "location"), [
    ("/customers?page=2", "/customers?page=2"),
    ("https://evil.example/phish", "/"),
    ("//evil.example/phish", "/"),
    ("javascript:alert(1)", "/"),
    ("evil.example", "/"),
])
def test_login_redirects_only_within_the_site(client, brand, next_page, location):
    response = _login(client, "admin@alpha", next_page=next_page)
    assert response.status_code == 303
    assert response.headers["location"] == location


def test_the_login_form_does_not_carry_a_foreign_next(client):
    page = client.get("/login", params={"next": "https://evil.example/"}).text
    assert 'name="next" value="/"' in page


@pytest.mark.parametrize(("target", "safe"), [
    ("/", "/"),
    ("/org/staff?q=1#top", "/org/staff?q=1#top"),
    ("/%5Cevil.example", "/%5Cevil.example"),
    (None, "/"),
    ("", "/"),
    ("org", "/"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("/\t/evil.example", "/"),
    ("/\n/evil.example", "/"),
    ("https://evil.example", "/"),
    ("http:/evil.example", "/"),
])
def test_safe_redirect_path_keeps_browsers_on_the_site(target, safe):
    assert safe_redirect_path(target) == safe
