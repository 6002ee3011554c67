"""The segment language: a versioned JSON definition, parsed into a tree of condition nodes.

``parse_definition`` checks a whole definition and reports every problem at once, each with the path
of the bad node (``condition.all[2].trait.op``) and a catalogue key, so the console and the API can
show all of them in the operator's language. The grammar is documented in ``docs/segments.md``.

Time values come in two shapes: a relative window (``"within": "30d"`` — days ``d`` or weeks ``w``)
and an absolute one (``"between": ["2026-01-01", "2026-02-01"]``, ISO dates or datetimes; a date
means the whole day in the corp's time zone, so the end date is included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from siyu.customer.trait_scores import LIFECYCLE_STAGES, RFM_CLASS_CODES
from siyu.kit.errors import InvalidInput
from siyu.models.customer import IdentityKind

VERSION = 1
MAX_DEPTH = 12
MAX_LIST = 1000
GROUP_KEYS = ("all", "any", "not")
#: Relation states a relation condition may ask for; ``lost`` is the customer deleting the staff.
RELATION_STATUSES = ("active", "lost", "deleted_by_staff", "transferred", "any")
ORDER_METRICS = ("count", "sum")
COUNT_OPS = ("=", "!=", "<", "<=", ">", ">=")
PROPERTY_OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "is_set", "is_not_set")
#: A definition every customer matches (every customer row has ``created_at``): the start of a build.
EVERYONE = {"version": VERSION, "condition": {"trait": {"name": "created_at", "op": "is_set"}}}
#: Touch statuses that count as "received" unless a condition names its own: the policy let it through.
TOUCH_RECEIVED_STATUSES = ("allowed", "sent")
_DURATION = re.compile(r"^(\d{1,5})([dw])$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where, and why (a catalogue key with its parameters)."""

    path: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class DefinitionInvalid(InvalidInput):
    """A definition that does not parse: 422 with every problem, each naming its path."""

    code = "segment_definition_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("segment.error.definition_invalid", field=problems[0].path if problems else "definition",
                         count=len(problems))

    def messages(self, language: str | None = None) -> list[dict[str, str]]:
        """``[{"path", "message"}]`` in ``language``."""
        from siyu.kit.i18n import translate

        def localised(params: dict[str, Any]) -> dict[str, Any]:
            # a parameter named ``<name>_key`` is itself a catalogue key, shown as ``<name>``
            return {name.removesuffix("_key"): translate(value, language) if name.endswith("_key") else value
                    for name, value in params.items()}

        return [{"path": problem.path, "message": translate(problem.key, language, **localised(problem.params))}
                for problem in self.problems]

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        body = super().to_dict(language)
        body["problems"] = self.messages(language)
        return body


# ---------------------------------------------------------------------------------------------------
# Trait catalogue: every column a trait condition may compare.

@dataclass(frozen=True)
class TraitField:
    #: "customer_trait" or "customer"
    table: str
    column: str
    #: number, integer, text, choice, date, list, id
    kind: str
    choices: tuple[str, ...] = ()


TRAIT_FIELDS: dict[str, TraitField] = {
    "order_count": TraitField("customer_trait", "order_count", "integer"),
    "total_spend": TraitField("customer_trait", "total_spend", "number"),
    "average_spend": TraitField("customer_trait", "average_spend", "number"),
    "refund_total": TraitField("customer_trait", "refund_total", "number"),
    "recency_score": TraitField("customer_trait", "recency_score", "integer"),
    "frequency_score": TraitField("customer_trait", "frequency_score", "integer"),
    "monetary_score": TraitField("customer_trait", "monetary_score", "integer"),
    "probability_alive": TraitField("customer_trait", "probability_alive", "number"),
    "expected_purchases_90d": TraitField("customer_trait", "expected_purchases_90d", "number"),
    "expected_average_spend": TraitField("customer_trait", "expected_average_spend", "number"),
    "predicted_value_90d": TraitField("customer_trait", "predicted_value_90d", "number"),
    "favourite_category": TraitField("customer_trait", "favourite_category", "text"),
    "favourite_store_id": TraitField("customer_trait", "favourite_store_id", "id"),
    "channels": TraitField("customer_trait", "channels", "list"),
    "rfm_class": TraitField("customer_trait", "rfm_class", "choice", RFM_CLASS_CODES),
    "lifecycle_stage": TraitField("customer_trait", "lifecycle_stage", "choice", LIFECYCLE_STAGES),
    "first_order_at": TraitField("customer_trait", "first_order_at", "date"),
    "last_order_at": TraitField("customer_trait", "last_order_at", "date"),
    "gender": TraitField("customer", "gender", "text"),
    "name": TraitField("customer", "name", "text"),
    "birthday": TraitField("customer", "birthday", "date"),
    "first_seen_at": TraitField("customer", "first_seen_at", "date"),
    "created_at": TraitField("customer", "created_at", "date"),
    "home_store_id": TraitField("customer", "home_store_id", "id"),
}
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "number": ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "is_set", "is_not_set"),
    "integer": ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "is_set", "is_not_set"),
    "text": ("=", "!=", "in", "not_in", "contains", "starts_with", "is_set", "is_not_set"),
    "choice": ("=", "!=", "in", "not_in", "is_set", "is_not_set"),
    "id": ("=", "!=", "in", "not_in", "is_set", "is_not_set"),
    "date": ("within", "not_within", "before", "after", "between", "is_set", "is_not_set"),
    "list": ("contains", "not_contains", "is_set", "is_not_set"),
}


