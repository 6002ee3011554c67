"""Each platform preset reads its platform's export — CSV in GBK, CSV in UTF-8 with a BOM, XLSX —
into exactly the orders the file holds."""

from __future__ import annotations

import pytest

from tests.order import files
from tests.order.files import money

FORMS = ("gbk", "bom", "xlsx")


def _orders(database, corp_id):
    return [(o.order_no, o.status, money(o.amount), money(o.refund_amount), o.paid_at.isoformat(), o.buyer_value,
             o.phone, o.item_count, o.items) for o in files.stored_orders(database, corp_id)]


def _assert_clean(report, rows, orders):
    assert (report.status, report.error) == ("done", None)
    assert (report.total_rows, report.inserted_rows, report.updated_rows, report.unchanged_rows,
            report.rejected_rows) == (rows, orders, 0, 0, 0)
    assert report.rejects_sample == []
    assert report.has_rejects is False


@pytest.mark.parametrize("form", FORMS)
def test_taobao_export_is_read_into_its_orders(database, clock, brand, tmp_path, form):
    # given a Taobao/Tmall order report (order numbers wrapped for Excel, one phone masked)
    corp = brand[0]
    path = files.write(tmp_path / "ExportOrderList", form, files.TAOBAO_HEADER, files.TAOBAO_ROWS)

    # when it is imported with the taobao preset for the shop
    report = files.run_file(database, clock, corp.corp_id, path, "taobao", shop="果园旗舰店")

    # then every row is one order with Beijing times in UTC, the buyer's Taobao account and a
    # normalised phone (a masked one is none); the closed order with its refund is refunded
    _assert_clean(report, 4, 4)
    assert _orders(database, corp.corp_id) == [
        (no, status, amount, refund, paid, buyer, phone, count, items)
        for no, status, amount, refund, paid, buyer, phone, count, items in files.TAOBAO_ORDERS
    ]
    stored = files.stored_orders(database, corp.corp_id)
    assert {(o.platform, o.shop, o.buyer_kind, o.source) for o in stored} == {
        ("taobao", "果园旗舰店", "taobao_buyer", f"import:{report.id}")}


@pytest.mark.parametrize("form", FORMS)
def test_tmall_is_read_with_the_taobao_preset(database, clock, brand, tmp_path, form):
    corp = brand[0]
    path = files.write(tmp_path / "tmall", form, files.TAOBAO_HEADER, files.TAOBAO_ROWS[:1])

    report = files.run_file(database, clock, corp.corp_id, path, "tmall", shop="天猫旗舰店")

    _assert_clean(report, 1, 1)
    assert [(o.platform, o.shop, o.order_no) for o in files.stored_orders(database, corp.corp_id)] == [
        ("taobao", "天猫旗舰店", "3125561234567890123")]


@pytest.mark.parametrize("form", FORMS)
def test_jd_item_lines_make_one_order_each(database, clock, brand, tmp_path, form):
    # given a JD export with one row per item: the order-level amount repeats on each line
    corp = brand[0]
    path = files.write(tmp_path / "jd", form, files.JD_HEADER, files.JD_ROWS)

    # when it is imported
    report = files.run_file(database, clock, corp.corp_id, path, "jd", shop="京东自营店")

    # then two lines are one order (amount once, quantities summed, both items), and a cancelled
    # order with no payment time is dated by its creation
    _assert_clean(report, 3, 2)
    assert _orders(database, corp.corp_id) == files.JD_ORDERS
    assert {o.buyer_kind for o in files.stored_orders(database, corp.corp_id)} == {"jd_pin"}


@pytest.mark.parametrize("form", FORMS)
def test_youzan_export_is_read_into_its_orders(database, clock, brand, tmp_path, form):
    corp = brand[0]
    path = files.write(tmp_path / "youzan", form, files.YOUZAN_HEADER, files.YOUZAN_ROWS)

    report = files.run_file(database, clock, corp.corp_id, path, "youzan", shop="有赞微商城")

    _assert_clean(report, 2, 2)
    assert _orders(database, corp.corp_id) == files.YOUZAN_ORDERS
    assert {o.buyer_kind for o in files.stored_orders(database, corp.corp_id)} == {"youzan_buyer"}


