"""The loyalty API through HTTP: settings, levels, members, points, coupon templates and coupons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from siyu.models import Coupon, CouponTemplate, Job, Member, MemberLevel, PointsEntry
from tests.auth.bearer import bearer

API = "/api/v1/loyalty"


def _count(database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _template(client, headers, **overrides):
    body = {"name": "满100减20", "kind": "amount_off", "value": "20", "threshold": "80", "valid_days": 30,
            "stock": 10, "per_customer_limit": 2}
    body.update(overrides)
    response = client.post(f"{API}/coupon-templates", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_settings_and_levels(client, database, corp):
    headers = bearer(database, corp.users["admin"])
    assert client.get(f"{API}/settings", headers=headers).json() == {
        "points_per_yuan": "1.00", "points_validity_months": 12, "member_no_prefix": "M"}
    changed = client.put(f"{API}/settings", headers=headers, json={"points_per_yuan": "2", "member_no_prefix": "VIP"})
    assert changed.json() == {"points_per_yuan": "2.00", "points_validity_months": 12, "member_no_prefix": "VIP"}
    silver = client.post(f"{API}/levels", headers=headers, json={"name": "银卡", "rank": 1, "min_spend": "100"})
    base = client.post(f"{API}/levels", headers=headers, json={"name": "普通", "rank": 0})
    assert (silver.status_code, base.status_code) == (201, 201)
    taken = client.post(f"{API}/levels", headers=headers, json={"name": "金卡", "rank": 1})
    assert taken.status_code == 409
    assert taken.json()["error"] == {"code": "conflict", "field": "rank", "params": {"rank": 1},
                                     "message": "已存在排序为 1 的等级（字段 rank）"}
    renamed = client.patch(f"{API}/levels/{silver.json()['id']}", headers=headers,
                           json={"name": "银卡会员", "min_spend": None, "min_points": 500})
    assert (renamed.json()["name"], renamed.json()["min_spend"], renamed.json()["min_points"]) == ("银卡会员", None, 500)
    # a member at the base level, after the recompute job
    client.post(f"{API}/members", headers=headers, json={"customer_id": corp.customer_ids[0]})
    queued = client.post(f"{API}/levels/recompute", headers=headers)
    assert queued.status_code == 202
    with database.session() as session:
        assert session.get(Job, queued.json()["job_id"]).name == "loyalty.recompute_levels"
    assert client.delete(f"{API}/levels/{base.json()['id']}", headers=headers).status_code == 204
    assert [(level["name"], level["members"]) for level in client.get(f"{API}/levels", headers=headers).json()] == [
        ("银卡会员", 0)]


def test_only_hq_roles_change_the_programme(client, database, corp):
    for role in ("store_manager", "staff", "auditor"):
        headers = bearer(database, corp.users[role])
        response = client.post(f"{API}/levels", headers=headers, json={"name": "金卡", "rank": 2})
        assert response.status_code == 403, role
        assert client.put(f"{API}/settings", headers=headers, json={"points_per_yuan": "3"}).status_code == 403
    assert _count(database, MemberLevel) == 0


def test_members_enrol_once_and_are_found_by_member_number(client, database, corp):
    headers = bearer(database, corp.users["hq_operator"])
    customer = corp.customer_ids[0]
    first = client.post(f"{API}/members", headers=headers, json={"customer_id": customer, "birthday": "1990-05-04"})
    again = client.post(f"{API}/members", headers=headers, json={"customer_id": customer})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == {"customer_id": customer, "customer_name": "alpha客户alpha-s1-0", "member_no": f"M{customer}",
                            "level_id": None, "level_name": None, "joined_at": "2026-01-05T09:00:00Z",
                            "birthday": "1990-05-04", "points_balance": 0, "points_earned_total": 0}
    found = client.get(f"{API}/members", headers=headers, params={"member_no": f"M{customer}"}).json()
    assert [m["customer_id"] for m in found["items"]] == [customer]
    patched = client.patch(f"{API}/members/{customer}", headers=headers, json={"birthday": "1991-01-02"})
    assert patched.json()["birthday"] == "1991-01-02"
    not_member = client.get(f"{API}/members/{corp.customer_ids[1]}", headers=headers, params={"lang": "en"})
    assert (not_member.status_code, not_member.json()["error"]["message"]) == (404, "The customer is not a member")


def test_points_adjustments_replay_and_refusals(client, database, corp):
    headers = bearer(database, corp.users["admin"])
    customer = corp.customer_ids[0]
    url = f"{API}/members/{customer}/points"
    added = client.post(url, headers=headers, json={"points": 100, "note": "补偿", "idempotency_key": "t-1"})
    replayed = client.post(url, headers=headers, json={"points": 100, "idempotency_key": "t-1"})
    assert (added.status_code, replayed.status_code, replayed.json()["id"]) == (201, 200, added.json()["id"])
    assert added.json() | {"id": 0} == {
        "id": 0, "customer_id": customer, "kind": "adjust", "points": 100, "remaining": 100, "source_kind": "manual",
        "source_ref": None, "order_id": None, "note": "补偿", "occurred_at": "2026-01-05T09:00:00Z",
        "expires_at": "2027-01-05T09:00:00Z"}
    refused = client.post(url, headers={**headers, "Accept-Language": "en"},
                          json={"points": -101, "idempotency_key": "t-2"})
    assert refused.status_code == 409
    assert refused.json()["error"] == {"code": "conflict", "field": "points", "message": "the balance is too small",
                                       "params": {"refusal": "insufficient_points"}}
    zero = client.post(url, headers=headers, json={"points": 0, "idempotency_key": "t-3"})
    assert (zero.status_code, zero.json()["error"]["field"]) == (422, "points")
    ledger = client.get(url, headers=headers).json()
    assert [(e["kind"], e["points"]) for e in ledger["items"]] == [("adjust", 100)]
    assert _count(database, PointsEntry) == 1


def test_points_expiring_soon(client, database, corp, clock):
    headers = bearer(database, corp.users["admin"])
    customer = corp.customer_ids[0]
    client.post(f"{API}/members/{customer}/points", headers=headers, json={"points": 40, "idempotency_key": "a"})
    clock.advance(timedelta(days=350))
    rows = client.get(f"{API}/points/expiring", headers=headers, params={"within_days": 30}).json()
    assert rows == [{"customer_id": customer, "points": 40, "first_expires_at": "2027-01-05T09:00:00Z"}]
    assert client.get(f"{API}/points/expiring", headers=headers, params={"within_days": 10}).json() == []


def test_a_store_manager_acts_only_on_their_stores_customers(client, database, corp):
    headers = bearer(database, corp.users["store_manager"])
    other_store_customer = corp.served[corp.staff_ids[2]][0]
    own_customer = corp.served[corp.staff_ids[0]][0]
    refused = client.post(f"{API}/members/{other_store_customer}/points", headers=headers,
                          json={"points": 5, "idempotency_key": "x"})
    assert refused.status_code == 404
    assert client.post(f"{API}/members/{own_customer}/points", headers=headers,
                       json={"points": 5, "idempotency_key": "x"}).status_code == 201
    assert _count(database, PointsEntry) == 1


def test_coupon_templates_issue_and_redeem(client, database, corp):
    headers = bearer(database, corp.users["admin"])
    template = _template(client, headers)
    assert template["counts"] == {"issued": 0, "redeemed": 0, "expired": 0, "void": 0}
    body = {"template_id": template["id"], "customer_id": corp.customer_ids[0], "idempotency_key": "desk-1"}
    issued = client.post(f"{API}/coupons", headers=headers, json=body)
    replayed = client.post(f"{API}/coupons", headers=headers, json=body)
    assert (issued.status_code, replayed.status_code, replayed.json()["code"]) == (201, 200, issued.json()["code"])
    coupon = issued.json()
    assert (coupon["status"], coupon["source_kind"], coupon["valid_until"]) == (
        "issued", "manual", "2026-02-04T09:00:00Z")
    redeemed = client.post(f"{API}/coupons/{coupon['id']}/redeem", headers=headers,
                           json={"order_id": corp.order_ids[0]})
    assert (redeemed.status_code, redeemed.json()["status"], redeemed.json()["order_id"]) == (
        200, "redeemed", corp.order_ids[0])
    listed = client.get(f"{API}/coupon-templates", headers=headers).json()
    assert [(t["issued_count"], t["counts"]["redeemed"]) for t in listed] == [(1, 1)]
    by_customer = client.get(f"{API}/coupons", headers=headers, params={"customer_id": corp.customer_ids[0]}).json()
    assert [c["id"] for c in by_customer["items"]] == [coupon["id"]]


def test_coupon_refusals_through_the_api(client, database, corp):
    headers = bearer(database, corp.users["admin"])
    template = _template(client, headers, stock=1)
    client.post(f"{API}/coupons", headers=headers, json={
        "template_id": template["id"], "customer_id": corp.customer_ids[0], "idempotency_key": "a"})
    out = client.post(f"{API}/coupons", headers=headers, json={
        "template_id": template["id"], "customer_id": corp.customer_ids[1], "idempotency_key": "b"})
    assert (out.status_code, out.json()["error"]["message"], out.json()["error"]["params"]) == (
        409, "该券已发完", {"refusal": "out_of_stock"})
    bad = client.post(f"{API}/coupon-templates", headers=headers, params={"lang": "en"}, json={
        "name": "x", "kind": "discount", "value": "120", "valid_days": 3})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "value")
    no_validity = client.post(f"{API}/coupon-templates", headers=headers, json={"name": "x", "kind": "gift",
                                                                               "value": "0"})
    assert no_validity.json()["error"]["message"] == "请设置领取后有效天数或截止时间，或两者都设（字段 valid_days）"
    lowered = client.patch(f"{API}/coupon-templates/{template['id']}", headers=headers, json={"active": False})
    assert lowered.json()["active"] is False
    assert (_count(database, Coupon), _count(database, CouponTemplate)) == (1, 1)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0
