"""Column presets for the order exports of Taobao/Tmall, JD, Youzan, Douyin shops and a generic POS.

A preset names, for each field siyu reads (a *target field*), the column headers the platform's
export uses for it — several where the platform's exports differ between versions or between the
order-level and the item-level report; the first header present in the file wins. An import may
override any of them with its own ``{target_field: header}`` mapping. Each preset also carries the
platform's status vocabulary, mapped onto siyu's five statuses (or onto ``UNPAID``: an order not yet
paid is not a purchase and is reported, not imported).

docs/orders-import.md describes every preset for operators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from siyu.kit.errors import InvalidInput

#: siyu's order statuses
STATUSES = ("paid", "shipped", "completed", "refunded", "cancelled")
#: the status word of an order still waiting for payment
UNPAID = "unpaid"

#: Every field an import can fill, in the order the docs list them.
TARGET_FIELDS = (
    "order_no", "buyer", "member_no", "unionid", "phone", "name", "amount", "refund_amount", "status",
    "created_at", "paid_at", "shipped_at", "category", "title", "quantity", "store_code", "staff_userid",
    "influencer",
)
#: Fields an import cannot do without (``paid_at`` may fall back on ``created_at``).
REQUIRED_FIELDS = ("order_no", "amount")

#: Status words every platform's file may also use.
_COMMON_STATUSES = {status: status for status in STATUSES} | {"canceled": "cancelled", "unpaid": UNPAID}


_STATUS_NOISE = re.compile(r"[\s,，.。;；:：、]")


def status_key(word: str) -> str:
    """A status word reduced to what tells statuses apart: exports differ in punctuation (``，`` or
    ``,``), spaces and case."""
    return _STATUS_NOISE.sub("", word).lower()


@dataclass(frozen=True)
class Preset:
    """How one platform's export is read."""

    platform: str
    #: the identity kind of the platform's buyer account (``None``: the platform has none)
    buyer_kind: str | None
    #: target field → headers the export uses for it, most common first
    columns: dict[str, tuple[str, ...]]
    #: the platform's status words → siyu's status (or ``UNPAID``)
    statuses: dict[str, str]
    #: one row per item: consecutive rows with the same order number are the lines of one order
    lines_per_order: bool = False
    #: with lines: the amount and refund columns are per line (summed), not the order's (repeated)
    line_amounts: bool = False
    #: the POS layout: a blank shop means "the row's store code"
    shop_from_store: bool = False
    _status_index: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = _COMMON_STATUSES | self.statuses
        index = {status_key(word): status for word, status in words.items()}
        # the words as the platform writes them too: most rows match without being reduced
        object.__setattr__(self, "_status_index", index | words)

    def status_of(self, word: str) -> str | None:
        """siyu's status for the platform's ``word`` (``UNPAID`` included), ``None`` if unknown."""
        found = self._status_index.get(word)
        return found if found is not None else self._status_index.get(status_key(word))


TAOBAO = Preset(
    platform="taobao",
    buyer_kind="taobao_buyer",
    columns={
        "order_no": ("订单编号", "订单号"),
        "buyer": ("买家会员名", "买家昵称"),
        "amount": ("买家实际支付金额", "实付金额", "总金额"),
        "refund_amount": ("退款金额",),
        "status": ("订单状态",),
        "created_at": ("订单创建时间",),
        "paid_at": ("订单付款时间", "付款时间"),
        "shipped_at": ("发货时间", "订单发货时间"),
        "name": ("收货人姓名",),
        "phone": ("联系手机", "联系电话"),
        "title": ("宝贝标题", "商品标题"),
        "quantity": ("宝贝总数量", "宝贝种类"),
        "category": ("宝贝类目",),
    },
    statuses={
        "等待买家付款": UNPAID,
        "买家已付款，等待卖家发货": "paid",
        "等待卖家发货": "paid",
        "卖家已发货，等待买家确认": "shipped",
        "等待买家确认收货": "shipped",
        "卖家部分发货": "shipped",
        "交易成功": "completed",
        "交易关闭": "cancelled",
        "付款以后用户退款成功，交易自动关闭": "refunded",
    },
)

JD = Preset(
    platform="jd",
    buyer_kind="jd_pin",
    columns={
        "order_no": ("订单号", "订单编号"),
        "buyer": ("下单帐号", "下单账号", "用户账号"),
        "amount": ("应付金额", "订单金额"),
        "refund_amount": ("退款金额",),
        "status": ("订单状态",),
        "created_at": ("下单时间",),
        "paid_at": ("付款确认时间", "付款时间"),
        "shipped_at": ("出库时间",),
        "name": ("客户姓名",),
        "phone": ("联系电话", "手机号"),
        "title": ("商品名称",),
        "quantity": ("订购数量", "商品数量"),
        "category": ("商品类目", "类目"),
    },
    statuses={
        "等待付款": UNPAID,
        "等待出库": "paid",
        "等待发货": "paid",
        "暂停": "paid",
        "等待确认收货": "shipped",
        "已发货": "shipped",
        "完成": "completed",
        "已完成": "completed",
        "已取消": "cancelled",
        "取消": "cancelled",
        "锁定": "cancelled",
        "退款成功": "refunded",
    },
    lines_per_order=True,
)

