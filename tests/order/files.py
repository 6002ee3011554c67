"""Small, realistic order exports written the way the platforms write them: Taobao's CSV in GBK
with ``="…"`` around order numbers and ``'`` before phones, item-level JD/Youzan/Douyin reports,
a POS layout — as CSV (GBK or UTF-8 with a BOM) or as XLSX written with openpyxl."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.models import Order, OrderImport
from siyu.order import importer, service
from siyu.order.presets import check_mapping, preset_for
from siyu.order.schemas import OrderImportReport


def local(text: str) -> datetime:
    """A Beijing wall-clock time as the platforms print it, as a naive datetime (Excel cells)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[_csv_cell(v) for v in row] for row in rows])
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("订单")
    sheet.append(header)
    for row in rows:
        # ="…" keeps a CSV's long numbers from Excel's rounding; a workbook holds them as text cells
        sheet.append([v[2:-1] if isinstance(v, str) and v.startswith('="') else v for v in row])
    workbook.save(path)
    return path


def write(path_base: Path, form: str, header: list[str], rows: list[list]) -> Path:
    """``form``: ``gbk`` or ``bom`` (CSV) or ``xlsx``."""
    if form == "xlsx":
        return write_xlsx(path_base.with_suffix(".xlsx"), header, rows)
    return write_csv(path_base.with_suffix(".csv"), header, rows, "gbk" if form == "gbk" else "utf-8-sig")


TAOBAO_HEADER = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家实际支付金额", "订单状态", "买家留言",
                 "收货人姓名", "收货地址", "联系电话", "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类",
                 "物流单号", "宝贝总数量", "店铺名称", "退款金额"]
TAOBAO_ROWS = [
    ['="3125561234567890123"', "tb_小明", "xm***@163.com", 199.0, 199.0, "交易成功", "", "张三",
     "浙江省 杭州市 西湖区 文三路 1 号", "", "'13800138000", local("2025-11-11 00:01:02"),
     local("2025-11-11 00:01:30"), "海南金钻凤梨 2个装", 1, "YT1234567890", 2, "果园旗舰店", 0.0],
    ["3125561234567890124", "果果爱吃", "", 88.5, 88.5, "买家已付款，等待卖家发货", "尽快发货", "李四",
     "上海市 浦东新区 张江路 2 号", "", "+86 139-0013-9000", local("2025-11-12 10:00:00"),
     local("2025-11-12 10:00:05"), "智利车厘子 JJ级 1kg", 1, "", 1, "果园旗舰店", 0.0],
    ["3125561234567890125", "tb_小明", "xm***@163.com", 59.9, 59.9, "交易关闭", "", "张三",
     "浙江省 杭州市 西湖区 文三路 1 号", "", "13800138000", local("2025-11-13 08:00:00"),
     local("2025-11-13 08:00:10"), "赣南脐橙 5斤", 1, "", 1, "果园旗舰店", 59.9],
    ["3125561234567890126", "lucky_王", "", 45.0, 45.0, "卖家已发货，等待买家确认", "", "王五",
     "北京市 朝阳区", "", "138****5678", local("2025-11-14 21:15:00"), local("2025-11-14 21:15:40"),
     "阳光玫瑰葡萄 2串", 1, "SF100200300", 2, "果园旗舰店", 0.0],
]
#: (order_no, status, amount, refund, paid_at UTC, buyer, phone, item_count, items)
TAOBAO_ORDERS = [
    ("3125561234567890123", "completed", "199.00", "0.00", "2025-11-10T16:01:30+00:00", "tb_小明", "13800138000", 2,
     [{"title": "海南金钻凤梨 2个装", "quantity": 2}]),
    ("3125561234567890124", "paid", "88.50", "0.00", "2025-11-12T02:00:05+00:00", "果果爱吃", "13900139000", 1,
     [{"title": "智利车厘子 JJ级 1kg", "quantity": 1}]),
    ("3125561234567890125", "refunded", "59.90", "59.90", "2025-11-13T00:00:10+00:00", "tb_小明", "13800138000", 1,
     [{"title": "赣南脐橙 5斤", "quantity": 1}]),
    ("3125561234567890126", "shipped", "45.00", "0.00", "2025-11-14T13:15:40+00:00", "lucky_王", None, 2,
     [{"title": "阳光玫瑰葡萄 2串", "quantity": 2}]),
]

JD_HEADER = ["订单号", "商品ID", "商品名称", "订购数量", "支付方式", "下单时间", "京东价", "订单金额", "结算金额", "应付金额",
             "订单状态", "订单类型", "下单帐号", "客户姓名", "客户地址", "联系电话", "订单备注", "付款确认时间"]
JD_ROWS = [
    ["251900000001", "100012", "烟台红富士苹果 5kg", 1, "在线支付", local("2025-12-01 09:00:00"), 69.9, 129.8, 129.8,
     129.8, "完成", "普通订单", "jd_apple88", "赵六", "广州市天河区", "13600136000", "", local("2025-12-01 09:00:20")],
    ["251900000001", "100013", "库尔勒香梨 2.5kg", 1, "在线支付", local("2025-12-01 09:00:00"), 59.9, 129.8, 129.8,
     129.8, "完成", "普通订单", "jd_apple88", "赵六", "广州市天河区", "13600136000", "", local("2025-12-01 09:00:20")],
    ["251900000002", "100014", "丹东草莓 500g", 2, "在线支付", local("2025-12-02 18:30:00"), 39.9, 79.8, 79.8,
     79.8, "已取消", "普通订单", "jd_berry", "孙七", "深圳市南山区", "0086 135 0013 5000", "", None],
]
JD_ORDERS = [
    ("251900000001", "completed", "129.80", "0.00", "2025-12-01T01:00:20+00:00", "jd_apple88", "13600136000", 2,
     [{"title": "烟台红富士苹果 5kg", "quantity": 1}, {"title": "库尔勒香梨 2.5kg", "quantity": 1}]),
    ("251900000002", "cancelled", "79.80", "0.00", "2025-12-02T10:30:00+00:00", "jd_berry", "13500135000", 2,
     [{"title": "丹东草莓 500g", "quantity": 2}]),
]

