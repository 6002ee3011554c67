"""The Customer 360 profile: every section of a rich customer through the API and the console,
merged-away ids resolving to the survivor, paginated orders and events, the order scope of a store
manager, and profiles outside the caller's scope not existing for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.identity import merge as merging
from siyu.models import Customer, Event, GroupChat, GroupChatMember, Identity, Order, Relation, RelationTag
from siyu.models.customer import RelationStatus
from siyu.models.policy import Touch
from siyu.models.tag import TagHistory
from tests.auth.bearer import bearer
from tests.console.conftest import rows
from tests.customer.customer_360_people import DAY0, People, seed_people
from tests.factories import login

API = "/api/v1/customers"


@dataclass(frozen=True)
class Rich:
    people: People
    customer_id: int
    merged_id: int
    merge_id: int
    #: orders in store 2 (the store-1 manager must not see them)
    store_2_orders: int
    event_ids: list[int]


def seed_rich(database, clock, people: People) -> Rich:
    """c0 with two relations (one deleted by the customer), relation and customer tags with history,
    14 orders in two stores, 25 events, touches, a group chat and a merge that brought an openid,
    an order and an event."""
    corp = people.corp
    c0 = people.c[0]
    s1, s2, _ = corp.staff_ids
    store_1, store_2 = corp.store_ids
    with database.session() as session:
        relation = session.scalars(select(Relation).where(Relation.customer_id == c0)).one()
        relation.add_way, relation.state, relation.remark = 1, "store-qr-1", "爱吃榴莲"
        session.add(Relation(corp_id=corp.corp_id, staff_id=s2, customer_id=c0, add_way=16, state="live_room",
                             status=RelationStatus.deleted_by_customer, added_at=DAY0 + timedelta(days=2),
                             ended_at=DAY0 + timedelta(days=9)))
        session.add(RelationTag(corp_id=corp.corp_id, relation_id=relation.id, tag_id=people.tag_id, tagged_at=DAY0))
        session.add_all([
            TagHistory(corp_id=corp.corp_id, customer_id=c0, tag_id=people.tag_id, action="add", source="manual",
                       staff_id=s1, at=DAY0 + timedelta(hours=1)),
            TagHistory(corp_id=corp.corp_id, customer_id=c0, tag_id=people.tag_id, action="remove", source="manual",
                       staff_id=s1, at=DAY0 + timedelta(hours=2)),
            TagHistory(corp_id=corp.corp_id, customer_id=c0, tag_id=people.tag_id, action="add", source="wecom",
                       at=DAY0 + timedelta(hours=3)),
        ])
        for n in range(13):
            store = store_1 if n < 9 else store_2
            session.add(Order(corp_id=corp.corp_id, customer_id=c0, platform="pos", shop="alpha", order_no=f"rich-{n}",
                              store_id=store, staff_id=s1, amount=Decimal("100.00"), category="水果",
                              paid_at=DAY0 - timedelta(days=30 * n)))
        events = [Event(corp_id=corp.corp_id, customer_id=c0, message_id=f"m-{n}", type="track",
                        name="Product Viewed" if n % 2 else "Order Completed", properties={"sku": f"sku-{n}"},
                        timestamp=DAY0 + timedelta(minutes=n), received_at=DAY0 + timedelta(minutes=n))
                  for n in range(25)]
        session.add_all(events)
        chat = GroupChat(corp_id=corp.corp_id, chat_id="wrChatRich", name="榴莲爱好者群", owner_staff_id=s1)
        session.add(chat)
        session.flush()
        session.add(GroupChatMember(corp_id=corp.corp_id, group_chat_id=chat.id, member_userid="wmRich",
                                    customer_id=c0, joined_at=DAY0))
        for n, status in enumerate(("sent", "blocked", "deferred")):
            session.add(Touch(corp_id=corp.corp_id, customer_id=c0, staff_id=s1, channel="broadcast",
                              priority="marketing", status=status, rule="marketing_cap" if status != "sent" else None,
                              source_kind="broadcast", source_id=str(n), occurred_at=DAY0 + timedelta(days=n),
                              created_at=DAY0, updated_at=DAY0))
        # the person who is merged in: a second record with an openid, an order and an event
        other = Customer(corp_id=corp.corp_id, name="旧档案", home_store_id=store_1)
        session.add(other)
        session.flush()
        session.add(Identity(corp_id=corp.corp_id, customer_id=other.id, kind="openid", value="oOpen-old-record"))
        session.add(Order(corp_id=corp.corp_id, customer_id=other.id, platform="taobao", shop="tmall", order_no="old-1",
                          store_id=store_1, amount=Decimal("59.00"), paid_at=DAY0 - timedelta(days=400)))
        session.add(Event(corp_id=corp.corp_id, customer_id=other.id, message_id="old-event", type="page",
                          name="Home", properties={}, timestamp=DAY0, received_at=DAY0 - timedelta(days=1)))
        session.flush()
        [merge_id] = merging.merge_customers(
            session, corp.corp_id, [merging.MergeRequest(c0, other.id, kind="phone", value="13900010000")],
            reason="identity:phone", clock=clock, refresh_traits=False)
        event_ids = list(session.scalars(select(Event.id).where(Event.customer_id == c0)
                                         .order_by(Event.timestamp.desc(), Event.id.desc())))
        return Rich(people, c0, other.id, merge_id, 4, event_ids)


@pytest.fixture
def rich(database, brand, clock) -> Rich:
    return seed_rich(database, clock, seed_people(database, brand))


def test_the_profile_shows_every_section(client, database, rich):
    corp = rich.people.corp
    headers = bearer(database, corp.users["admin"])

    profile = client.get(f"{API}/{rich.customer_id}/profile", headers=headers).json()

    assert profile["customer"]["id"] == rich.customer_id and profile["merged_from_customer"] is None
    assert profile["home_store"] == "甲品牌门店1"
    identities = {(i["kind"], i["value"]): i for i in profile["identities"]}
    assert identities[("openid", "oOpen-old-record")]["source"] == "merge"
    assert identities[("openid", "oOpen-old-record")]["merged_from_customer"] == rich.merged_id
    assert identities[("unionid", "oUnion-c0-9f2")]["source"] == "wecom"
    assert identities[("taobao_buyer", "tb_fruitlover")]["source"] == "order"
    assert identities[("phone", "13900010000")]["source"] is None
    assert len(profile["identities"]) == 11
    relations = [(r["staff_userid"], r["status"], r["add_way_label"], r["state"], r["remark"], r["tags"])
                 for r in profile["relations"]]
    assert relations == [("alpha-s1", "active", "扫描二维码", "store-qr-1", "爱吃榴莲", ["烘焙"]),
                         ("alpha-s2", "deleted_by_customer", "获客链接", "live_room", None, [])]
    assert profile["relations"][1]["status_label"] == "客户已删除员工"
    assert profile["relations"][1]["ended_at"].startswith("2026-01-10")
    assert [(t["group"], t["name"]) for t in profile["tags"]] == [("兴趣", "烘焙")]
    assert [(h["action"], h["source"], h["staff"]) for h in profile["tag_history"]] == [
        ("add", "wecom", None), ("remove", "manual", "导购1"), ("add", "manual", "导购1")]
    assert profile["traits"]["lifecycle_stage_label"] == "活跃客户"
    assert profile["traits"]["rfm_class"] == "important_value"
    assert (profile["touches_available"], profile["touch_count"]) == (True, 3)
    assert [t["status"] for t in profile["touches"]] == ["deferred", "blocked", "sent"]
    assert [(g["name"], g["owner"]) for g in profile["groups"]] == [("榴莲爱好者群", "导购1")]
    [merge] = profile["merges"]
    assert (merge["id"], merge["role"], merge["other_customer"], merge["reason"]) == \
        (rich.merge_id, "absorbed", rich.merged_id, "identity:phone")
    assert merge["moved"]["identity"] == 1 and merge["moved"]["customer_order"] == 1
    assert merge["undo_url"] == f"/api/v1/customers/{rich.customer_id}/merges/{rich.merge_id}/undo"
    # 15 orders (factory, 13 here, one merged in), the first page of 20 holds them all
    assert len(profile["orders"]) == 15 and profile["orders_next_cursor"] is None
    # spend per month from the first purchase (the merged-in one, 2024-11) to the last (2026-01)
    spend = [(m["month"], m["spend"]) for m in profile["spend_by_month"]]
    assert len(spend) == 15
    assert spend[0] == ("2024-11", "59.00") and spend[1] == ("2024-12", "0.00")
    assert spend[-1] == ("2026-01", "188.50")
    assert [e["id"] for e in profile["events"]] == rich.event_ids[:20]


def test_events_and_orders_come_in_pages_newest_first(client, database, rich):
    headers = bearer(database, rich.people.corp.users["admin"])

    first = client.get(f"{API}/{rich.customer_id}/events", params={"limit": 10}, headers=headers).json()
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = client.get(f"{API}/{rich.customer_id}/events", params={"limit": 10, "cursor": cursor},
                          headers=headers).json()
        rest += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
    orders = client.get(f"{API}/{rich.customer_id}/profile/orders", params={"limit": 5}, headers=headers).json()

    assert [e["id"] for e in first["items"]] + rest == rich.event_ids
    assert len(rich.event_ids) == 26
    # by the events' own time: the latest track first; the merged-in page view (the same time as the
    # first track, a later id) second to last, though it was received a day earlier
    assert [e["name"] for e in first["items"][:2]] == ["Order Completed", "Product Viewed"]
    with database.session() as session:
        assert session.get(Event, rich.event_ids[-2]).message_id == "old-event"
    # orders by payment time: the five latest payments
    assert [o["order_no"] for o in orders["items"]] == ["rich-0", f"alpha-{rich.customer_id}", "rich-1", "rich-2",
                                                        "rich-3"]
    assert orders["next_cursor"] is not None


def test_a_merged_away_id_resolves_to_the_survivor(client, database, rich):
    headers = bearer(database, rich.people.corp.users["admin"])

    profile = client.get(f"{API}/{rich.merged_id}/profile", headers=headers).json()
    events = client.get(f"{API}/{rich.merged_id}/events", params={"limit": 500}, headers=headers).json()

    assert profile["customer"]["id"] == rich.customer_id
    assert profile["merged_from_customer"] == rich.merged_id
    assert [e["id"] for e in events["items"]] == rich.event_ids


def test_console_redirects_a_merged_id_and_can_undo_the_merge(app, database, rich):
    with TestClient(app) as console:
        assert login(console, rich.people.corp, "admin").status_code == 303
        redirected = console.get(f"/customers/{rich.merged_id}", follow_redirects=False)
        page = console.get(redirected.headers["location"])
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        undone = console.post(f"/customers/{rich.customer_id}/merges/{rich.merge_id}/undo",
                              data={"csrf_token": csrf}, follow_redirects=False)
        after = console.get(undone.headers["location"])
        split_off = console.get(f"/customers/{rich.merged_id}", follow_redirects=False)

    assert redirected.status_code == 303
    assert redirected.headers["location"] == f"/customers/{rich.customer_id}?merged_from={rich.merged_id}"
    assert f'data-merged-from="{rich.merged_id}"' in page.text
    for section in ("overview", "traits", "identities", "relations", "tags", "groups", "orders", "events",
                    "touches", "merges"):
        assert f'id="{section}"' in page.text, section
    assert rows(page.text, "relation") == ["alpha-s1", "alpha-s2"]
    assert 'data-action="undo-merge"' in page.text
    assert 'id="spend-chart"' in page.text
    assert undone.status_code == 303
    assert "data-action=\"undo-merge\"" not in after.text
    assert "oOpen-old-record" not in after.text
    assert split_off.status_code == 200  # a customer of its own again
    with database.session() as session:
        assert session.get(Customer, rich.merged_id).merged_into_id is None


def test_a_store_manager_sees_the_profile_with_only_their_stores_orders(client, database, rich):
    headers = bearer(database, rich.people.corp.users["store_manager"])

    profile = client.get(f"{API}/{rich.customer_id}/profile", headers=headers).json()
    orders = client.get(f"{API}/{rich.customer_id}/profile/orders", params={"limit": 100}, headers=headers).json()

    # 15 orders in all, 4 of them in store 2
    assert len(profile["orders"]) == 11
    assert len(orders["items"]) == 11


def test_profiles_outside_the_scope_do_not_exist_for_the_caller(client, database, rich):
    people = rich.people
    staff = bearer(database, people.corp.users["staff"])  # s3: serves c4 and c5
    manager = bearer(database, people.corp.users["store_manager"])  # store 1
    other_corp = bearer(database, people.other.users["admin"])

    refused = [
        client.get(f"{API}/{rich.customer_id}/profile", headers=staff),
        client.get(f"{API}/{rich.customer_id}/events", headers=staff),
        client.get(f"{API}/{rich.customer_id}/profile/orders", headers=staff),
        client.get(f"{API}/{rich.merged_id}/profile", headers=staff),
        client.get(f"{API}/{people.c[4]}/profile", headers=manager),
        client.get(f"{API}/{rich.customer_id}/profile", headers=other_corp),
        client.get(f"{API}/{rich.merged_id}/profile", headers=other_corp),
    ]

    assert [r.status_code for r in refused] == [404] * 7
    assert all(r.json()["error"]["code"] == "not_found" for r in refused)
    assert all("oUnion" not in r.text and "榴莲" not in r.text for r in refused)
    assert client.get(f"{API}/{people.c[4]}/profile", headers=staff).status_code == 200


def test_a_profile_without_traits_touches_or_merges_says_so(app, database, brand):
    people = seed_people(database, brand)
    with TestClient(app) as console:
        assert login(console, people.corp, "admin").status_code == 303
        page = console.get(f"/customers/{people.c[6]}").text
    assert "该客户还没有订单，暂无特征数据。" in page
    assert "还没有触达过该客户" in page
    assert "没有合并记录" in page
    assert "还没有员工添加该客户" in page
    assert 'id="spend-chart"' not in page


@pytest.mark.parametrize("cursor", ["garbage", "eyJpZCI6IDd9"])  # the second is an id-only cursor
def test_a_timeline_cursor_that_is_not_ours_is_refused(client, database, rich, cursor):
    headers = bearer(database, rich.people.corp.users["admin"])
    response = client.get(f"{API}/{rich.customer_id}/events", params={"cursor": cursor}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


def test_without_the_touch_ledger_the_section_says_so(app, client, database, brand, monkeypatch):
    # given a build without the contact-policy domain (no touch model)
    from siyu.customer import profile_repository

    monkeypatch.setattr(profile_repository, "Touch", None)
    people = seed_people(database, brand)
    headers = bearer(database, people.corp.users["admin"])

    profile = client.get(f"{API}/{people.c[0]}/profile", headers=headers).json()
    with TestClient(app) as console:
        assert login(console, people.corp, "admin").status_code == 303
        page = console.get(f"/customers/{people.c[0]}").text

    assert (profile["touches_available"], profile["touch_count"], profile["touches"]) == (False, 0, [])
    assert "触达记录由联系策略模块提供，当前尚未启用。" in page
    assert 'data-table="touches"' not in page