YOUZAN = Preset(
    platform="youzan",
    buyer_kind="youzan_buyer",
    columns={
        "order_no": ("订单号",),
        "buyer": ("买家", "买家昵称"),
        "amount": ("订单实付金额", "实付金额"),
        "refund_amount": ("退款金额", "订单已退款金额"),
        "status": ("订单状态",),
        "created_at": ("订单创建时间", "下单时间"),
        "paid_at": ("买家付款时间", "付款时间"),
        "shipped_at": ("发货时间",),
        "name": ("收货人/提货人", "收货人", "提货人"),
        "phone": ("收货人手机号/提货人手机号", "收货人手机号", "提货人手机号"),
        "title": ("商品名称",),
        "quantity": ("商品数量",),
        "category": ("商品类目",),
    },
    statuses={
        "待付款": UNPAID,
        "待发货": "paid",
        "等待商家发货": "paid",
        "已发货": "shipped",
        "商家已发货": "shipped",
        "已完成": "completed",
        "交易完成": "completed",
        "交易成功": "completed",
        "已关闭": "cancelled",
        "交易关闭": "cancelled",
        "已退款": "refunded",
        "退款成功": "refunded",
    },
    lines_per_order=True,
)

DOUYIN = Preset(
    platform="douyin",
    buyer_kind="douyin_buyer",
    columns={
        "order_no": ("主订单编号",),
        "buyer": ("买家昵称", "用户昵称"),
        "amount": ("订单应付金额",),
        "refund_amount": ("退款金额",),
        "status": ("订单状态",),
        "created_at": ("订单提交时间",),
        "paid_at": ("支付完成时间",),
        "shipped_at": ("发货时间",),
        "name": ("收件人",),
        "phone": ("收件人手机号",),
        "title": ("商品名称", "选购商品"),
        "quantity": ("商品数量",),
        "category": ("商品类目",),
        "influencer": ("达人昵称", "达人ID"),
    },
    statuses={
        "待支付": UNPAID,
        "备货中": "paid",
        "待发货": "paid",
        "已支付": "paid",
        "已发货": "shipped",
        "已完成": "completed",
        "已关闭": "cancelled",
        "已取消": "cancelled",
        "退款成功": "refunded",
        "已退款": "refunded",
        "售后完成": "refunded",
    },
    lines_per_order=True,
    line_amounts=True,
)

POS = Preset(
    platform="pos",
    buyer_kind=None,
    columns={
        "order_no": ("order_no",),
        "store_code": ("store_code",),
        "staff_userid": ("staff_userid",),
        "member_no": ("member_no",),
        "phone": ("phone",),
        "unionid": ("unionid",),
        "name": ("name",),
        "amount": ("amount",),
        "refund_amount": ("refund_amount",),
        "status": ("status",),
        "paid_at": ("paid_at",),
        "category": ("category",),
        "quantity": ("item_count", "quantity"),
    },
    statuses={"已支付": "paid", "已完成": "completed", "已退款": "refunded", "已取消": "cancelled"},
    shop_from_store=True,
)

PRESETS: dict[str, Preset] = {preset.platform: preset for preset in (TAOBAO, JD, YOUZAN, DOUYIN, POS)}
#: Tmall exports are Taobao's (same back office); Tmall orders are kept as platform ``taobao``.
PRESET_ALIASES = {"tmall": "taobao"}


def preset_for(platform: str) -> Preset:
    """The preset of ``platform`` (``tmall`` is Taobao's); 422 naming ``platform`` if unknown."""
    name = PRESET_ALIASES.get(platform, platform)
    if name not in PRESETS:
        raise InvalidInput("order.error.unknown_platform", field="platform", platform=platform,
                           choices=", ".join(PRESETS))
    return PRESETS[name]


def check_mapping(mapping: object) -> dict[str, str]:
    """An import's own mapping ``{target_field: header}``, checked; 422 naming ``mapping`` if not."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise InvalidInput("order.error.mapping_not_object", field="mapping")
    checked: dict[str, str] = {}
    for target, header in mapping.items():
        if target not in TARGET_FIELDS:
            raise InvalidInput("order.error.mapping_unknown_field", field="mapping", target=str(target),
                               choices=", ".join(TARGET_FIELDS))
        if not isinstance(header, str) or not header.strip():
            raise InvalidInput("order.error.mapping_blank_column", field="mapping", target=target)
        checked[target] = header.strip()
    return checked


@dataclass(frozen=True)
class ColumnMap:
    """Where each target field is in a file: target → column index, and the header names."""

    indexes: dict[str, int]
    headers: list[str]

    def header_of(self, target: str) -> str:
        return self.headers[self.indexes[target]]


class MissingColumns(Exception):
    """The file lacks columns the import needs (named as the preset or the mapping names them)."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__(", ".join(columns))
        self.columns = columns


def map_columns(preset: Preset, headers: list[str], override: dict[str, str]) -> ColumnMap:
    """Match the file's header row against the preset, with the import's overrides on top."""
    positions: dict[str, int] = {}
    for index, header in enumerate(headers):
        positions.setdefault(header.strip(), index)
    indexes: dict[str, int] = {}
    missing: list[str] = []
    for target in TARGET_FIELDS:
        if target in override:
            if override[target] in positions:
                indexes[target] = positions[override[target]]
            else:
                missing.append(override[target])
            continue
        found = next((positions[h] for h in preset.columns.get(target, ()) if h in positions), None)
        if found is not None:
            indexes[target] = found
    for target in REQUIRED_FIELDS:
        if target not in indexes and target not in override:
            missing.append(preset.columns[target][0])
    if "paid_at" not in indexes and "created_at" not in indexes and "paid_at" not in override:
        missing.append((preset.columns.get("paid_at") or preset.columns["created_at"])[0])
    if missing:
        raise MissingColumns(missing)
    return ColumnMap(indexes, headers)
