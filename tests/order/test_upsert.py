"""Re-importing changes nothing; refunds and status changes update exactly their orders; buyers
become customers (one per person, linked by any identity they share); traits follow."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from siyu.models import Customer, CustomerTrait, Identity, Order
from tests.order import files
from tests.order.files import local


def _table(database, model, corp_id):
    with database.engine.connect() as connection:
        table = model.__table__
        return [tuple(row) for row in connection.execute(
            table.select().where(table.c.corp_id == corp_id).order_by(*table.primary_key.columns))]


def _everything(database, corp_id):
    return {model.__tablename__: _table(database, model, corp_id)
            for model in (Order, Customer, Identity, CustomerTrait)}


def test_importing_the_same_file_again_changes_nothing(database, clock, brand, tmp_path):
    # given a Taobao export imported once
    corp = brand[0]
    path = files.write(tmp_path / "tb", "gbk", files.TAOBAO_HEADER, files.TAOBAO_ROWS)
    first = files.run_file(database, clock, corp.corp_id, path, "taobao", shop="果园旗舰店")
    before = _everything(database, corp.corp_id)

    # when the same file is imported again a day later
    clock.advance(86400)
    again = files.run_file(database, clock, corp.corp_id, path, "taobao", shop="果园旗舰店")

    # then every order is unchanged, and not one row of orders, customers, identities or traits moved
    assert (first.inserted_rows, first.updated_rows, first.unchanged_rows) == (4, 0, 0)
    assert (again.total_rows, again.inserted_rows, again.updated_rows, again.unchanged_rows,
            again.rejected_rows) == (4, 0, 0, 4, 0)
    assert _everything(database, corp.corp_id) == before


def test_a_second_file_applies_refunds_and_status_changes_to_exactly_those_orders(database, clock, brand,
                                                                                   tmp_path):
    # given the Taobao export imported once
    corp = brand[0]
    first = files.write(tmp_path / "first", "gbk", files.TAOBAO_HEADER, files.TAOBAO_ROWS)
    files.run_file(database, clock, corp.corp_id, first, "taobao", shop="果园旗舰店")
    before = {o.order_no: o for o in files.stored_orders(database, corp.corp_id)}

    # when a later export has a full refund on one order and another delivered
    rows = [list(r) for r in files.TAOBAO_ROWS]
    rows[1][files.TAOBAO_HEADER.index("订单状态")] = "交易关闭"
    rows[1][files.TAOBAO_HEADER.index("退款金额")] = 88.5
    rows[3][files.TAOBAO_HEADER.index("订单状态")] = "交易成功"
    second = files.write(tmp_path / "second", "xlsx", files.TAOBAO_HEADER, rows)
    clock.advance(3600)
    report = files.run_file(database, clock, corp.corp_id, second, "taobao", shop="果园旗舰店")

    # then exactly those two orders changed, in status and refund only
    assert (report.inserted_rows, report.updated_rows, report.unchanged_rows) == (0, 2, 2)
    after = {o.order_no: o for o in files.stored_orders(database, corp.corp_id)}
    changed = {no: (after[no].status, after[no].refund_amount) for no in after
               if (after[no].status, after[no].refund_amount, after[no].updated_at)
               != (before[no].status, before[no].refund_amount, before[no].updated_at)}
    assert changed == {"3125561234567890124": ("refunded", Decimal("88.50")),
                       "3125561234567890126": ("completed", Decimal("0.00"))}
    assert {no: (o.id, o.customer_id, o.paid_at, o.amount) for no, o in after.items()} == {
        no: (o.id, o.customer_id, o.paid_at, o.amount) for no, o in before.items()}

    # and the refunded buyer's traits now count the refund
    with database.session() as session:
        refunded = session.get(CustomerTrait, after["3125561234567890124"].customer_id)
        assert refunded.refund_total == Decimal("88.50")


def test_buyers_become_customers_linked_by_any_identity_they_share(database, clock, brand, tmp_path):
    # given a Taobao export: tb_小明 buys twice; "果果爱吃" once; "tb_小明2" (another account) gives
    # tb_小明's phone; lucky_王's phone is masked
    corp = brand[0]
    extra = list(files.TAOBAO_ROWS[1])
    extra[0], extra[1], extra[files.TAOBAO_HEADER.index("联系手机")] = "3125561234567890127", "tb_小明2", "13800138000"
    path = files.write(tmp_path / "tb", "bom", files.TAOBAO_HEADER, [*files.TAOBAO_ROWS, extra])

    # when it is imported
    files.run_file(database, clock, corp.corp_id, path, "taobao")

    # then the two rows with the same phone are one customer, holding both accounts and the phone
    orders = {o.order_no: o.customer_id for o in files.stored_orders(database, corp.corp_id)}
    xiaoming = orders["3125561234567890123"]
    assert orders["3125561234567890125"] == xiaoming
    assert orders["3125561234567890127"] == xiaoming
    assert len({orders["3125561234567890124"], orders["3125561234567890126"], xiaoming}) == 3
    with database.session() as session:
        identities = sorted(session.execute(select(Identity.kind, Identity.value).where(
            Identity.customer_id == xiaoming)).all())
        assert [tuple(i) for i in identities] == [("phone", "13800138000"), ("taobao_buyer", "tb_小明"), ("taobao_buyer", "tb_小明2")]
        assert session.get(Customer, xiaoming).name == "张三"
        wang = session.execute(select(Identity.kind, Identity.value).where(
            Identity.customer_id == orders["3125561234567890126"])).all()
        assert [tuple(row) for row in wang] == [("taobao_buyer", "lucky_王")]
        # and the traits of each buyer were computed with the import
        traits = {row.customer_id: row for row in session.scalars(
            select(CustomerTrait).where(CustomerTrait.corp_id == corp.corp_id))}
        assert set(traits) == set(orders.values())
        assert traits[xiaoming].channels == ["taobao"]


def test_a_pos_order_links_to_the_customer_already_known_by_phone(database, clock, brand, tmp_path):
    # given a customer of the brand known by phone (a WeCom contact), and a till receipt with it
    corp = brand[0]
    with database.session() as session:
        known = session.get(Customer, corp.customer_ids[0])
        phone, known_id = known.phone, known.id
    rows = [["P1", "甲品牌门店1", "alpha-s1", "M9", phone, 20.0, local("2025-12-20 10:00:00"), "柑橘", "", ""]]
    path = files.write(tmp_path / "pos", "bom", files.POS_HEADER, rows)

    # when the POS file is imported
    files.run_file(database, clock, corp.corp_id, path, "pos")

    # then the order is that customer's, who now also holds the member number
    assert [o.customer_id for o in files.stored_orders(database, corp.corp_id)] == [known_id]
    with database.session() as session:
        assert session.scalar(select(Identity.customer_id).where(
            Identity.corp_id == corp.corp_id, Identity.kind == "member_no", Identity.value == "M9")) == known_id


def test_an_order_number_repeated_in_a_file_keeps_its_last_row(database, clock, brand, tmp_path):
    corp = brand[0]
    rows = [files.pos_rows("甲品牌门店1", "alpha-s1")[0], files.pos_rows("甲品牌门店1", "alpha-s1")[0][:]]
    rows[1][files.POS_HEADER.index("status")] = "completed"
    path = files.write(tmp_path / "pos", "bom", files.POS_HEADER, rows)

    report = files.run_file(database, clock, corp.corp_id, path, "pos")

    assert (report.inserted_rows, report.unchanged_rows) == (1, 1)
    assert [o.status for o in files.stored_orders(database, corp.corp_id)] == ["completed"]


def test_chunks_never_split_the_lines_of_an_order(database, clock, brand, tmp_path):
    # given a Douyin export read two rows at a time: its first order has two lines
    corp = brand[0]
    path = files.write(tmp_path / "douyin", "bom", files.DOUYIN_HEADER, files.DOUYIN_ROWS)

    # when it is imported in chunks of one row
    report = files.run_file(database, clock, corp.corp_id, path, "douyin", chunk_rows=1)

    # then the orders are the same as in one chunk
    assert (report.total_rows, report.inserted_rows, report.updated_rows) == (3, 2, 0)
    assert [(o.order_no, str(o.amount), o.item_count) for o in files.stored_orders(database, corp.corp_id)] == [
        ("6921000000000000001", "99.80", 2), ("6921000000000000002", "49.80", 2)]


def test_an_import_resumes_after_its_last_committed_chunk(database, clock, brand, tmp_path):
    # given an import that committed its first chunk (one row good, one row bad) and then died
    from siyu.models import OrderImport
    from siyu.order import importer

    corp = brand[0]
    rows = [files.TAOBAO_ROWS[0], [*files.TAOBAO_ROWS[1][:4], "x", *files.TAOBAO_ROWS[1][5:]],
            files.TAOBAO_ROWS[2], files.TAOBAO_ROWS[3]]
    path = files.write(tmp_path / "tb", "bom", files.TAOBAO_HEADER, rows)
    partial = files.run_file(database, clock, corp.corp_id, path, "taobao", chunk_rows=2)
    with database.session() as session:
        record = session.get(OrderImport, partial.id)
        record.status, record.total_rows, record.inserted_rows, record.unchanged_rows = "running", 2, 1, 0
        session.execute(Order.__table__.delete().where(Order.order_no.in_(
            ["3125561234567890125", "3125561234567890126"])))
    with open(record.rejects_path, "a", encoding="utf-8") as handle:
        handle.write("a row written after the last commit\n")

    # when the job runs it again
    importer.run_import(lambda: database.session(immediate=True), partial.id, clock, chunk_rows=2)

    # then it carried on with the rows after the committed chunk, and the rejects file holds the
    # committed chunk's reject once
    report = files.report(database, partial.id)
    assert (report.status, report.total_rows, report.inserted_rows, report.rejected_rows) == ("done", 4, 3, 1)
    assert len(files.stored_orders(database, corp.corp_id)) == 3
    with open(record.rejects_path, encoding="utf-8-sig") as handle:
        assert len(handle.read().splitlines()) == 2
