"""The loyalty pages through the real app: overview, forms with refusals next to their fields, the
member page (ledger, adjust, issue, void), in both languages and scoped per role."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from siyu.models import Coupon, MemberLevel, PointsEntry
from tests.console.conftest import csrf_of, field_error, kpis, rows


def test_the_overview_shows_levels_templates_and_members(console, programme):
    page = console("admin").get("/loyalty")
    assert page.status_code == 200
    html = page.text
    assert kpis(html) == {"members": "6", "points": "1,128", "expiring": "600", "templates": "2"}
    assert rows(html, "level") == ["金卡", "银卡", "普通"]
    assert rows(html, "template") == ["生日八五折", "新客满80减10"]
    welcome = re.search(r'data-template="新客满80减10">(.*?)</tr>', html, flags=re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', welcome) == ["¥10.00", "¥80.00", "4 / 100", "3", "1", "0",
                                                                     "25.0%"]
    assert len(rows(html, "member")) == 6
    assert 'id="chart-levels"' in html


def test_the_overview_in_english(console, programme):
    client = console("admin")
    client.get("/lang/en", params={"next": "/loyalty"})
    html = client.get("/loyalty").text
    assert "Membership levels" in html and "Points outstanding" in html and "Amount off" in html


def test_a_staff_user_sees_only_their_customers_as_members(console, programme):
    html = console("staff").get("/loyalty").text
    assert kpis(html)["members"] == "2"
    assert "新建等级" not in html


def test_creating_a_level_from_the_form_and_a_refusal_next_to_its_field(console, programme, database):
    client = console("admin")
    token = csrf_of(client.get("/loyalty").text)
    created = client.post("/loyalty/levels", data={"csrf_token": token, "name": "钻石", "rank": "3",
                                                   "min_spend": "5000"}, follow_redirects=False)
    assert (created.status_code, created.headers["location"]) == (303, "/loyalty?notice=level")
    refused = client.post("/loyalty/levels", data={"csrf_token": token, "name": "黑钻", "rank": "3"})
    assert refused.status_code == 409
    assert field_error(refused.text, "level.rank") == "已存在排序为 3 的等级（字段 rank）"
    assert field_error(refused.text, "level.name") is None
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MemberLevel)) == 4


def test_a_coupon_template_form_refusal(console, programme, database):
    client = console("hq_operator")
    token = csrf_of(client.get("/loyalty").text)
    refused = client.post("/loyalty/coupon-templates", data={"csrf_token": token, "name": "八折", "kind": "discount",
                                                              "value": "80"})
    assert field_error(refused.text, "template.valid_days") == (
        "请设置领取后有效天数或截止时间，或两者都设（字段 valid_days）")
    created = client.post("/loyalty/coupon-templates", data={
        "csrf_token": token, "name": "八折", "kind": "discount", "value": "80", "valid_until": "2026-02-01"},
        follow_redirects=False)
    assert created.status_code == 303
    assert "八折" in client.get("/loyalty").text
    assert console("store_manager").post("/loyalty/coupon-templates", data={
        "csrf_token": token, "name": "x", "kind": "gift", "value": "1", "valid_days": "3"}).status_code == 403


def test_the_member_page_adjusts_points_issues_and_voids(console, programme, database):
    client = console("admin")
    customer = programme.customer_ids[1]
    page = client.get(f"/loyalty/members/{customer}").text
    assert rows(page, "entry") == ["earn"]
    token = csrf_of(page)
    key = re.search(r'name="idempotency_key" value="([^"]+p)"', page).group(1)
    adjusted = client.post(f"/loyalty/members/{customer}/points", data={
        "csrf_token": token, "points": "-20", "note": "兑换礼品", "idempotency_key": key}, follow_redirects=False)
    twice = client.post(f"/loyalty/members/{customer}/points", data={
        "csrf_token": token, "points": "-20", "note": "兑换礼品", "idempotency_key": key}, follow_redirects=False)
    assert (adjusted.status_code, twice.status_code) == (303, 303)
    refused = client.post(f"/loyalty/members/{customer}/points", data={
        "csrf_token": token, "points": "-1000", "idempotency_key": "other"})
    assert (refused.status_code, field_error(refused.text, "points.points")) == (409, "积分余额不足")
    page = client.get(f"/loyalty/members/{customer}").text
    assert rows(page, "entry") == ["adjust", "earn"]
    assert kpis(page)["balance"] == "68"
    coupon_code = rows(page, "coupon")[0]
    void_id = re.search(r'action="/loyalty/coupons/(\d+)/void"', page).group(1)
    voided = client.post(f"/loyalty/coupons/{void_id}/void", data={"csrf_token": token}, follow_redirects=False)
    assert voided.headers["location"] == f"/loyalty/members/{customer}?notice=void"
    with database.session() as session:
        assert session.scalar(select(Coupon.status).where(Coupon.code == coupon_code)).value == "void"
        assert session.scalar(select(func.count()).select_from(PointsEntry).where(
            PointsEntry.customer_id == customer)) == 2


def test_issuing_from_the_member_page_within_the_limit(console, programme, database):
    client = console("admin")
    customer = programme.customer_ids[5]
    page = client.get(f"/loyalty/members/{customer}").text
    token = csrf_of(page)
    birthday = re.search(r'<option value="(\d+)"[^>]*>生日八五折</option>', page).group(1)
    first = client.post(f"/loyalty/members/{customer}/coupons", data={
        "csrf_token": token, "template_id": birthday, "idempotency_key": "a"}, follow_redirects=False)
    second = client.post(f"/loyalty/members/{customer}/coupons", data={
        "csrf_token": token, "template_id": birthday, "idempotency_key": "b"})
    assert first.status_code == 303
    assert second.status_code == 409 and "该客户已达到每人限领数量" in second.text
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Coupon).where(Coupon.customer_id == customer)) == 1


def test_a_member_outside_the_scope_is_not_found(console, programme):
    other_store_customer = programme.served[programme.staff_ids[2]][0]
    assert console("store_manager").get(f"/loyalty/members/{other_store_customer}").status_code == 404