# ---------------------------------------------------------------------------------------------------
# Nodes

@dataclass(frozen=True)
class Window:
    """A time window: ``days`` back from now (relative), or ``start``/``end`` (absolute, end
    exclusive; dates are resolved to moments by the compiler in the corp's time zone)."""

    days: int | None = None
    start: date | datetime | None = None
    end: date | datetime | None = None

    @property
    def relative(self) -> bool:
        return self.days is not None


@dataclass(frozen=True)
class Node:
    path: str


@dataclass(frozen=True)
class AllOf(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class NotOf(Node):
    child: Node


@dataclass(frozen=True)
class TraitCondition(Node):
    name: str
    op: str
    value: Any = None
    window: Window | None = None


@dataclass(frozen=True)
class TagCondition(Node):
    #: any / all / none
    mode: str
    tag_ids: tuple[int, ...]
    #: customer (customer_tag) or relation (relation_tag, a staff member's tag)
    source: str = "customer"


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class EventCondition(Node):
    name: str
    performed: bool
    count_op: str
    count: int
    window: Window | None
    where: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True)
class OrderCondition(Node):
    metric: str
    op: str
    value: Decimal
    window: Window | None
    categories: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    store_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChoiceCondition(Node):
    """RFM class, lifecycle stage or city: the value is one of ``values`` (``negate``: is not)."""

    kind: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class RelationCondition(Node):
    staff_ids: tuple[int, ...] = ()
    department_id: int | None = None
    states: tuple[str, ...] = ()
    channel_code_ids: tuple[int, ...] = ()
    added: Window | None = None
    status: str = "active"


@dataclass(frozen=True)
class GroupChatCondition(Node):
    chat_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SegmentCondition(Node):
    segment_id: int


@dataclass(frozen=True)
class IdentityCondition(Node):
    kind: str
    present: bool = True


@dataclass(frozen=True)
class BucketCondition(Node):
    salt: str
    buckets: int
    start: int
    end: int


@dataclass(frozen=True)
class TouchCondition(Node):
    channels: tuple[str, ...]
    window: Window | None
    count_op: str = ">="
    count: int = 1
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberLevelCondition(Node):
    level_ids: tuple[int, ...]


@dataclass(frozen=True)
class Definition:
    version: int
    condition: Node

    def segment_ids(self) -> set[int]:
        """Ids of the other segments this definition refers to (directly)."""
        return {node.segment_id for node in walk(self.condition) if isinstance(node, SegmentCondition)}

    def time_sensitive(self) -> bool:
        """Whether membership can change with time alone (a relative window, a lifecycle stage or
        another segment), so the schedule must re-evaluate it even when no customer changed."""
        return any(_time_sensitive(node) for node in walk(self.condition))


def walk(node: Node):
    """Every node of the tree, depth first."""
    yield node
    if isinstance(node, AllOf | AnyOf):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, NotOf):
        yield from walk(node.child)


def _time_sensitive(node: Node) -> bool:
    windows = [getattr(node, name, None) for name in ("window", "added")]
    if any(window is not None and window.relative for window in windows):
        return True
    if isinstance(node, TraitCondition) and node.op in ("within", "not_within", "before", "after") \
            and isinstance(node.value, int):
        return True
    if isinstance(node, TouchCondition | MemberLevelCondition | SegmentCondition):
        return True
    return isinstance(node, ChoiceCondition) and node.kind != "city"