YOUZAN_HEADER = ["订单号", "订单状态", "订单创建时间", "买家付款时间", "买家", "订单实付金额", "收货人/提货人",
                 "收货人手机号/提货人手机号", "商品名称", "商品数量", "退款金额"]
YOUZAN_ROWS = [
    ["E20251205101010012345", "已完成", local("2025-12-05 10:10:10"), local("2025-12-05 10:10:30"), "有赞会员阿花",
     66.0, "周八", "+8613700137000", "芒果礼盒 3斤", 1, 0.0],
    ["E20251206080000054321", "待发货", local("2025-12-06 08:00:00"), local("2025-12-06 08:00:09"), "橙子控",
     120.0, "吴九", "13700137001", "褚橙 10斤", 2, 20.0],
]
YOUZAN_ORDERS = [
    ("E20251205101010012345", "completed", "66.00", "0.00", "2025-12-05T02:10:30+00:00", "有赞会员阿花", "13700137000",
     1, [{"title": "芒果礼盒 3斤", "quantity": 1}]),
    ("E20251206080000054321", "paid", "120.00", "20.00", "2025-12-06T00:00:09+00:00", "橙子控", "13700137001", 2,
     [{"title": "褚橙 10斤", "quantity": 2}]),
]

DOUYIN_HEADER = ["主订单编号", "子订单编号", "商品名称", "商品数量", "订单应付金额", "订单状态", "订单提交时间", "支付完成时间",
                 "收件人", "收件人手机号", "达人ID", "达人昵称"]
DOUYIN_ROWS = [
    ["6921000000000000001", "6921000000000000011", "麒麟西瓜 1个", 1, 39.9, "已完成", local("2025-12-10 20:00:00"),
     local("2025-12-10 20:00:15"), "郑十", "13300133000", "88001", "果果直播间"],
    ["6921000000000000001", "6921000000000000012", "海南芒果 5斤", 1, 59.9, "已完成", local("2025-12-10 20:00:00"),
     local("2025-12-10 20:00:15"), "郑十", "13300133000", "88001", "果果直播间"],
    ["6921000000000000002", "6921000000000000021", "爱媛果冻橙 3斤", 2, 49.8, "已发货", local("2025-12-11 12:00:00"),
     local("2025-12-11 12:00:30"), "钱一", "133****3001", "", ""],
]
DOUYIN_ORDERS = [
    ("6921000000000000001", "completed", "99.80", "0.00", "2025-12-10T12:00:15+00:00", None, "13300133000", 2,
     [{"title": "麒麟西瓜 1个", "quantity": 1, "influencer": "果果直播间"},
      {"title": "海南芒果 5斤", "quantity": 1, "influencer": "果果直播间"}]),
    ("6921000000000000002", "shipped", "49.80", "0.00", "2025-12-11T04:00:30+00:00", None, None, 2,
     [{"title": "爱媛果冻橙 3斤", "quantity": 2}]),
]

POS_HEADER = ["order_no", "store_code", "staff_userid", "member_no", "phone", "amount", "paid_at", "category", "status",
              "refund_amount"]


def pos_rows(store_name: str, staff_userid: str) -> list[list]:
    return [
        ["P2512200001", store_name, staff_userid, "M000123", "13200132000", 35.5, local("2025-12-20 10:05:00"), "柑橘",
         "paid", 0.0],
        ["P2512200002", store_name, "", "", "13200132001", 128.0, local("2025-12-20 11:30:00"), "礼盒", "已退款", None],
    ]


#: (order_no, status, amount, refund, paid_at, phone, category)
POS_ORDERS = [
    ("P2512200001", "paid", "35.50", "0.00", "2025-12-20T02:05:00+00:00", "13200132000", "柑橘"),
    ("P2512200002", "refunded", "128.00", "128.00", "2025-12-20T03:30:00+00:00", "13200132001", "礼盒"),
]


def run_file(database: Database, clock: Clock, corp_id: int, path: Path, platform: str, *, shop: str = "",
             mapping: dict | None = None, chunk_rows: int = 5000) -> OrderImportReport:
    """Import ``path`` as the job would (chunks in their own transactions); the report in zh-CN."""
    with database.session() as session:
        record = service.create_import(session, None, corp_id, preset=preset_for(platform), shop=shop,
                                       filename=path.name, stored_path=path, mapping=check_mapping(mapping),
                                       clock=clock, enqueue_job=False)
        import_id = record.id
    importer.run_import(lambda: database.session(immediate=True), import_id, clock, chunk_rows=chunk_rows)
    return report(database, import_id)


def report(database: Database, import_id: int, language: str = "zh-CN") -> OrderImportReport:
    with database.session() as session:
        return service.describe_import(session.get(OrderImport, import_id), language)


def stored_orders(database: Database, corp_id: int) -> list[Order]:
    with database.session() as session:
        return list(session.scalars(select(Order).where(Order.corp_id == corp_id, Order.source.is_not(None))
                                    .order_by(Order.order_no)))


def money(value: Decimal) -> str:
    return f"{value:.2f}"
