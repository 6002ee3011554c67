"""The structured tree the console draws a definition as: nodes in the order a customer meets them,
indented under the branch that leads to them; a node reached a second way is shown once and
referred to (``join``) elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TreeRow:
    depth: int
    #: how the path got here: "next", "yes", "no", a split key, "matched", "timeout", "default"
    via: str | None
    node: dict[str, Any] | None
    #: the id of a node already drawn above (a join), when ``node`` is None
    join: str | None = None
    #: the join names a node the definition does not have
    missing: bool = False


def successors(node: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, target id) of a node's outgoing edges, in the order to draw them."""
    kind = node.get("type")
    edges: list[tuple[str, Any]] = []
    if kind == "condition":
        edges = [("yes", node.get("yes")), ("no", node.get("no"))]
    elif kind == "split":
        edges = [(str(b.get("key")), b.get("next")) for b in node.get("branches") or [] if isinstance(b, dict)]
    elif kind == "context_branch":
        edges = [(str(b.get("when")), b.get("next")) for b in node.get("branches") or [] if isinstance(b, dict)]
        edges.append(("default", node.get("default")))
    elif kind == "wait_event":
        edges = [("matched", node.get("next")), ("timeout", node.get("timeout_next"))]
    elif kind != "exit":
        edges = [("next", node.get("next"))]
    return [(label, target) for label, target in edges if isinstance(target, str)]


def tree_rows(definition: Any) -> list[TreeRow]:
    if not isinstance(definition, dict) or not isinstance(definition.get("nodes"), list):
        return []
    nodes = [n for n in definition["nodes"] if isinstance(n, dict) and isinstance(n.get("id"), str)]
    by_id = {n["id"]: n for n in nodes}
    rows: list[TreeRow] = []
    drawn: set[str] = set()

    def walk(node_id: str, depth: int, via: str | None) -> None:
        node = by_id.get(node_id)
        if node is None or node_id in drawn:
            rows.append(TreeRow(depth, via, None, join=node_id, missing=node is None))
            return
        drawn.add(node_id)
        rows.append(TreeRow(depth, via, node))
        edges = successors(node)
        for label, target in edges:
            # a single "next" continues at the same depth: a straight line reads as a list
            walk(target, depth if len(edges) == 1 and label == "next" else depth + 1, label)

    if nodes:
        walk(nodes[0]["id"], 0, None)
    for node in nodes:
        if node["id"] not in drawn:
            walk(node["id"], 0, None)
    return rows


_SUMMARY_FIELDS = ("duration", "time", "weekdays", "event", "segment_id", "timeout", "text", "via", "priority",
                   "tag_id", "coupon_template_id", "group_code_id", "title", "url", "trait", "value", "provider")


def summary(node: dict[str, Any]) -> str:
    """The node's settings in one line (what the operator wrote, without ids of successors)."""
    import json

    parts = []
    for name in _SUMMARY_FIELDS:
        if name in node:
            value = node[name]
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            parts.append(f"{name}: {shown[:60]}")
    if node.get("type") == "condition" and "condition" in node:
        parts.append(json.dumps(node["condition"], ensure_ascii=False)[:80])
    if node.get("type") == "split":
        parts.append(" / ".join(f"{b.get('key')} {b.get('weight')}%" for b in node.get("branches") or []
                                if isinstance(b, dict)))
    return " · ".join(parts)