# ---------------------------------------------------------------------------------------------------
# Parsing

class _Parser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, key: str, **params: Any) -> None:
        self.problems.append(Problem(path, f"segment.problem.{key}", params))

    # -- small readers (each returns None after recording a problem) --------------------------------

    def keys(self, value: dict, path: str, allowed: set[str], required: set[str] = frozenset()) -> bool:
        ok = True
        for key in sorted(set(value) - allowed):
            self.fail(f"{path}.{key}", "unknown_key", key=key, allowed=", ".join(sorted(allowed)))
            ok = False
        for key in sorted(required - set(value)):
            self.fail(f"{path}.{key}", "missing", key=key)
            ok = False
        return ok

    def obj(self, value: Any, path: str) -> dict | None:
        if not isinstance(value, dict):
            self.fail(path, "not_object")
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int | None = 0, maximum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "not_integer")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(path, "out_of_range", minimum=minimum if minimum is not None else "",
                      maximum=maximum if maximum is not None else "")
            return None
        return value

    def number(self, value: Any, path: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(path, "not_number")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.fail(path, "not_number")
            return None
        return number

    def text(self, value: Any, path: str, max_length: int = 200) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "not_text")
            return None
        if len(value) > max_length:
            self.fail(path, "too_long", maximum=max_length)
            return None
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        if value not in choices:
            self.fail(path, "not_choice", value=str(value)[:60], choices=", ".join(choices))
            return None
        return value

    def items(self, value: Any, path: str, reader, *, allow_empty: bool = False) -> tuple | None:
        if isinstance(value, str | int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or (not value and not allow_empty):
            self.fail(path, "not_list")
            return None
        if len(value) > MAX_LIST:
            self.fail(path, "list_too_long", maximum=MAX_LIST)
            return None
        read = [reader(item, f"{path}[{index}]") for index, item in enumerate(value)]
        if any(item is None for item in read):
            return None
        return tuple(read)

    def ids(self, value: Any, path: str) -> tuple[int, ...] | None:
        return self.items(value, path, lambda item, p: self.integer(item, p, minimum=1))

    def moment(self, value: Any, path: str) -> date | datetime | None:
        if isinstance(value, str):
            try:
                if len(value) == 10:
                    return date.fromisoformat(value)
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is not None:
                    return moment
            except ValueError:
                pass
        self.fail(path, "not_moment")
        return None

    def days(self, value: Any, path: str) -> int | None:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            self.fail(path, "not_duration")
            return None
        amount, unit = int(match.group(1)), match.group(2)
        return amount * (7 if unit == "w" else 1)

    def window(self, node: dict, path: str, *, required: bool = False) -> tuple[bool, Window | None]:
        """Read ``within`` or ``between`` from ``node``. Returns (ok, window)."""
        if "within" in node and "between" in node:
            self.fail(f"{path}.between", "one_window")
            return False, None
        if "within" in node:
            days = self.days(node["within"], f"{path}.within")
            return days is not None, Window(days=days) if days is not None else None
        if "between" in node:
            bounds = node["between"]
            if not isinstance(bounds, list) or len(bounds) != 2:
                self.fail(f"{path}.between", "two_moments")
                return False, None
            start = self.moment(bounds[0], f"{path}.between[0]")
            end = self.moment(bounds[1], f"{path}.between[1]")
            if start is None or end is None:
                return False, None
            if _as_sortable(start) > _as_sortable(end):
                self.fail(f"{path}.between", "reversed")
                return False, None
            return True, Window(start=start, end=end)
        if required:
            self.fail(f"{path}.within", "missing", key="within")
            return False, None
        return True, None

    # -- the grammar --------------------------------------------------------------------------------

    def definition(self, value: Any) -> Definition | None:
        body = self.obj(value, "definition")
        if body is None:
            return None
        if not self.keys(body, "definition", {"version", "condition"}, {"version", "condition"}):
            return None
        if body["version"] != VERSION:
            self.fail("version", "unsupported_version", version=str(body["version"])[:20], supported=VERSION)
            return None
        condition = self.node(body["condition"], "condition", 0)
        return Definition(VERSION, condition) if condition is not None and not self.problems else None

    def node(self, value: Any, path: str, depth: int) -> Node | None:
        if depth > MAX_DEPTH:
            self.fail(path, "too_deep", maximum=MAX_DEPTH)
            return None
        body = self.obj(value, path)
        if body is None:
            return None
        if len(body) != 1:
            self.fail(path, "one_condition", found=", ".join(sorted(map(str, body))) or "-",
                      allowed=", ".join(sorted(CONDITION_READERS) + list(GROUP_KEYS)))
            return None
        kind, inner = next(iter(body.items()))
        here = f"{path}.{kind}"
        if kind in ("all", "any"):
            if not isinstance(inner, list) or not inner:
                self.fail(here, "not_list")
                return None
            children = [self.node(child, f"{here}[{index}]", depth + 1) for index, child in enumerate(inner)]
            if any(child is None for child in children):
                return None
            return (AllOf if kind == "all" else AnyOf)(path, tuple(children))
        if kind == "not":
            child = self.node(inner, here, depth + 1)
            return NotOf(path, child) if child is not None else None
        reader = CONDITION_READERS.get(kind)
        if reader is None:
            self.fail(here, "unknown_condition", kind=kind[:40],
                      allowed=", ".join(sorted(CONDITION_READERS) + list(GROUP_KEYS)))
            return None
        inner = self.obj(inner, here)
        return reader(self, inner, here) if inner is not None else None


def _as_sortable(moment: date | datetime) -> tuple:
    if isinstance(moment, datetime):
        return (moment.date(), moment.timetz().replace(tzinfo=None))
    return (moment, datetime.min.time())


# -- condition readers (one per condition type) ----------------------------------------------------

def _trait(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"name", "op", "value"}, {"name", "op"}):
        return None
    spec = TRAIT_FIELDS.get(node["name"])
    if spec is None:
        p.fail(f"{path}.name", "unknown_trait", name=str(node["name"])[:60], allowed=", ".join(TRAIT_FIELDS))
        return None
    op = node["op"]
    allowed = OPS_BY_KIND[spec.kind]
    if op not in allowed:
        p.fail(f"{path}.op", "bad_op", op=str(op)[:20], name=node["name"], allowed=", ".join(allowed))
        return None
    if op in ("is_set", "is_not_set"):
        if "value" in node:
            p.fail(f"{path}.value", "no_value", op=op)
            return None
        return TraitCondition(path, node["name"], op)
    if "value" not in node:
        p.fail(f"{path}.value", "missing", key="value")
        return None
    value, vpath = node["value"], f"{path}.value"
    if spec.kind == "date":
        if op in ("within", "not_within"):
            days = p.days(value, vpath)
            return None if days is None else TraitCondition(path, node["name"], op, days)
        if op == "between":
            ok, window = p.window({"between": value}, path)
            return TraitCondition(path, node["name"], op, None, window) if ok else None
        # before / after: a moment, or a duration meaning "that long ago"
        if isinstance(value, str) and _DURATION.match(value):
            return TraitCondition(path, node["name"], op, p.days(value, vpath))
        moment = p.moment(value, vpath)
        return None if moment is None else TraitCondition(path, node["name"], op, None, Window(start=moment))

    def scalar(item: Any, item_path: str) -> Any:
        if spec.kind in ("number", "integer"):
            number = p.number(item, item_path)
            return None if number is None else str(number)
        if spec.kind == "id":
            return p.integer(item, item_path, minimum=1)
        if spec.kind == "choice":
            return p.choice(item, item_path, spec.choices)
        return p.text(item, item_path)

    if op in ("in", "not_in"):
        values = p.items(value, vpath, scalar)
        return None if values is None else TraitCondition(path, node["name"], op, list(values))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            p.fail(vpath, "two_values")
            return None
        low, high = scalar(value[0], f"{vpath}[0]"), scalar(value[1], f"{vpath}[1]")
        if low is None or high is None:
            return None
        if Decimal(low) > Decimal(high):
            p.fail(vpath, "reversed")
            return None
        return TraitCondition(path, node["name"], op, [low, high])
    checked = scalar(value, vpath)
    return None if checked is None else TraitCondition(path, node["name"], op, checked)


