"""Transfers start through the API, complete 24 h later, and can fail with a transfer_fail callback."""

from __future__ import annotations


def _two_members(harness):
    harness.create_corp(staff=3, customers=40, groups=0)
    corp = harness.state.corps["wwcorp0001"]
    handover = next(u for u, c in corp.customers_by_user.items() if len(c) >= 3)
    takeover = next(u for u in harness.staff() if u != handover)
    customers = list(corp.customers_by_user[handover])[:3]
    return handover, takeover, customers


def _result(harness, handover, takeover, path="externalcontact/transfer_result"):
    rows = harness.post(path, {"handover_userid": handover, "takeover_userid": takeover})["customer"]
    return {row["external_userid"]: row["status"] for row in rows}


def test_onjob_transfer_waits_24_hours_then_moves_the_customer(harness):
    handover, takeover, customers = _two_members(harness)
    started = harness.post("externalcontact/transfer_customer", {
        "handover_userid": handover, "takeover_userid": takeover, "external_userid": customers[:1]})
    assert started["customer"] == [{"external_userid": customers[0], "errcode": 0}]
    now = int(harness.clock.now().timestamp())
    rows = harness.post("externalcontact/transfer_result",
                        {"handover_userid": handover, "takeover_userid": takeover})["customer"]
    assert rows == [{"external_userid": customers[0], "status": 2, "takeover_time": now + 86400}]
    followers = [f["userid"] for f in harness.get("externalcontact/get", external_userid=customers[0])["follow_user"]]
    assert handover in followers and takeover not in followers
    harness.settle()
    assert harness.receiver.events == []  # starting a transfer is an API change: no callback
    harness.clock.advance(86400)
    assert _result(harness, handover, takeover) == {customers[0]: 1}
    follow_user = harness.get("externalcontact/get", external_userid=customers[0])["follow_user"]
    moved = next(f for f in follow_user if f["userid"] == takeover)
    assert handover not in [f["userid"] for f in follow_user] and moved["add_way"] == 202
    harness.settle()
    removed, added = harness.receiver.events
    assert (removed["ChangeType"], removed["UserID"], removed["Source"]) == \
        ("del_external_contact", handover, "DELETE_BY_TRANSFER")
    assert (added["ChangeType"], added["UserID"], added["ExternalUserID"]) == \
        ("add_external_contact", takeover, customers[0])


def test_customer_refusal_fails_the_transfer_with_transfer_fail(harness):
    handover, takeover, customers = _two_members(harness)
    harness.post("externalcontact/transfer_customer", {
        "handover_userid": handover, "takeover_userid": takeover, "external_userid": customers[:2]})
    harness.simulate("customer_refuse_transfer", external_userid=customers[0])
    harness.clock.advance(86400)
    assert _result(harness, handover, takeover) == {customers[0]: 3, customers[1]: 1}
    followers = [f["userid"] for f in harness.get("externalcontact/get", external_userid=customers[0])["follow_user"]]
    assert followers.count(handover) == 1 and takeover not in followers
    harness.settle()
    failure = harness.receiver.events[0]
    assert (failure["ChangeType"], failure["UserID"], failure["ExternalUserID"], failure["FailReason"]) == \
        ("transfer_fail", takeover, customers[0], "customer_refused")


def test_takeover_at_its_customer_limit_fails_with_status_4(harness):
    handover, takeover, customers = _two_members(harness)
    harness.client.put("/simulate/wwcorp0001/config", json={"takeover_customer_limit": 1})
    harness.post("externalcontact/transfer_customer", {
        "handover_userid": handover, "takeover_userid": takeover, "external_userid": customers[:1]})
    harness.clock.advance(86400)
    assert _result(harness, handover, takeover) == {customers[0]: 4}
    harness.settle()
    assert [(e["ChangeType"], e["FailReason"]) for e in harness.receiver.events] == \
        [("transfer_fail", "customer_limit_exceed")]


def test_per_customer_errcodes(harness):
    handover, takeover, customers = _two_members(harness)
    corp = harness.state.corps["wwcorp0001"]
    stranger = next(e for e, c in corp.customers.items() if handover not in c.follows)
    started = harness.post("externalcontact/transfer_customer", {
        "handover_userid": handover, "takeover_userid": takeover,
        "external_userid": [customers[0], "wmNOBODY", stranger]})
    assert [c["errcode"] for c in started["customer"]] == [0, 40096, 84061]
    again = harness.post("externalcontact/transfer_customer", {
        "handover_userid": handover, "takeover_userid": takeover, "external_userid": [customers[0]]})
    assert again["customer"][0]["errcode"] != 0  # already waiting
    assert harness.post("externalcontact/transfer_customer", {
        "handover_userid": handover, "takeover_userid": "ghost", "external_userid": customers})["errcode"] == 60111


def test_resigned_transfer_needs_a_resigned_member(harness):
    handover, takeover, customers = _two_members(harness)
    body = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": customers[:2]}
    assert harness.post("externalcontact/resigned/transfer_customer", body)["errcode"] == 40003
    harness.simulate("staff_resign", userid=handover)
    unassigned = harness.post("externalcontact/get_unassigned_list", {"page_size": 100})["info"]
    assert {row["external_userid"] for row in unassigned} >= set(customers)
    started = harness.post("externalcontact/resigned/transfer_customer", body)
    assert [c["errcode"] for c in started["customer"]] == [0, 0]
    harness.clock.advance(86400)
    assert _result(harness, handover, takeover, "externalcontact/resigned/transfer_result") == \
        {customers[0]: 1, customers[1]: 1}
    harness.settle()
    # No del_external_contact for a member who already left; the takeover gets add events.
    assert [e["ChangeType"] for e in harness.receiver.events] == \
        ["delete_user", "add_external_contact", "add_external_contact"]
