"""Journey definitions: the JSON an operator writes, and its validation.

A definition (documented with examples in ``docs/journeys.md``)::

    {"trigger": {"type": "order_placed", "min_amount": "100"},
     "reentry": {"mode": "after_exit"},            # once | after_exit | after_days (+ "days")
     "goal": {"type": "order_placed", "within_days": 14, "exit": true},
     "timezone": "Asia/Shanghai",
     "nodes": [{"id": "thanks", "type": "send_message", "text": "谢谢惠顾", "next": "wait"},
               {"id": "wait", "type": "wait", "duration": {"days": 3}, "next": "done"},
               {"id": "done", "type": "exit"}]}

The first node is where enrolments start. Nodes point at their successors by id (``next``; a
condition has ``yes``/``no``, a split ``branches``, an event wait ``next``/``timeout_next``); a
missing ``next`` ends the enrolment after the node. The graph must have no cycles, so every node is
executed at most once per enrolment — which is what makes the (enrolment, node) step log an
idempotency key.

``validate_definition`` returns every problem at once, each naming the node and field, as
``DefinitionProblem`` values; ``check_definition`` raises ``JourneyInvalid`` with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from siyu.kit.errors import InvalidInput
from siyu.kit.i18n import translate

TRIGGERS = ("channel_code", "segment_entered", "segment_left", "event", "order_placed", "tag_added",
            "date_trait", "manual")
DATE_TRAITS = ("birthday", "membership_anniversary", "points_expiring")
REENTRY_MODES = ("once", "after_exit", "after_days")
NODE_TYPES = ("wait", "wait_until", "wait_event", "condition", "split", "context_branch", "send_message", "add_tag", "remove_tag",
              "issue_coupon", "invite_group", "staff_task", "webhook", "update_trait", "goal", "exit")
SEND_VIA = ("staff", "staff_task")
PRIORITIES = ("service", "transactional", "marketing")
#: traits a journey may write: the customer's own profile fields and free-text traits
WRITABLE_TRAITS = ("city", "favourite_category")
DURATION_UNITS = ("days", "hours", "minutes", "seconds")
MAX_NODES = 200
NODE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class DefinitionProblem:
    """One thing wrong with a definition: where (``node`` id or None for the journey), which field,
    and a catalogue key with its parameters."""

    node: str | None
    field: str
    key: str
    params: tuple[tuple[str, Any], ...] = ()

    def message(self, language: str | None = None) -> str:
        where = (translate("journey.problem.at_node", language, node=self.node, field=self.field)
                 if self.node is not None else translate("journey.problem.at_field", language, field=self.field))
        params = dict(self.params)
        if isinstance(params.get("detail"), str) and params["detail"].startswith("segment.problem."):
            # a problem the segment language found: its own message, in the same language
            params["detail"] = translate(params["detail"], language, **dict(params.get("detail_params") or {}))
        params.pop("detail_params", None)
        return f"{where}{translate(self.key, language, **params)}"

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        return {"node": self.node, "field": self.field, "code": self.key.rsplit(".", 1)[-1],
                "message": self.message(language)}


class JourneyInvalid(InvalidInput):
    """A definition with problems; the response lists every one of them."""

    def __init__(self, problems: list[DefinitionProblem]) -> None:
        first = problems[0]
        super().__init__("error.journey_invalid", field=f"nodes.{first.node}.{first.field}" if first.node
                         else first.field, count=len(problems))
        self.problems = problems

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        body = super().to_dict(language)
        body["problems"] = [problem.to_dict(language) for problem in self.problems]
        return body


class _Checker:
    def __init__(self, known: KnownIds | None) -> None:
        self.problems: list[DefinitionProblem] = []
        self.known = known

    def add(self, node: str | None, field: str, reason: str, **params: Any) -> None:
        self.problems.append(DefinitionProblem(node, field, f"journey.problem.{reason}", tuple(params.items())))

    def require(self, spec: dict, node: str | None, field: str, kinds: type | tuple[type, ...]) -> Any:
        value = spec.get(field)
        if value is None or value == "":
            self.add(node, field, "required")
            return None
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)) \
                or not isinstance(value, kinds):
            self.add(node, field, "wrong_type")
            return None
        return value

    def positive_int(self, spec: dict, node: str | None, field: str, *, optional: bool = False,
                     maximum: int = 3650) -> int | None:
        value = spec.get(field)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
            self.add(node, field, "positive_integer", maximum=maximum)
            return None
        return value

    def known_id(self, spec: dict, node: str | None, field: str, kind: str) -> None:
        value = self.require(spec, node, field, int)
        if value is not None and self.known is not None and value not in self.known.get(kind):
            self.add(node, field, "unknown_reference", kind=kind, value=value)


@dataclass
class KnownIds:
    """Ids that exist in the corp, to check references against (None: not checked)."""

    tags: set[int] | None = None
    segments: set[int] | None = None
    channel_codes: set[int] | None = None

    def get(self, kind: str) -> set[int]:
        found = getattr(self, kind, None)
        return found if found is not None else _Anything()


class _Anything(set):
    def __contains__(self, item: object) -> bool:
        return True


def duration_of(spec: Any) -> timedelta | None:
    """A ``{"days": 1, "hours": 2}`` duration, or None when it is not one."""
    if not isinstance(spec, dict) or not spec or set(spec) - set(DURATION_UNITS):
        return None
    values = list(spec.values())
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        return None
    total = timedelta(**spec)
    return total if total > timedelta(0) and total <= timedelta(days=3650) else None


def _check_trigger(check: _Checker, trigger: Any, condition_check) -> None:
    if not isinstance(trigger, dict):
        check.add(None, "trigger", "required")
        return
    kind = trigger.get("type")
    if kind not in TRIGGERS:
        check.add(None, "trigger.type", "one_of", choices=", ".join(TRIGGERS))
        return
    if kind == "channel_code":
        if trigger.get("state") is None:
            check.known_id(trigger, None, "channel_code_id", "channel_codes")
    elif kind in ("segment_entered", "segment_left"):
        check.known_id(trigger, None, "segment_id", "segments")
    elif kind == "event":
        check.require(trigger, None, "name", str)
    elif kind == "order_placed":
        if trigger.get("min_amount") is not None:
            try:
                Decimal(str(trigger["min_amount"]))
            except InvalidOperation:
                check.add(None, "trigger.min_amount", "wrong_type")
    elif kind == "tag_added":
        check.known_id(trigger, None, "tag_id", "tags")
    elif kind == "date_trait":
        if trigger.get("trait") not in DATE_TRAITS:
            check.add(None, "trigger.trait", "one_of", choices=", ".join(DATE_TRAITS))
        days = trigger.get("days_before", 0)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            check.add(None, "trigger.days_before", "positive_integer", maximum=365)
    if trigger.get("condition") is not None:
        condition_check(check, None, "trigger.condition", trigger["condition"])


def _check_node(check: _Checker, node: dict, ids: set[str], condition_check) -> list[tuple[str, str]]:
    """Problems of one node; returns its (field, successor id) edges."""
    node_id, kind = node["id"], node.get("type")
    edges: list[tuple[str, str]] = []
    if kind not in NODE_TYPES:
        check.add(node_id, "type", "one_of", choices=", ".join(NODE_TYPES))
        return edges

    def successor(field: str, required: bool = False) -> None:
        target = node.get(field)
        if target is None:
            if required:
                check.add(node_id, field, "required")
            return
        if not isinstance(target, str) or target not in ids:
            check.add(node_id, field, "unknown_node", target=str(target))
            return
        edges.append((field, target))

    if kind != "exit":
        successor("next")
    if kind == "wait":
        if duration_of(node.get("duration")) is None:
            check.add(node_id, "duration", "duration")
    elif kind == "wait_until":
        if not isinstance(node.get("time"), str) or not TIME_OF_DAY.match(node["time"]):
            check.add(node_id, "time", "time_of_day")
        weekdays = node.get("weekdays")
        if weekdays is not None and (not isinstance(weekdays, list) or not weekdays
                                     or any(d not in range(1, 8) or isinstance(d, bool) for d in weekdays)):
            check.add(node_id, "weekdays", "weekdays")
    elif kind == "wait_event":
        if (node.get("event") is None) == (node.get("segment_id") is None):
            check.add(node_id, "event", "event_or_segment")
        elif node.get("segment_id") is not None:
            check.known_id(node, node_id, "segment_id", "segments")
        elif not isinstance(node.get("event"), str) or not node["event"]:
            check.add(node_id, "event", "wrong_type")
        if duration_of(node.get("timeout")) is None:
            check.add(node_id, "timeout", "duration")
        successor("timeout_next")
    elif kind == "condition":
        if node.get("condition") is None:
            check.add(node_id, "condition", "required")
        else:
            condition_check(check, node_id, "condition", node["condition"])
        successor("yes")
        successor("no")
        if "next" in node:
            check.add(node_id, "next", "use_yes_no")
    elif kind == "split":
        branches = node.get("branches")
        if not isinstance(branches, list) or len(branches) < 2:
            check.add(node_id, "branches", "split_branches")
        else:
            keys, total = set(), 0
            for index, branch in enumerate(branches):
                field = f"branches[{index}]"
                if not isinstance(branch, dict) or not isinstance(branch.get("key"), str) \
                        or not NODE_ID.match(branch.get("key", "")) or branch["key"] in keys:
                    check.add(node_id, f"{field}.key", "split_key")
                    continue
                keys.add(branch["key"])
                weight = branch.get("weight")
                if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
                    check.add(node_id, f"{field}.weight", "positive_integer", maximum=100)
                else:
                    total += weight
                target = branch.get("next")
                if target is not None and target not in ids:
                    check.add(node_id, f"{field}.next", "unknown_node", target=str(target))
                elif target is not None:
                    edges.append((f"{field}.next", target))
            if total != 100 and not any(p.node == node_id for p in check.problems):
                check.add(node_id, "branches", "weights_sum", total=total)
    elif kind == "context_branch":
        from siyu.journey.context import providers

        if node.get("provider") not in providers():
            check.add(node_id, "provider", "one_of", choices=", ".join(providers()))
        branches = node.get("branches")
        if not isinstance(branches, list) or not branches:
            check.add(node_id, "branches", "required")
        else:
            for index, branch in enumerate(branches):
                if not isinstance(branch, dict) or not isinstance(branch.get("when"), str):
                    check.add(node_id, f"branches[{index}].when", "required")
                    continue
                target = branch.get("next")
                if target is not None and target not in ids:
                    check.add(node_id, f"branches[{index}].next", "unknown_node", target=str(target))
                elif target is not None:
                    edges.append((f"branches[{index}].next", target))
        successor("default")
        if "next" in node:
            check.add(node_id, "next", "use_branches")
    elif kind == "send_message":
        check.require(node, node_id, "text", str)
        if node.get("via", "staff") not in SEND_VIA:
            check.add(node_id, "via", "one_of", choices=", ".join(SEND_VIA))
        if node.get("priority", "marketing") not in PRIORITIES:
            check.add(node_id, "priority", "one_of", choices=", ".join(PRIORITIES))
    elif kind in ("add_tag", "remove_tag"):
        check.known_id(node, node_id, "tag_id", "tags")
    elif kind == "issue_coupon":
        check.require(node, node_id, "coupon_template_id", int)
    elif kind == "invite_group":
        check.require(node, node_id, "group_code_id", int)
    elif kind == "staff_task":
        check.require(node, node_id, "title", str)
        check.positive_int(node, node_id, "due_days", optional=True, maximum=90)
    elif kind == "webhook":
        url = check.require(node, node_id, "url", str)
        if url is not None and not re.match(r"^https?://[^\s/]+", url):
            check.add(node_id, "url", "url")
        check.require(node, node_id, "secret", str)
    elif kind == "update_trait":
        if node.get("trait") not in WRITABLE_TRAITS:
            check.add(node_id, "trait", "one_of", choices=", ".join(WRITABLE_TRAITS))
        value = node.get("value")
        if not isinstance(value, str) or not value or len(value) > 64:
            check.add(node_id, "value", "short_text", maximum=64)
    return edges


def _find_cycle(graph: dict[str, list[str]]) -> str | None:
    state: dict[str, int] = {}

    def visit(node: str) -> str | None:
        state[node] = 1
        for target in graph.get(node, []):
            if state.get(target) == 1:
                return target
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def validate_definition(definition: Any, *, condition_check=None, known: KnownIds | None = None
                        ) -> list[DefinitionProblem]:
    """Every problem of ``definition`` (empty: it can be published)."""
    from siyu.journey.ports import check_condition

    condition_check = condition_check or check_condition
    check = _Checker(known)
    if not isinstance(definition, dict):
        check.add(None, "definition", "required")
        return check.problems
    _check_trigger(check, definition.get("trigger"), condition_check)
    reentry = definition.get("reentry", {"mode": "once"})
    if not isinstance(reentry, dict) or reentry.get("mode") not in REENTRY_MODES:
        check.add(None, "reentry.mode", "one_of", choices=", ".join(REENTRY_MODES))
    elif reentry["mode"] == "after_days":
        check.positive_int(reentry, None, "days")
    goal = definition.get("goal")
    if goal is not None:
        if not isinstance(goal, dict) or goal.get("type") not in ("order_placed", "event"):
            check.add(None, "goal.type", "one_of", choices="order_placed, event")
        else:
            if goal["type"] == "event" and not isinstance(goal.get("name"), str):
                check.add(None, "goal.name", "required")
            check.positive_int(goal, None, "within_days", maximum=365)
    try:
        ZoneInfo(definition.get("timezone", "Asia/Shanghai"))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        check.add(None, "timezone", "timezone")
    nodes = definition.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        check.add(None, "nodes", "no_nodes")
        return check.problems
    if len(nodes) > MAX_NODES:
        check.add(None, "nodes", "too_many_nodes", maximum=MAX_NODES)
        return check.problems
    ids: set[str] = set()
    valid_nodes = []
    for index, node in enumerate(nodes):
        node_id = node.get("id") if isinstance(node, dict) else None
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            check.add(None, f"nodes[{index}].id", "node_id")
        elif node_id in ids:
            check.add(node_id, "id", "duplicate_node")
        else:
            ids.add(node_id)
            valid_nodes.append(node)
    graph = {node["id"]: [target for _, target in _check_node(check, node, ids, condition_check)]
             for node in valid_nodes}
    cycle = _find_cycle(graph)
    if cycle is not None:
        check.add(cycle, "next", "cycle")
    elif valid_nodes:
        reached, frontier = {valid_nodes[0]["id"]}, [valid_nodes[0]["id"]]
        while frontier:
            for target in graph.get(frontier.pop(), []):
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        for node in valid_nodes:
            if node["id"] not in reached:
                check.add(node["id"], "id", "unreachable")
    return check.problems


def check_definition(definition: Any, **options: Any) -> dict[str, Any]:
    """``definition`` if it has no problems; raises ``JourneyInvalid`` listing them otherwise."""
    problems = validate_definition(definition, **options)
    if problems:
        raise JourneyInvalid(problems)
    return definition


class Flow:
    """A validated definition, indexed for the engine."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition
        self.nodes: dict[str, dict[str, Any]] = {node["id"]: node for node in definition["nodes"]}
        self.start: str = definition["nodes"][0]["id"]
        self.timezone = ZoneInfo(definition.get("timezone", "Asia/Shanghai"))
        self.reentry: dict[str, Any] = definition.get("reentry", {"mode": "once"})
        self.goal: dict[str, Any] | None = definition.get("goal")
        self.trigger: dict[str, Any] = definition["trigger"]

    def node(self, node_id: str) -> dict[str, Any]:
        return self.nodes[node_id]