def _tag(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"any", "all", "none", "source"}):
        return None
    modes = [mode for mode in ("any", "all", "none") if mode in node]
    if len(modes) != 1:
        p.fail(f"{path}.any", "one_tag_mode")
        return None
    source = node.get("source", "customer")
    if p.choice(source, f"{path}.source", ("customer", "relation")) is None:
        return None
    tag_ids = p.ids(node[modes[0]], f"{path}.{modes[0]}")
    return None if tag_ids is None else TagCondition(path, modes[0], tag_ids, source)


def _count(p: _Parser, node: dict, path: str, default: tuple[str, int]) -> tuple[str, int] | None:
    if "count" not in node:
        return default
    body = p.obj(node["count"], f"{path}.count")
    if body is None or not p.keys(body, f"{path}.count", {"op", "value"}, {"op", "value"}):
        return None
    op = p.choice(body["op"], f"{path}.count.op", COUNT_OPS)
    value = p.integer(body["value"], f"{path}.count.value", minimum=0, maximum=10**9)
    return None if op is None or value is None else (op, value)


def _property_filter(p: _Parser, item: Any, path: str) -> PropertyFilter | None:
    body = p.obj(item, path)
    if body is None or not p.keys(body, path, {"property", "op", "value"}, {"property", "op"}):
        return None
    name = p.text(body["property"], f"{path}.property", 100)
    op = p.choice(body["op"], f"{path}.op", PROPERTY_OPS)
    if name is None or op is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_$\-\u4e00-\u9fff]+", name):
        p.fail(f"{path}.property", "bad_property")
        return None
    if op in ("is_set", "is_not_set"):
        return PropertyFilter(name, op)
    if "value" not in body:
        p.fail(f"{path}.value", "missing", key="value")
        return None
    value = body["value"]
    if op in ("in", "not_in"):
        values = p.items(value, f"{path}.value", lambda v, vp: v if isinstance(v, str | int | float)
                         and not isinstance(v, bool) else p.fail(vp, "not_scalar"))
        return None if values is None else PropertyFilter(name, op, [str(v) for v in values])
    if op in ("<", "<=", ">", ">="):
        number = p.number(value, f"{path}.value")
        return None if number is None else PropertyFilter(name, op, float(number))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        p.fail(f"{path}.value", "not_scalar")
        return None
    return PropertyFilter(name, op, str(value))


