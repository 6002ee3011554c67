"""The Customer 360 in Debian's chromium: the list with filters (htmx swaps the results), a search
by identity, the export download, and a rich profile with its spend chart and paged timeline.
Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from siyu.models import Customer, CustomerTag, CustomerTrait, Identity
from tests.console.conftest import chromium, live_server, page, seeded  # noqa: F401
from tests.customer.customer_360_people import C0_IDENTITIES, DAY0, seed_people
from tests.customer.test_customer_360_profile import seed_rich
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄婷", "周杰", "吴霞", "徐丽", "孙浩")
STAGES = (("active", "important_value", 8, "2380.00"), ("new", "general_develop", 1, "129.00"),
          ("dormant", "important_keep", 5, "960.00"), ("lost", "general_retain", 2, "188.00"))


def _more_customers(database, people) -> None:
    """A dozen named customers with traits, so the list looks like a store's."""
    corp = people.corp
    with database.session() as session:
        for n, name in enumerate(NAMES):
            customer = Customer(corp_id=corp.corp_id, name=name, phone=f"1371234{n:04d}", city="杭州",
                                home_store_id=corp.store_ids[n % 2], created_at=DAY0 + timedelta(days=10 + n))
            session.add(customer)
            session.flush()
            session.add(Identity(corp_id=corp.corp_id, customer_id=customer.id, kind="phone", value=customer.phone))
            stage, rfm, orders, spend = STAGES[n % 4]
            session.add(CustomerTrait(customer_id=customer.id, corp_id=corp.corp_id, order_count=orders,
                                      total_spend=Decimal(spend), average_spend=Decimal(spend) / orders,
                                      refund_total=Decimal(0), channels=["pos"], lifecycle_stage=stage,
                                      rfm_class=rfm, updated_at=DAY0, last_order_at=DAY0 + timedelta(days=n)))
            if n % 3 == 0:
                session.add(CustomerTag(corp_id=corp.corp_id, customer_id=customer.id, tag_id=people.tag_id,
                                        source="manual", tagged_at=DAY0))


def test_the_customer_360_in_the_browser(page, seeded, database, clock, output_dir, tmp_path):  # noqa: F811
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    people = seed_people(database, seeded)
    rich = seed_rich(database, clock, people)
    _more_customers(database, people)

    # given the admin on the customer list
    page.goto("/login")
    page.fill("input[name=username]", people.corp.login("admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/customers")
    expect(page.locator("h1")).to_have_text("客户")
    expect(page.locator("tr[data-customer]")).to_have_count(20)
    page.screenshot(path=str(folder / "customer-list.png"), full_page=True)

    # when they filter active customers with the tag (htmx swaps only the results)
    page.select_option("select[name=lifecycle_stage]", "active")
    page.select_option("select[name=tag_id]", str(people.tag_id))
    page.click("[data-action=search]")
    expect(page.locator("[data-count=total]")).to_have_text("3")
    expect(page.locator("tr[data-customer]")).to_have_count(3)
    assert "lifecycle_stage=active" in page.url  # the filtered list is a link
    page.screenshot(path=str(folder / "customer-list-filtered.png"), full_page=True)

    # and download the filtered list as CSV
    with page.expect_download() as download:
        page.click("[data-action=export-csv]")
    saved = tmp_path / "customers.csv"
    download.value.save_as(saved)
    exported = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert len(exported) == 4 and exported[0][0] == "客户ID"

    # when they search an openid
    page.goto("/customers")
    page.fill("input[name=q]", C0_IDENTITIES["openid"])
    page.click("[data-action=search]")
    expect(page.locator("tr[data-customer]")).to_have_count(1)
    expect(page.locator("[data-matched=openid]")).to_be_visible()
    page.screenshot(path=str(folder / "customer-search.png"), full_page=True)

    # and open the customer, reached through the merged-away record's id
    page.goto(f"/customers/{rich.merged_id}")
    expect(page.locator(f"[data-merged-from='{rich.merged_id}']")).to_be_visible()
    expect(page.locator("#spend-chart canvas")).to_have_count(1)
    expect(page.locator("tr[data-event]")).to_have_count(10)
    page.click("[data-action=more-events]")
    expect(page.locator("tr[data-event]")).to_have_count(20)
    page.click("[data-action=more-orders]")
    expect(page.locator("#orders tr[data-order]")).to_have_count(15)
    page.screenshot(path=str(folder / "customer-profile.png"), full_page=True)
    page.locator("#profile > .grid-main").screenshot(path=str(folder / "customer-profile-traits.png"))
    page.locator("#relations").screenshot(path=str(folder / "customer-profile-relations.png"))
    page.locator("#merges").screenshot(path=str(folder / "customer-profile-merges.png"))

    # and in English
    page.goto(f"/lang/en?next=/customers/{rich.customer_id}")
    expect(page.locator("#identities h2")).to_have_text("Identities")
    page.screenshot(path=str(folder / "customer-profile-en.png"), full_page=True)
