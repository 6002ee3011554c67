"""A small hand-made population for the Customer 360 tests, on top of ``factories.make_brand``.

Corp alpha's customers c0…c7 (c0–c5 served by s1, s1, s2, s2, s3, s3; c6, c7 walk-ins of stores 1
and 2) get distinct creation days, identities of every kind on a few of them, traits, a tag, and
corp beta's first customer holds the same identity values, so a search that leaked across corps
would show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, update

from siyu.models import Customer, CustomerTag, CustomerTrait, Identity, Tag, TagGroup
from tests.factories import BrandFixture

#: c0's identities, one per kind a search must find (the phone is in the factory)
C0_IDENTITIES = {
    "unionid": "oUnion-c0-9f2",
    "openid": "oOpen-c0-mini",
    "taobao_buyer": "tb_fruitlover",
    "jd_pin": "jd_pin_c0",
    "youzan_buyer": "yz-c0",
    "douyin_buyer": "dy-c0",
    "member_no": "M000123",
    "user_id": "app-user-c0",
    "anonymous_id": "anon-device-c0",
}
C0_PHONE = "13900010000"
C4_EXTERNAL_USERID = "wmAlphaC4external"
DAY0 = datetime(2026, 1, 1, 4, tzinfo=UTC)  # 12:00 in Asia/Shanghai


@dataclass(frozen=True)
class People:
    corp: BrandFixture
    other: BrandFixture
    c: list[int]
    tag_id: int


def _trait(corp_id: int, customer_id: int, stage: str | None, rfm: str | None, orders: int, spend: str,
           at: datetime) -> CustomerTrait:
    return CustomerTrait(customer_id=customer_id, corp_id=corp_id, order_count=orders, total_spend=Decimal(spend),
                         average_spend=Decimal(spend) / max(orders, 1), refund_total=Decimal("0"), channels=["pos"],
                         lifecycle_stage=stage, rfm_class=rfm, updated_at=at,
                         last_order_at=at if orders else None, first_order_at=at if orders else None)


def seed_people(database, brand: tuple[BrandFixture, BrandFixture]) -> People:
    corp, other = brand
    c = corp.customer_ids
    with database.session() as session:
        for index, customer_id in enumerate(c):
            # c0 is the oldest (2026-01-01), c7 the newest (2026-01-08)
            session.execute(update(Customer).where(Customer.id == customer_id)
                            .values(created_at=DAY0 + timedelta(days=index)))
        # c0's phone is the same on every database (the factory's depends on the staff id)
        session.execute(update(Customer).where(Customer.id == c[0]).values(phone=C0_PHONE))
        session.execute(update(Identity).where(and_(Identity.customer_id == c[0], Identity.kind == "phone"))
                        .values(value=C0_PHONE))
        for kind, value in C0_IDENTITIES.items():
            session.add(Identity(corp_id=corp.corp_id, customer_id=c[0], kind=kind, value=value))
            # the same values in corp beta, on its first customer
            session.add(Identity(corp_id=other.corp_id, customer_id=other.customer_ids[0], kind=kind, value=value))
        session.add(Identity(corp_id=corp.corp_id, customer_id=c[4], kind="wecom_external_userid",
                             value=C4_EXTERNAL_USERID))
        session.add_all([
            _trait(corp.corp_id, c[0], "active", "important_value", 3, "300.00", DAY0),
            _trait(corp.corp_id, c[1], "dormant", "general_keep", 1, "50.00", DAY0),
            _trait(corp.corp_id, c[2], "lost", "important_retain", 6, "1200.00", DAY0),
            _trait(corp.corp_id, c[4], "active", "general_value", 2, "88.50", DAY0),
        ])
        group = TagGroup(corp_id=corp.corp_id, name="兴趣")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=corp.corp_id, group_id=group.id, name="烘焙", kind="manual")
        session.add(tag)
        session.flush()
        for customer_id in (c[0], c[4], c[7]):
            session.add(CustomerTag(corp_id=corp.corp_id, customer_id=customer_id, tag_id=tag.id, source="manual",
                                    tagged_at=DAY0))
        tag_id = tag.id
    return People(corp, other, list(c), tag_id)