def _event(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"name", "performed", "count", "within", "between", "where"}, {"name"}):
        return None
    name = p.text(node["name"], f"{path}.name")
    performed = node.get("performed", True)
    if not isinstance(performed, bool):
        p.fail(f"{path}.performed", "not_boolean")
        return None
    if not performed and "count" in node:
        p.fail(f"{path}.count", "count_with_not_performed")
        return None
    count = _count(p, node, path, (">=", 1))
    ok, window = p.window(node, path)
    where: tuple | None = ()
    if "where" in node:
        where = p.items(node["where"], f"{path}.where", lambda item, ip: _property_filter(p, item, ip))
    if name is None or count is None or not ok or where is None:
        return None
    count_op, count_value = count if performed else ("=", 0)
    return EventCondition(path, name, performed, count_op, count_value, window, where)


def _order(p: _Parser, node: dict, path: str) -> Node | None:
    allowed = {"metric", "op", "value", "within", "between", "category", "platform", "store"}
    if not p.keys(node, path, allowed):
        return None
    metric = p.choice(node.get("metric", "count"), f"{path}.metric", ORDER_METRICS)
    op = p.choice(node.get("op", ">="), f"{path}.op", COUNT_OPS)
    value = p.number(node.get("value", 1), f"{path}.value")
    ok, window = p.window(node, path)
    categories = p.items(node["category"], f"{path}.category", p.text) if "category" in node else ()
    platforms = p.items(node["platform"], f"{path}.platform", p.text) if "platform" in node else ()
    stores = p.ids(node["store"], f"{path}.store") if "store" in node else ()
    if None in (metric, op, value, categories, platforms, stores) or not ok:
        return None
    return OrderCondition(path, metric, op, value, window, categories, platforms, stores)


def _choice_reader(kind: str, key: str, choices: tuple[str, ...] | None):
    def read(p: _Parser, node: dict, path: str) -> Node | None:
        if not p.keys(node, path, {key, "negate"}, {key}):
            return None
        reader = (lambda item, ip: p.choice(item, ip, choices)) if choices else p.text
        values = p.items(node[key], f"{path}.{key}", reader)
        negate = node.get("negate", False)
        if not isinstance(negate, bool):
            p.fail(f"{path}.negate", "not_boolean")
            return None
        return None if values is None else ChoiceCondition(path, kind, values, negate)

    return read


