"""Access tokens, error codes, privileges and rate limits."""

from __future__ import annotations


def test_token_lives_7200_seconds_then_42001(harness):
    harness.create_corp()
    token = harness.token()
    harness.clock.advance(7199)
    ok = harness.client.get("/cgi-bin/externalcontact/get_follow_user_list", params={"access_token": token}).json()
    assert ok["errcode"] == 0
    harness.clock.advance(1)
    expired = harness.client.get("/cgi-bin/externalcontact/get_follow_user_list",
                                 params={"access_token": token}).json()
    assert expired["errcode"] == 42001
    assert expired["errmsg"].startswith("access_token expired, hint: [")
    assert "more info at https://open.work.weixin.qq.com/devtool/query?e=42001" in expired["errmsg"]


def test_gettoken_returns_the_same_token_while_valid_and_a_new_one_after(harness):
    credentials = harness.create_corp()
    params = {"corpid": "wwcorp0001", "corpsecret": credentials["contact_secret"]}
    first = harness.client.get("/cgi-bin/gettoken", params=params).json()
    assert first["expires_in"] == 7200
    harness.clock.advance(100)
    again = harness.client.get("/cgi-bin/gettoken", params=params).json()
    assert again["access_token"] == first["access_token"] and again["expires_in"] == 7100
    harness.clock.advance(7100)
    renewed = harness.client.get("/cgi-bin/gettoken", params=params).json()
    assert renewed["access_token"] != first["access_token"] and renewed["expires_in"] == 7200


def test_each_secret_has_its_own_token(harness):
    credentials = harness.create_corp()
    contact = harness.token(secret=credentials["contact_secret"])
    address_book = harness.token(secret=credentials["address_book_secret"])
    assert contact != address_book


def test_missing_unknown_token_bad_corp_and_bad_secret(harness):
    credentials = harness.create_corp()
    missing = harness.client.get("/cgi-bin/department/list")
    assert missing.status_code == 200 and missing.json()["errcode"] == 41001
    unknown = harness.client.get("/cgi-bin/department/list", params={"access_token": "forged"}).json()
    assert unknown["errcode"] == 40014
    bad_corp = harness.client.get("/cgi-bin/gettoken", params={"corpid": "wwnobody",
                                                               "corpsecret": credentials["contact_secret"]}).json()
    assert bad_corp["errcode"] == 40013 and "access_token" not in bad_corp
    bad_secret = harness.client.get("/cgi-bin/gettoken", params={"corpid": "wwcorp0001", "corpsecret": "x"}).json()
    assert bad_secret["errcode"] == 40001


def test_invalid_json_body_is_47001(harness):
    harness.create_corp()
    response = harness.client.post("/cgi-bin/externalcontact/get_corp_tag_list",
                                   params={"access_token": harness.token()}, content=b"{not json")
    assert response.json()["errcode"] == 47001


def test_address_book_secret_cannot_call_customer_contact_and_list_id_needs_it(harness):
    credentials = harness.create_corp()
    address_book = harness.token(secret=credentials["address_book_secret"])
    refused = harness.client.get("/cgi-bin/externalcontact/get_follow_user_list",
                                 params={"access_token": address_book}).json()
    assert refused["errcode"] == 48002
    rows = harness.client.post("/cgi-bin/user/list_id", params={"access_token": address_book},
                               json={"limit": 4}).json()
    assert rows["errcode"] == 0 and len(rows["dept_user"]) == 4 and rows["next_cursor"]
    rest = harness.client.post("/cgi-bin/user/list_id", params={"access_token": address_book},
                               json={"cursor": rows["next_cursor"], "limit": 100}).json()
    assert len(rows["dept_user"]) + len(rest["dept_user"]) == 6 and rest["next_cursor"] == ""
    assert harness.post("user/list_id", {"limit": 4})["errcode"] == 48002


def test_app_visibility_gives_60011_outside_and_60111_for_unknown_users(harness):
    harness.create_corp()
    state = harness.state
    corp = state.corps["wwcorp0001"]
    from siyu.emulator.wecom.entities import App

    store = next(m.main_department for m in corp.members.values())
    corp.apps["limited"] = App(secret="limited", kind="agent", agent_id=1000003, visible_departments=[store])
    inside = next(m.userid for m in corp.members.values() if store in m.department)
    outside = next(m.userid for m in corp.members.values() if store not in m.department)
    token = harness.token(secret="limited")
    get = lambda userid: harness.client.get("/cgi-bin/user/get",  # noqa: E731
                                            params={"access_token": token, "userid": userid}).json()
    assert get(inside)["errcode"] == 0
    assert get(outside)["errcode"] == 60011
    assert get("ghost")["errcode"] == 60111
    departments = harness.client.get("/cgi-bin/department/list", params={"access_token": token}).json()
    assert [d["id"] for d in departments["department"]] == [store]
    # Not added to customer contact → the customer-contact APIs are forbidden to it.
    forbidden = harness.client.get("/cgi-bin/externalcontact/get_follow_user_list",
                                   params={"access_token": token}).json()
    assert forbidden["errcode"] == 48002


def test_rate_limit_45009_per_api_then_blocked_for_a_minute(harness):
    harness.create_corp()
    response = harness.client.put("/simulate/wwcorp0001/config", json={"rate_limits": {"per_minute": 3}})
    assert response.status_code == 200
    codes = [harness.get("externalcontact/get_follow_user_list")["errcode"] for _ in range(4)]
    assert codes == [0, 0, 0, 45009]
    # Another API has its own counter.
    assert harness.post("externalcontact/get_corp_tag_list", {})["errcode"] == 0
    harness.clock.advance(30)
    assert harness.get("externalcontact/get_follow_user_list")["errcode"] == 45009
    harness.clock.advance(31)
    assert harness.get("externalcontact/get_follow_user_list")["errcode"] == 0


def test_no_rate_limit_by_default(harness):
    harness.create_corp()
    assert all(harness.get("externalcontact/get_follow_user_list")["errcode"] == 0 for _ in range(300))
