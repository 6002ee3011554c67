"""Console pages of channel codes and groups: rendered in zh-CN and en from real rows, the create form
refusing bad input next to its field, and — in Debian's chromium — the charts drawn (screenshots in
test-output/screenshots/)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import siyu.acquisition.tasks  # noqa: F401 — registers the add hook
from siyu.customer import contacts
from siyu.group import service as group_service
from siyu.models import ChannelCode, ChannelCodeDay, ChannelCodeMember, Identity, Order, Relation, RelationStatus, Staff
from tests.console.conftest import chromium, console, csrf_of, live_server, page, seeded  # noqa: F401
from tests.factories import PASSWORD


@pytest.fixture
def codes(database, brand, clock):
    """Two live codes of corp alpha: 14 days of adds, three real customers today (one ordered), a group
    of them, and a customer who deleted their staff member."""
    corp_id = brand[0].corp_id
    with database.session() as session:
        staff = list(session.scalars(select(Staff).where(Staff.corp_id == corp_id).order_by(Staff.id)))
        made = []
        for name, kind, platform, weights in (("门店海报码", "channel", None, (3, 2, 1)),
                                              ("天猫包裹卡", "package_card", "tmall", (1, 1, 1))):
            code = ChannelCode(corp_id=corp_id, name=name, kind=kind, platform=platform, state=f"cc{len(made)}",
                               status="active", config_id=f"cfg{len(made)}", routing="weighted",
                               qr_code=f"https://work.weixin.qq.com/ca/cawcde{len(made)}", rotation=[staff[0].userid],
                               tag_ids=[], welcome_attachments=[], card_cost=Decimal("0.30") if platform else None)
            session.add(code)
            session.flush()
            for member, weight in zip(staff, weights, strict=True):
                session.add(ChannelCodeMember(corp_id=corp_id, channel_code_id=code.id, staff_id=member.id,
                                              weight=weight))
            today = clock.now().astimezone().date()
            for back in range(1, 14):
                session.add(ChannelCodeDay(corp_id=corp_id, channel_code_id=code.id, staff_id=staff[back % 3].id,
                                           day=today - timedelta(days=back), adds=(back * 7 + len(made) * 5) % 11 + 2))
            made.append(code)
        session.flush()
        states = [code.state for code in made]
    added = []
    for index, external_userid in enumerate(("wmConsoleA", "wmConsoleB", "wmConsoleC")):
        with database.session() as session:
            added.append(contacts.record_customer_added(
                session, corp_id, userid=staff[index].userid, external_userid=external_userid,
                added_at=clock.now(), state=states[index % 2]))
    with database.session() as session:
        session.add(Order(corp_id=corp_id, customer_id=added[0].customer_id, platform="tmall", order_no="T-1",
                          amount=Decimal("399"), paid_at=clock.now() + timedelta(minutes=5)))
        for customer_id, amount in zip(brand[0].customer_ids[:5], (2600, 900, 180, 60, 30), strict=True):
            session.add(Order(corp_id=corp_id, customer_id=customer_id, platform="jd", order_no=f"G-{customer_id}",
                              amount=Decimal(amount), paid_at=clock.now() - timedelta(days=1)))
        ids = [f"wm{customer_id}" for customer_id in brand[0].customer_ids[:5]]
        for customer_id, value in zip(brand[0].customer_ids[:5], ids, strict=True):
            if session.scalar(select(func.count()).select_from(Identity).where(Identity.value == value)) == 0:
                session.add(Identity(corp_id=corp_id, customer_id=customer_id, kind="wecom_external_userid",
                                     value=value))
        session.flush()
        group_service.record_members_joined(session, corp_id, "wrConsole", ids, 3, clock.now() - timedelta(days=2))
        group_service.record_group_created(session, corp_id, "wrConsole", clock.now()).name = "VIP用户核心群"
        relation = session.get(Relation, added[1].relation_id)
        relation.status, relation.ended_at = RelationStatus.deleted_by_customer, clock.now()
    return {"ids": [code.id for code in made]}


def test_the_channel_code_pages_in_both_languages(console, codes):
    admin = console("admin")
    index = admin.get("/channel-codes")
    assert index.status_code == 200
    assert re.search(r'data-kpi="today">.*?kpi-value">3<', index.text, re.S)
    assert "门店海报码" in index.text and "包裹卡加粉漏斗" in index.text
    detail = admin.get(f"/channel-codes/{codes['ids'][0]}")
    assert detail.status_code == 200 and "7 天留存" in detail.text
    groups = admin.get("/groups")
    assert "VIP用户核心群" in groups.text and "客户删除员工" in groups.text
    english = admin.get("/lang/en?next=/channel-codes")
    assert "Package-card funnel" in english.text and "customer deleted staff" in admin.get("/groups").text


def test_the_create_form_shows_a_refusal_next_to_its_field_and_creates_nothing(console, codes, database):
    admin = console("admin")
    html = admin.get("/channel-codes").text
    refused = admin.post("/channel-codes", data={"csrf_token": csrf_of(html), "name": "新码", "routing": "weighted",
                                                 "daily_cap": "300", "kind": "channel"})
    assert refused.status_code == 422
    assert re.search(r'data-field="code.members".*?field-error" role="alert">至少选择一名员工', refused.text, re.S)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelCode)) == 2
    staff_id = re.search(r'name="member" value="(\d+)"', html).group(1)
    created = admin.post("/channel-codes", data={"csrf_token": csrf_of(html), "name": "新码", "routing": "weighted",
                                                 "daily_cap": "300", "kind": "channel", "member": staff_id,
                                                 f"weight_{staff_id}": "2"}, follow_redirects=False)
    assert created.status_code == 303
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelCode)) == 3


@pytest.mark.browser
def test_the_pages_draw_their_charts_in_chromium(page, codes, seeded, output_dir):  # noqa: F811
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.goto("/login")
    page.fill("input[name=username]", seeded[0].login("admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    for path, chart, name in (("/channel-codes", "#chart-adds", "channel-codes"),
                              (f"/channel-codes/{codes['ids'][0]}", "#chart-daily", "channel-code-detail"),
                              ("/groups", "#chart-pareto", "groups"),
                              ("/lang/en?next=/channel-codes", "#chart-adds", "channel-codes-en")):
        page.goto(path)
        page.wait_for_selector(f"{chart}[data-rendered=true]")
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert page.locator("[data-kpi=today] .kpi-value").inner_text() == "3"
