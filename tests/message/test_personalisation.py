"""Message templates: placeholders filled per customer from set-based look-ups, refused when unknown;
materials validated; WeCom media ids refreshed before their three-day expiry (against the emulator)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from siyu.content.service import create_material, media_due
from siyu.kit.errors import InvalidInput, NotFound
from siyu.kit.jobs import enqueue
from siyu.message.personalisation import preview, values_for
from siyu.message.service import create_template
from siyu.models import Order, Relation
from siyu.models.message import Material, MessageTemplate
from tests.broadcast.conftest import drain, wired, worker  # noqa: F401
from tests.integrations.wecom.conftest import wecom_emulator, wecom_emulator_factory  # noqa: F401
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401

TEXT = "{customer_name}您好，我是{store}的{staff_name}。您已下单{order_count}次，最近一次{last_order_at}（¥{last_order_amount}）"


def test_placeholders_are_filled_from_the_customers_relation_store_and_orders(database, brand, clock):
    corp = brand[0]
    customer, staff = corp.served[corp.staff_ids[0]][0], corp.staff_ids[0]
    with database.session() as session:
        relation = session.scalars(select(Relation).where(Relation.customer_id == customer)).one()
        relation.remark = "王阿姨"
        session.add(Order(corp_id=corp.corp_id, customer_id=customer, platform="pos", order_no="later",
                          amount=Decimal("120.00"), paid_at=clock.now()))
    with database.session() as session:
        text = preview(session, corp.corp_id, TEXT, customer, now=clock.now())
        walk_in = values_for(session, corp.corp_id, [corp.customer_ids[6]], now=clock.now())[corp.customer_ids[6]]
    assert text == "王阿姨您好，我是甲品牌门店1的导购1。您已下单2次，最近一次2026-01-05（¥120.00）"
    # a walk-in nobody serves: their name and home store, nothing else to say
    assert walk_in == {"customer_name": f"alpha散客{corp.store_ids[0]}", "store": "甲品牌门店1"}


def test_an_unknown_placeholder_or_material_is_refused_and_nothing_is_saved(database, brand):
    corp_a, corp_b = brand
    with database.session() as session:
        with pytest.raises(InvalidInput) as unknown:
            create_template(session, corp_a.corp_id, name="欢迎", text="{nickname}您好", material_ids=[])
        other = create_material(session, corp_b.corp_id, kind="link", title="乙的链接", body={"url": "https://b.example"})
        with pytest.raises(NotFound) as foreign:
            create_template(session, corp_a.corp_id, name="欢迎", text="您好", material_ids=[other.id])
    assert (unknown.value.field, unknown.value.params) == ("text", {"placeholder": "nickname"})
    assert foreign.value.field == "material_ids"
    with database.session() as session:
        assert session.scalars(select(MessageTemplate)).all() == []


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("link", {"url": "ftp://x"}, "body.url"), ("miniprogram", {"appid": "wx1"}, "body.page"),
    ("image", {}, "file"), ("poster", {}, "kind")])
def test_materials_are_validated_field_by_field(database, brand, kind, body, field):
    with database.session() as session, pytest.raises(InvalidInput) as refused:
        create_material(session, brand[0].corp_id, kind=kind, title="素材", body=body)
    assert refused.value.field == field


def test_media_ids_are_refreshed_before_their_three_day_expiry(database, clock, wired, worker):
    with database.session() as session:
        image = create_material(session, wired.corp_id, kind="image", title="海报", body={}, file_name="a.png",
                                content=b"\x89PNG fake image bytes")
        create_material(session, wired.corp_id, kind="link", title="活动页", body={"url": "https://a.example"})
        enqueue(session, "content.refresh_media", {"corp_id": wired.corp_id, "reschedule": False},
                corp_id=wired.corp_id, clock=clock)
    drain(worker)
    with database.session() as session:
        first = session.get(Material, image.id).media_id
    assert first in wired.wecom_corp.media
    # 2 days 11 h later the id is still good for 13 h: not yet due; at 2 days 12 h it is
    clock.advance(timedelta(days=2, hours=11))
    with database.session() as session:
        assert media_due(session, wired.corp_id, now=clock.now()) == []
    clock.advance(timedelta(hours=1))
    with database.session() as session:
        assert [m.id for m in media_due(session, wired.corp_id, now=clock.now())] == [image.id]
        enqueue(session, "content.refresh_media", {"corp_id": wired.corp_id, "reschedule": False},
                corp_id=wired.corp_id, clock=clock)
    drain(worker)
    with database.session() as session:
        second = session.get(Material, image.id)
    assert second.media_id != first and second.media_uploaded_at == clock.now()
    assert len(wired.wecom_corp.media) == 2