@pytest.mark.parametrize("form", FORMS)
def test_douyin_sub_orders_add_up_to_their_main_order(database, clock, brand, tmp_path, form):
    # given a Douyin shop export: one row per sub-order, each with its own payable amount
    corp = brand[0]
    path = files.write(tmp_path / "douyin", form, files.DOUYIN_HEADER, files.DOUYIN_ROWS)

    # when it is imported
    report = files.run_file(database, clock, corp.corp_id, path, "douyin", shop="抖音旗舰店")

    # then each main order sums its sub-orders and keeps the influencer (达人) on its items
    _assert_clean(report, 3, 2)
    assert _orders(database, corp.corp_id) == files.DOUYIN_ORDERS
    assert {o.buyer_kind for o in files.stored_orders(database, corp.corp_id)} == {None}


@pytest.mark.parametrize("form", FORMS)
def test_pos_rows_name_their_store_and_shopping_guide(database, clock, brand, tmp_path, form):
    # given the generic POS layout: store by name, shopping guide by WeCom userid, a member number
    corp = brand[0]
    path = files.write(tmp_path / "pos", form, files.POS_HEADER, files.pos_rows("甲品牌门店1", "alpha-s1"))

    # when it is imported without a shop
    report = files.run_file(database, clock, corp.corp_id, path, "pos")

    # then each order belongs to the store (its code is the shop, since till numbers are per store),
    # the first to the shopping guide; "已退款" without a figure refunds the whole amount
    _assert_clean(report, 2, 2)
    stored = files.stored_orders(database, corp.corp_id)
    assert [(o.order_no, o.status, money(o.amount), money(o.refund_amount), o.paid_at.isoformat(), o.phone,
             o.category) for o in stored] == files.POS_ORDERS
    assert [(o.platform, o.shop, o.store_id, o.staff_id, o.buyer_kind, o.item_count) for o in stored] == [
        ("pos", "甲品牌门店1", corp.store_ids[0], corp.staff_ids[0], None, 1),
        ("pos", "甲品牌门店1", corp.store_ids[0], None, None, 1),
    ]


def test_a_mapping_overrides_the_preset_columns(database, clock, brand, tmp_path):
    # given a Youzan file whose buyer column was renamed by the operator's own export template
    corp = brand[0]
    header = ["客户昵称" if h == "买家" else h for h in files.YOUZAN_HEADER]
    path = files.write(tmp_path / "youzan", "bom", header, files.YOUZAN_ROWS)

    # when it is imported with a mapping for that column
    report = files.run_file(database, clock, corp.corp_id, path, "youzan", mapping={"buyer": "客户昵称"})

    # then the buyers are read from it
    _assert_clean(report, 2, 2)
    assert [o.buyer_value for o in files.stored_orders(database, corp.corp_id)] == ["有赞会员阿花", "橙子控"]


def test_a_file_without_the_required_columns_fails_the_import_and_writes_nothing(database, clock, brand,
                                                                                   tmp_path):
    # given a JD export opened with the Taobao preset
    corp = brand[0]
    path = files.write(tmp_path / "jd", "bom", files.JD_HEADER, files.JD_ROWS)

    # when it is imported
    report = files.run_file(database, clock, corp.corp_id, path, "taobao")

    # then the import failed naming the missing columns, and no order exists
    assert report.status == "failed"
    # (JD's 订单号 is a Taobao order-number header too)
    assert report.error == "文件缺少必需的列：买家实际支付金额、订单付款时间。请核对平台预设，或在列映射中指定列名"
    assert (report.total_rows, report.inserted_rows) == (0, 0)
    assert files.stored_orders(database, corp.corp_id) == []