def _relation(p: _Parser, node: dict, path: str) -> Node | None:
    allowed = {"staff", "department", "state", "channel_code", "added_within", "added_between", "status"}
    if not p.keys(node, path, allowed):
        return None
    staff = p.ids(node["staff"], f"{path}.staff") if "staff" in node else ()
    department = p.integer(node["department"], f"{path}.department", 1) if "department" in node else 0
    states = p.items(node["state"], f"{path}.state", p.text) if "state" in node else ()
    codes = p.ids(node["channel_code"], f"{path}.channel_code") if "channel_code" in node else ()
    window_source = {}
    if "added_within" in node:
        window_source["within"] = node["added_within"]
    if "added_between" in node:
        window_source["between"] = node["added_between"]
    ok, added = p.window(window_source, path)
    status = p.choice(node.get("status", "active"), f"{path}.status", RELATION_STATUSES)
    if None in (staff, department, states, codes, status) or not ok:
        return None
    return RelationCondition(path, staff, department or None, states, codes, added, status)


def _group_chat(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"chats"}):
        return None
    chats = p.ids(node["chats"], f"{path}.chats") if "chats" in node else ()
    return None if chats is None else GroupChatCondition(path, chats)


def _segment(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"id"}, {"id"}):
        return None
    segment_id = p.integer(node["id"], f"{path}.id", 1)
    return None if segment_id is None else SegmentCondition(path, segment_id)


def _identity(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"kind", "present"}, {"kind"}):
        return None
    kind = p.choice(node["kind"], f"{path}.kind", tuple(kind.value for kind in IdentityKind))
    present = node.get("present", True)
    if not isinstance(present, bool):
        p.fail(f"{path}.present", "not_boolean")
        return None
    return None if kind is None else IdentityCondition(path, kind, present)


def _bucket(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"salt", "buckets", "from", "to"}, {"salt", "from", "to"}):
        return None
    salt = p.text(node["salt"], f"{path}.salt", 64)
    buckets = p.integer(node.get("buckets", 100), f"{path}.buckets", 2, 10000)
    if buckets is None:
        return None
    start = p.integer(node["from"], f"{path}.from", 0, buckets - 1)
    end = p.integer(node["to"], f"{path}.to", 0, buckets - 1)
    if salt is None or start is None or end is None:
        return None
    if start > end:
        p.fail(f"{path}.to", "reversed")
        return None
    return BucketCondition(path, salt, buckets, start, end)


def _touch(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"channel", "within", "between", "count", "status"}):
        return None
    channels = p.items(node["channel"], f"{path}.channel", p.text) if "channel" in node else ()
    statuses = p.items(node["status"], f"{path}.status", p.text) if "status" in node else ()
    count = _count(p, node, path, (">=", 1))
    ok, window = p.window(node, path)
    if channels is None or statuses is None or count is None or not ok:
        return None
    return TouchCondition(path, channels, window, count[0], count[1], statuses)


def _member_level(p: _Parser, node: dict, path: str) -> Node | None:
    if not p.keys(node, path, {"levels"}, {"levels"}):
        return None
    levels = p.ids(node["levels"], f"{path}.levels")
    return None if levels is None else MemberLevelCondition(path, levels)


CONDITION_READERS = {
    "trait": _trait,
    "tag": _tag,
    "event": _event,
    "order": _order,
    "rfm": _choice_reader("rfm", "classes", RFM_CLASS_CODES),
    "lifecycle": _choice_reader("lifecycle", "stages", LIFECYCLE_STAGES),
    "city": _choice_reader("city", "in", None),
    "relation": _relation,
    "group_chat": _group_chat,
    "segment": _segment,
    "identity": _identity,
    "bucket": _bucket,
    "touch": _touch,
    "member_level": _member_level,
}


def parse_definition(value: Any) -> Definition:
    """The parsed definition, or ``DefinitionInvalid`` listing every problem with its path."""
    parser = _Parser()
    definition = parser.definition(value)
    if parser.problems or definition is None:
        raise DefinitionInvalid(parser.problems or [Problem("definition", "segment.problem.not_object")])
    return definition
