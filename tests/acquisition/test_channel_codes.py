"""Channel codes without WeCom in the loop: input checks in the operator's language, tenancy, caps that
reset the next day, expiry of temporary codes, per-code statistics and the package-card funnel."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import siyu.acquisition.tasks  # noqa: F401 — registers the add hook
from siyu.acquisition import service, stats
from siyu.customer import contacts
from siyu.models import ChannelCode, OutboxMessage, Relation, RelationStatus, Staff
from siyu.models.order import Order
from tests.factories import api_token


@pytest.fixture
def admin(client, brand):
    return api_token(client, brand[0], "admin")


def _create(client, headers, **body):
    return client.post("/api/v1/channel-codes", headers=headers, json=body)


def _staff(database, corp_id: int) -> list[Staff]:
    with database.session() as session:
        return list(session.scalars(select(Staff).where(Staff.corp_id == corp_id).order_by(Staff.id)))


def _add(database, clock, corp_id: int, code_state: str, userid: str, external_userid: str):
    with database.session() as session:
        return contacts.record_customer_added(session, corp_id, userid=userid, external_userid=external_userid,
                                              added_at=clock.now(), state=code_state)


def _outbox(database, operation: str) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.operation == operation))


@pytest.mark.parametrize(("body", "field", "zh", "en"), [
    ({"name": "门店码", "members": [{"staff_id": 99999}]}, "members[0].staff_id", "员工不存在或已离职（字段 members[0].staff_id）",
     "This staff member does not exist or has left (field members[0].staff_id)"),
    ({"name": "门店码", "members": []}, "members", "至少选择一名员工（字段 members）",
     "Choose at least one staff member (field members)"),
    ({"name": "包裹卡", "kind": "package_card", "members": [{"staff_id": 0}]}, "platform",
     "包裹卡需要填写平台（字段 platform）", "A package card needs a platform (field platform)"),
])
def test_bad_input_is_refused_naming_the_field_in_the_operators_language(client, admin, brand, database, body, field,
                                                                       zh, en):
    staff_id = _staff(database, brand[0].corp_id)[0].id
    for member in body["members"]:
        member["staff_id"] = member["staff_id"] or staff_id
    refused_zh = _create(client, admin, **body)
    refused_en = client.post("/api/v1/channel-codes", headers={**admin, "Accept-Language": "en"}, json=body)
    assert (refused_zh.status_code, refused_zh.json()["error"]["field"], refused_zh.json()["error"]["message"]) == (
        422, field, zh)
    assert refused_en.json()["error"]["message"] == en
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelCode)) == 0
    assert _outbox(database, "add_contact_way") == 0


def test_a_code_of_one_corp_is_invisible_to_another(client, admin, brand, database):
    staff_id = _staff(database, brand[0].corp_id)[0].id
    code = _create(client, admin, name="门店码", members=[{"staff_id": staff_id}]).json()
    other = api_token(client, brand[1], "admin")
    assert client.get(f"/api/v1/channel-codes/{code['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/channel-codes", headers=other).json() == []
    # A staff member of corp A cannot be put on corp B's code
    refused = _create(client, other, name="借用", members=[{"staff_id": staff_id}])
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "members[0].staff_id")


def test_a_member_at_the_cap_is_back_in_rotation_the_next_day(client, admin, brand, database, clock):
    corp_id = brand[0].corp_id
    first, second = _staff(database, corp_id)[:2]
    code = _create(client, admin, name="门店码", daily_cap=1,
                   members=[{"staff_id": first.id}, {"staff_id": second.id}]).json()
    assert code["rotation"] == [first.userid, second.userid]
    with database.session() as session:  # WeCom created the way
        session.get(ChannelCode, code["id"]).config_id = "cfg-1"
        session.get(ChannelCode, code["id"]).status = "active"
    # When the first member takes their one customer of the day
    _add(database, clock, corp_id, code["state"], first.userid, "wmAAAA")
    detail = client.get(f"/api/v1/channel-codes/{code['id']}", headers=admin).json()
    assert detail["rotation"] == [second.userid]
    assert [(m["userid"], m["adds_today"]) for m in detail["members"]] == [(first.userid, 1), (second.userid, 0)]
    assert _outbox(database, "update_contact_way") == 1
    # Then the next day's tick puts them back
    clock.advance(timedelta(days=1))
    with database.session() as session:
        outcome = service.rotation_tick(session, clock)
    assert outcome == {"expired": 0, "rotations_changed": 1, "group_codes_refreshed": 0}
    assert client.get(f"/api/v1/channel-codes/{code['id']}", headers=admin).json()["rotation"] == [
        first.userid, second.userid]
    assert _outbox(database, "update_contact_way") == 2


def test_a_temporary_code_expires_and_is_deleted_in_wecom(client, admin, brand, database, clock):
    staff = _staff(database, brand[0].corp_id)[0]
    expires = (clock.now() + timedelta(hours=1)).isoformat()
    code = _create(client, admin, name="快闪活动码", expires_at=expires, members=[{"staff_id": staff.id}]).json()
    clock.advance(timedelta(minutes=30))
    with database.session() as session:
        assert service.rotation_tick(session, clock)["expired"] == 0
    clock.advance(timedelta(minutes=31))
    with database.session() as session:
        assert service.rotation_tick(session, clock)["expired"] == 1
    assert client.get(f"/api/v1/channel-codes/{code['id']}", headers=admin).json()["status"] == "expired"
    assert _outbox(database, "del_contact_way") == 1


def test_statistics_per_day_per_staff_retention_and_attributed_sales(client, admin, brand, database, clock):
    corp_id = brand[0].corp_id
    first, second = _staff(database, corp_id)[:2]
    code = _create(client, admin, name="门店码", members=[{"staff_id": first.id}, {"staff_id": second.id}]).json()
    # Given three customers over two days; one deletes the member three days later
    a = _add(database, clock, corp_id, code["state"], first.userid, "wmA")
    b = _add(database, clock, corp_id, code["state"], second.userid, "wmB")
    clock.advance(timedelta(days=1))
    c = _add(database, clock, corp_id, code["state"], first.userid, "wmC")
    with database.session() as session:
        relation = session.get(Relation, b.relation_id)
        relation.status, relation.ended_at = RelationStatus.deleted_by_customer, relation.added_at + timedelta(days=3)
        # an order before the add is not attributed, two after are
        session.add_all([
            Order(corp_id=corp_id, customer_id=a.customer_id, platform="pos", order_no="before",
                  amount=Decimal("50"), paid_at=a.added_at - timedelta(days=1)),
            Order(corp_id=corp_id, customer_id=a.customer_id, platform="pos", order_no="after-1",
                  amount=Decimal("120"), paid_at=a.added_at + timedelta(days=2)),
            Order(corp_id=corp_id, customer_id=c.customer_id, platform="pos", order_no="after-2",
                  amount=Decimal("80.5"), paid_at=c.added_at + timedelta(hours=1))])
    clock.advance(timedelta(days=7))
    found = client.get(f"/api/v1/channel-codes/{code['id']}/statistics", headers=admin).json()
    assert found["total_adds"] == 3
    assert [d["adds"] for d in found["adds_per_day"][-9:]] == [2, 1, 0, 0, 0, 0, 0, 0, 0]
    assert [(s["name"], s["adds"]) for s in found["adds_per_staff"]] == [(first.name, 2), (second.name, 1)]
    assert [(r["days"], r["eligible"], r["retained"]) for r in found["retention"]] == [(7, 3, 2), (30, 0, 0)]
    assert (found["orders"], Decimal(found["sales"])) == (2, Decimal("200.50"))


def test_package_card_add_rate_and_cost_per_added_customer(client, admin, brand, database, clock):
    corp_id = brand[0].corp_id
    staff = _staff(database, corp_id)[0]
    card = _create(client, admin, name="天猫包裹卡", kind="package_card", platform="tmall", shop="旗舰店",
                   card_cost="0.30", members=[{"staff_id": staff.id}]).json()
    with database.session() as session:
        for index in range(10):  # ten parcels shipped from the shop, one from another platform
            session.add(Order(corp_id=corp_id, platform="tmall", shop="旗舰店", order_no=f"T{index}",
                              amount=Decimal("10"), paid_at=clock.now(), shipped_at=clock.now()))
        session.add(Order(corp_id=corp_id, platform="jd", shop="京东店", order_no="J1", amount=Decimal("10"),
                          paid_at=clock.now(), shipped_at=clock.now()))
    for external_userid in ("wm1", "wm2"):
        _add(database, clock, corp_id, card["state"], staff.userid, external_userid)
    with database.session() as session:
        funnel = stats.package_card_funnel(session, corp_id, clock.now() - timedelta(days=1),
                                           clock.now() + timedelta(days=1))
    assert [(f.platform, f.added, f.shipped, f.add_rate, f.card_cost, f.cost_per_added) for f in funnel] == [
        ("tmall", 2, 10, 0.2, Decimal("3.00"), Decimal("1.50"))]


def test_a_welcome_the_contact_policy_refuses_is_not_queued(client, admin, brand, database, clock):
    import dataclasses

    from siyu.acquisition import welcome
    from siyu.models import ChannelCodeAdd, Touch

    corp_id = brand[0].corp_id
    staff = _staff(database, corp_id)[0]
    code = _create(client, admin, name="门店码", welcome_text="欢迎！", members=[{"staff_id": staff.id}]).json()
    # Given a customer greeted when they arrived
    with database.session() as session:
        added = contacts.record_customer_added(session, corp_id, userid=staff.userid, external_userid="wmGone",
                                               added_at=clock.now(), state=code["state"], welcome_code="code-1")
    assert _outbox(database, "send_welcome_msg") == 1
    # When they deleted the member and a welcome for that relation is asked for again
    with database.session() as session:
        relation = session.get(Relation, added.relation_id)
        relation.status, relation.ended_at = RelationStatus.deleted_by_customer, clock.now()
        session.flush()
        add_id = session.scalar(select(ChannelCodeAdd.id))
        outcome = welcome.send(session, session.get(ChannelCode, code["id"]),
                               dataclasses.replace(added, welcome_code="code-2"), add_id=add_id, clock=clock)
        touches = [(t.status, t.rule) for t in session.scalars(select(Touch).order_by(Touch.id))]
    # Then the policy blocked it and nothing went to the outbox
    assert outcome == "blocked"
    assert [(str(status), str(rule)) for status, rule in touches] == [("allowed", "None"),
                                                                     ("blocked", "contact_deleted")]
    assert _outbox(database, "send_welcome_msg") == 1


def test_deleting_a_code_removes_its_way_once_and_only_in_its_corp(client, admin, brand, database):
    staff = _staff(database, brand[0].corp_id)[0]
    code = _create(client, admin, name="旧活动码", members=[{"staff_id": staff.id}]).json()
    other = api_token(client, brand[1], "admin")
    assert client.delete(f"/api/v1/channel-codes/{code['id']}", headers=other).status_code == 404
    assert _outbox(database, "del_contact_way") == 0
    assert client.delete(f"/api/v1/channel-codes/{code['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/channel-codes/{code['id']}", headers=admin).status_code == 404
    assert _outbox(database, "del_contact_way") == 1
