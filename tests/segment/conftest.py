"""A small hand-made population for segment tests, on top of ``factories.make_brand``.

Corp alpha's customers by label (``make_brand``: c0, c1 served by s1 and c2, c3 by s2 in store 1; c4,
c5 by s3 in store 2; w1, w2 walk-ins of stores 1 and 2 without relations), plus ``m``, merged into
c0, who carries c0-like facts and must never be a member. "now" is 2026-03-01 12:00 UTC (20:00 in
Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from siyu.models import (
    Customer,
    CustomerMerge,
    CustomerTag,
    CustomerTrait,
    Event,
    GroupChat,
    GroupChatMember,
    Identity,
    Order,
    Relation,
    RelationStatus,
    RelationTag,
    Tag,
    TagGroup,
)
from siyu.models.acquisition import ChannelCode
from siyu.models.loyalty import Member, MemberLevel
from siyu.models.policy import Touch
from siyu.segment import rollup
from tests.factories import BrandFixture

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LABELS = ("c0", "c1", "c2", "c3", "c4", "c5", "w1", "w2")


@dataclass
class Population:
    brand: BrandFixture
    other: BrandFixture
    ids: dict[str, int]
    tags: dict[str, int]
    chat_id: int
    level_id: int
    channel_code_id: int

    @property
    def corp_id(self) -> int:
        return self.brand.corp_id

    def labels(self, customer_ids) -> set[str]:
        by_id = {value: key for key, value in self.ids.items()}
        return {by_id.get(customer_id, f"?{customer_id}") for customer_id in customer_ids}


def _trait(corp_id: int, customer_id: int, **values) -> CustomerTrait:
    return CustomerTrait(corp_id=corp_id, customer_id=customer_id, updated_at=NOW, **values)


def _event(corp_id: int, customer_id: int, name: str, at: datetime, number: int, **properties) -> Event:
    return Event(corp_id=corp_id, customer_id=customer_id, message_id=f"m-{customer_id}-{name}-{number}",
                 type="track", name=name, properties=properties, timestamp=at, received_at=at)


def _order(corp_id: int, customer_id: int, number: str, at: datetime, amount: str, category: str, *,
           platform: str = "pos", status: str = "paid", store_id: int | None = None) -> Order:
    return Order(corp_id=corp_id, customer_id=customer_id, platform=platform, shop="t", order_no=number,
                 amount=Decimal(amount), paid_at=at, category=category, status=status, store_id=store_id)


def build_population(session, brand: BrandFixture, other: BrandFixture) -> Population:
    corp = brand.corp_id
    ids = dict(zip(LABELS, brand.customer_ids, strict=True))
    c = ids
    merged = Customer(corp_id=corp, name="merged", city="上海", phone="13900009999", merged_into_id=c["c0"])
    session.add(merged)
    session.flush()
    ids["m"] = merged.id
    session.add(CustomerMerge(corp_id=corp, survivor_id=c["c0"], merged_id=merged.id, reason="manual", moved={},
                              merged_at=NOW - timedelta(days=30)))
    # profile
    for label, city in (("c0", "上海"), ("c1", "杭州"), ("c2", "上海")):
        session.execute(update(Customer).where(Customer.id == c[label]).values(city=city))
    session.execute(update(Customer).where(Customer.id == c["c1"]).values(phone=None))
    session.execute(update(Customer).where(Customer.id == c["c2"]).values(gender="female"))
    # traits
    session.add_all([
        _trait(corp, c["c0"], order_count=5, total_spend=Decimal("600.00"), rfm_class="important_value",
               lifecycle_stage="active", last_order_at=NOW - timedelta(days=5), channels=["pos", "taobao"],
               recency_score=5),
        _trait(corp, c["c1"], order_count=1, total_spend=Decimal("88.50"), rfm_class="general_retain",
               lifecycle_stage="dormant", last_order_at=NOW - timedelta(days=100), channels=["pos"],
               recency_score=1),
        _trait(corp, c["c2"], order_count=0, total_spend=Decimal("0"), lifecycle_stage="prospect", channels=[]),
        _trait(corp, merged.id, order_count=9, total_spend=Decimal("999.00"), rfm_class="important_value",
               lifecycle_stage="active", last_order_at=NOW - timedelta(days=1), channels=["pos"]),
    ])
    # tags: T1 on c0, c2 (and m); T2 on c0; relation tag T3 by s2 on c3
    group = TagGroup(corp_id=corp, name="兴趣")
    session.add(group)
    session.flush()
    tags = {}
    for name in ("T1", "T2", "T3"):
        tag = Tag(corp_id=corp, group_id=group.id, name=name)
        session.add(tag)
        session.flush()
        tags[name] = tag.id
    for label, tag in (("c0", "T1"), ("c2", "T1"), ("m", "T1"), ("c0", "T2")):
        session.add(CustomerTag(corp_id=corp, customer_id=ids[label], tag_id=tags[tag], source="manual",
                                tagged_at=NOW))
    relation_c3 = session.query(Relation).filter_by(customer_id=c["c3"]).one()
    session.add(RelationTag(corp_id=corp, relation_id=relation_c3.id, tag_id=tags["T3"], tagged_at=NOW))
    # relations: c5 deleted s3; c4 came through the contact-way state "spring", 20 days ago
    session.execute(update(Relation).where(Relation.customer_id == c["c5"])
                    .values(status=RelationStatus.deleted_by_customer, ended_at=NOW - timedelta(days=2)))
    session.execute(update(Relation).where(Relation.customer_id == c["c4"])
                    .values(state="spring", added_at=NOW - timedelta(days=20)))
    # events: c0 viewed fruit 3 times this week; c1 viewed vegetables 40 days ago; c2 added to cart
    # today at 20:30 Shanghai (12:30 UTC is still 1 March locally); m viewed fruit yesterday
    session.add_all([
        _event(corp, c["c0"], "view_product", NOW - timedelta(days=1), 1, category="水果", price=30),
        _event(corp, c["c0"], "view_product", NOW - timedelta(days=2), 2, category="水果", price=50),
        _event(corp, c["c0"], "view_product", NOW - timedelta(days=6), 3, category="蔬菜", price=8),
        _event(corp, c["c1"], "view_product", NOW - timedelta(days=40), 4, category="蔬菜", price=6),
        _event(corp, c["c2"], "add_to_cart", NOW - timedelta(minutes=30), 5, category="水果"),
        _event(corp, merged.id, "view_product", NOW - timedelta(days=1), 6, category="水果"),
    ])
    # orders (make_brand gave c0..c5 one 88.50 水果 order at 1 or 2 January, 59/58 days ago)
    session.add_all([
        _order(corp, c["c0"], "x1", NOW - timedelta(days=5), "120.00", "水果", store_id=brand.store_ids[0]),
        _order(corp, c["c0"], "x2", NOW - timedelta(days=3), "99.00", "水果", status="refunded"),
        _order(corp, c["c3"], "x3", NOW - timedelta(days=1), "300.00", "蔬菜", platform="taobao"),
        _order(corp, merged.id, "x4", NOW - timedelta(days=1), "500.00", "水果"),
    ])
    # group chat: c1 is in it, c2 left
    chat = GroupChat(corp_id=corp, chat_id="wr-1", name="水果群")
    session.add(chat)
    session.flush()
    session.add_all([
        GroupChatMember(corp_id=corp, group_chat_id=chat.id, member_userid="wm1", customer_id=c["c1"],
                        joined_at=NOW - timedelta(days=9)),
        GroupChatMember(corp_id=corp, group_chat_id=chat.id, member_userid="wm2", customer_id=c["c2"],
                        joined_at=NOW - timedelta(days=9), left_at=NOW - timedelta(days=1)),
    ])
    session.add(Identity(corp_id=corp, customer_id=c["c0"], kind="unionid", value="union-c0"))
    # touches: c0 got a broadcast 2 days ago; c1's was blocked yesterday; c2's was 10 days ago
    for label, status, days in (("c0", "sent", 2), ("c1", "blocked", 1), ("c2", "sent", 10)):
        session.add(Touch(corp_id=corp, customer_id=ids[label], channel="broadcast", priority="marketing",
                          status=status, occurred_at=NOW - timedelta(days=days), created_at=NOW, updated_at=NOW))
    level = MemberLevel(corp_id=corp, name="金卡", rank=2)
    session.add(level)
    session.flush()
    session.add(Member(corp_id=corp, customer_id=c["c1"], member_no="M1", level_id=level.id,
                       joined_at=NOW - timedelta(days=60)))
    code = ChannelCode(corp_id=corp, name="春季活码", state="spring")
    session.add(code)
    session.flush()
    # corp B's customers carry the same tag names, cities and orders: none may ever show up
    session.execute(update(Customer).where(Customer.corp_id == other.corp_id).values(city="上海"))
    session.flush()
    rollup.rebuild(session, corp, None)
    return Population(brand, other, ids, tags, chat.id, level.id, code.id)


@pytest.fixture
def population(database, brand, clock) -> Population:
    clock.set(NOW)
    with database.session() as session:
        return build_population(session, *brand)


def local_date(days_ago: int) -> date:
    return (NOW + timedelta(hours=8)).date() - timedelta(days=days_ago)
