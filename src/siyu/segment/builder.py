"""The console builder's model: a definition as a tree of form rows, and back.

Every node of the tree has an id that is its position (``r``, ``r-0``, ``r-0-2``) and is posted as flat
form fields ``<id>.type``, ``<id>.not`` and one field per input of its condition type
(``<id>.name``, ``<id>.op`` …). The server rebuilds the tree from the post, applies the operator's
action (add a condition or a group, remove a node), turns it into a definition in the segment
language, and renders it again — no state lives in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from siyu.segment import language as lang

GROUP_TYPES = ("all", "any")
CONDITION_TYPES = ("trait", "tag", "event", "order", "rfm", "lifecycle", "member_level", "relation", "group_chat",
                   "segment", "identity", "city", "bucket", "touch")
#: inputs of each condition type: (field, widget); choices come from the page context
INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "trait": (("name", "select"), ("op", "select"), ("value", "text")),
    "tag": (("mode", "select"), ("tags", "multi"), ("source", "select")),
    "event": (("name", "text"), ("performed", "select"), ("count_op", "select"), ("count", "number"),
              ("within", "text")),
    "order": (("metric", "select"), ("op", "select"), ("value", "number"), ("within", "text"),
              ("category", "text"), ("platform", "text"), ("store", "select")),
    "rfm": (("classes", "multi"),),
    "lifecycle": (("stages", "multi"),),
    "member_level": (("levels", "multi"),),
    "relation": (("staff", "multi"), ("department", "select"), ("state", "text"), ("status", "select"),
                 ("added_within", "text")),
    "group_chat": (("chats", "multi"),),
    "segment": (("id", "select"),),
    "identity": (("kind", "select"), ("present", "select")),
    "city": (("in", "text"),),
    "bucket": (("salt", "text"), ("buckets", "number"), ("from", "number"), ("to", "number")),
    "touch": (("channel", "select"), ("within", "text")),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "trait": {"name": "total_spend", "op": ">=", "value": "500"},
    "tag": {"mode": "any", "tags": [], "source": "customer"},
    "event": {"name": "", "performed": "true", "count_op": ">=", "count": "1", "within": "30d"},
    "order": {"metric": "count", "op": ">=", "value": "1", "within": "90d", "category": "", "platform": "",
              "store": ""},
    "rfm": {"classes": ["important_value"]},
    "lifecycle": {"stages": ["active"]},
    "member_level": {"levels": []},
    "relation": {"staff": [], "department": "", "state": "", "status": "active", "added_within": ""},
    "group_chat": {"chats": []},
    "segment": {"id": ""},
    "identity": {"kind": "phone", "present": "true"},
    "city": {"in": ""},
    "bucket": {"salt": "ab", "buckets": "2", "from": "0", "to": "0"},
    "touch": {"channel": "broadcast", "within": "7d"},
}


@dataclass
class Row:
    id: str
    type: str
    negate: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    children: list[Row] = field(default_factory=list)
    #: the path of this node in the definition (problems point below it) and of the node whose count
    #: is shown next to it (the NOT itself when it is negated)
    path: str = ""
    count_path: str = ""

    @property
    def group(self) -> bool:
        return self.type in GROUP_TYPES

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _csv(text: str) -> list[str]:
    return [part.strip() for part in str(text or "").replace("，", ",").split(",") if part.strip()]


def _number(text: Any) -> Any:
    text = str(text or "").strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def _ids(values: Any) -> list[Any]:
    return [_number(value) for value in (values or []) if str(value).strip()]


# -- form ⇄ rows -----------------------------------------------------------------------------------------

def rows_from_form(form: Any) -> Row:
    """The tree posted by the builder (``form``: a multi-dict with ``getlist``)."""
    ids = form.getlist("node") or ["r"]
    rows: dict[str, Row] = {}
    for node_id in ids:
        kind = form.get(f"{node_id}.type") or "all"
        values: dict[str, Any] = {}
        for name, widget in INPUTS.get(kind, ()):
            key = f"{node_id}.{name}"
            values[name] = form.getlist(key) if widget == "multi" else (form.get(key) or "")
        was = form.get(f"{node_id}.was") or kind
        if was != kind and kind in DEFAULTS:
            values = dict(DEFAULTS[kind])  # the operator switched the condition's type
        rows[node_id] = Row(node_id, kind, form.get(f"{node_id}.not") == "on", values)
    for node_id in ids[1:]:
        parent = rows.get(node_id.rsplit("-", 1)[0])
        if parent is not None and parent.group:
            parent.children.append(rows[node_id])
    root = rows[ids[0]]
    for row in root.walk():
        if row.group and not row.children:
            row.children.append(new_row("trait"))
    return renumber(root)


def renumber(root: Row, node_id: str = "r") -> Row:
    root.id = node_id
    for index, child in enumerate(root.children):
        renumber(child, f"{node_id}-{index}")
    return root


def new_row(kind: str) -> Row:
    if kind in GROUP_TYPES:
        return Row("", kind, children=[new_row("trait")])
    return Row("", kind, values=dict(DEFAULTS[kind]))


def apply_action(root: Row, action: str) -> Row:
    """``add:<id>:<type>`` (a child of group ``<id>``), ``remove:<id>``, ``type:<id>:<type>``."""
    parts = action.split(":")
    rows = {row.id: row for row in root.walk()}
    if parts[0] == "add" and len(parts) == 3 and parts[1] in rows and rows[parts[1]].group:
        if parts[2] in GROUP_TYPES + CONDITION_TYPES:
            rows[parts[1]].children.append(new_row(parts[2]))
    elif parts[0] == "remove" and len(parts) == 2 and parts[1] in rows and parts[1] != "r":
        parent = rows[parts[1].rsplit("-", 1)[0]]
        parent.children = [child for child in parent.children if child.id != parts[1]]
    return renumber(root)


# -- rows → definition -------------------------------------------------------------------------------------

def _condition(row: Row) -> dict[str, Any]:
    v = row.values
    if row.type == "trait":
        spec = lang.TRAIT_FIELDS.get(v.get("name"))
        body: dict[str, Any] = {"name": v.get("name"), "op": v.get("op")}
        if v.get("op") not in ("is_set", "is_not_set"):
            value: Any = v.get("value", "")
            if v.get("op") in ("in", "not_in", "between"):
                value = _csv(value)
            if spec is not None and spec.kind == "id":
                value = [_number(item) for item in value] if isinstance(value, list) else _number(value)
            body["value"] = value
        return {"trait": body}
    if row.type == "tag":
        return {"tag": {v.get("mode") or "any": _ids(v.get("tags")), "source": v.get("source") or "customer"}}
    if row.type == "event":
        body = {"name": v.get("name", "")}
        if v.get("performed") == "false":
            body["performed"] = False
        elif (v.get("count_op"), str(v.get("count"))) != (">=", "1"):
            body["count"] = {"op": v.get("count_op"), "value": _number(v.get("count"))}
        if v.get("within"):
            body["within"] = v["within"].strip()
        return {"event": body}
    if row.type == "order":
        body = {"metric": v.get("metric"), "op": v.get("op"), "value": _number(v.get("value"))}
        if v.get("within"):
            body["within"] = v["within"].strip()
        for name in ("category", "platform"):
            if _csv(v.get(name)):
                body[name] = _csv(v.get(name))
        if str(v.get("store") or "").strip():
            body["store"] = [_number(v["store"])]
        return {"order": body}
    if row.type in ("rfm", "lifecycle", "member_level", "group_chat"):
        key = {"rfm": "classes", "lifecycle": "stages", "member_level": "levels", "group_chat": "chats"}[row.type]
        values = v.get(key) or []
        values = _ids(values) if row.type in ("member_level", "group_chat") else list(values)
        return {row.type: {key: values} if values or row.type != "group_chat" else {}}
    if row.type == "relation":
        body = {"status": v.get("status") or "active"}
        if _ids(v.get("staff")):
            body["staff"] = _ids(v.get("staff"))
        if str(v.get("department") or "").strip():
            body["department"] = _number(v["department"])
        if _csv(v.get("state")):
            body["state"] = _csv(v.get("state"))
        if v.get("added_within"):
            body["added_within"] = v["added_within"].strip()
        return {"relation": body}
    if row.type == "segment":
        return {"segment": {"id": _number(v.get("id"))}}
    if row.type == "identity":
        return {"identity": {"kind": v.get("kind"), "present": v.get("present") != "false"}}
    if row.type == "city":
        return {"city": {"in": _csv(v.get("in"))}}
    if row.type == "bucket":
        return {"bucket": {"salt": v.get("salt", ""), "buckets": _number(v.get("buckets")),
                           "from": _number(v.get("from")), "to": _number(v.get("to"))}}
    if row.type == "touch":
        body = {"channel": v.get("channel") or "broadcast"}
        if v.get("within"):
            body["within"] = v["within"].strip()
        return {"touch": body}
    raise ValueError(row.type)


def to_definition(root: Row) -> dict[str, Any]:
    """The definition of the tree; sets each row's ``path`` to its node's path in it."""

    def build(row: Row, path: str) -> dict[str, Any]:
        row.count_path = path
        if row.negate:
            path = f"{path}.not"
        if row.group:
            node: dict[str, Any] = {row.type: [build(child, f"{path}.{row.type}[{index}]")
                                               for index, child in enumerate(row.children)]}
            row.path = path
        else:
            node = _condition(row)
            row.path = f"{path}.{row.type}"
        if not row.negate:
            row.count_path = row.path
        return {"not": node} if row.negate else node

    return {"version": lang.VERSION, "condition": build(root, "condition")}


# -- definition → rows -------------------------------------------------------------------------------------

def rows_from_definition(definition: dict[str, Any] | None) -> Row:
    """The tree of a saved definition (unknown shapes fall back to a fresh group)."""
    condition = (definition or {}).get("condition")
    if not isinstance(condition, dict):
        return renumber(new_row("all"))
    return renumber(_row(condition))


def _row(node: dict[str, Any]) -> Row:
    kind, inner = next(iter(node.items()))
    if kind == "not":
        row = _row(inner)
        row.negate = not row.negate
        return row
    if kind in GROUP_TYPES:
        return Row("", kind, children=[_row(child) for child in inner])
    values = dict(DEFAULTS.get(kind, {}))
    if kind == "trait":
        value = inner.get("value", "")
        values.update(name=inner.get("name"), op=inner.get("op"),
                      value=", ".join(map(str, value)) if isinstance(value, list) else str(value))
    elif kind == "tag":
        mode = next((m for m in ("any", "all", "none") if m in inner), "any")
        values.update(mode=mode, tags=[str(t) for t in inner.get(mode, [])], source=inner.get("source", "customer"))
    elif kind == "event":
        count = inner.get("count") or {"op": ">=", "value": 1}
        values.update(name=inner.get("name", ""), performed="false" if inner.get("performed") is False else "true",
                      count_op=count["op"], count=str(count["value"]), within=inner.get("within", ""))
    elif kind == "order":
        values.update(metric=inner.get("metric", "count"), op=inner.get("op", ">="), value=str(inner.get("value", 1)),
                      within=inner.get("within", ""), category=", ".join(_listed(inner.get("category"))),
                      platform=", ".join(_listed(inner.get("platform"))),
                      store=str(_listed(inner.get("store"))[0]) if inner.get("store") else "")
    elif kind in ("rfm", "lifecycle", "member_level", "group_chat"):
        key = {"rfm": "classes", "lifecycle": "stages", "member_level": "levels", "group_chat": "chats"}[kind]
        values[key] = [str(item) for item in inner.get(key, [])]
    elif kind == "relation":
        values.update(staff=[str(s) for s in _listed(inner.get("staff"))], department=str(inner.get("department", "")),
                      state=", ".join(_listed(inner.get("state"))), status=inner.get("status", "active"),
                      added_within=inner.get("added_within", ""))
    elif kind == "segment":
        values["id"] = str(inner.get("id", ""))
    elif kind == "identity":
        values.update(kind=inner.get("kind", "phone"), present="false" if inner.get("present") is False else "true")
    elif kind == "city":
        values["in"] = ", ".join(_listed(inner.get("in")))
    elif kind == "bucket":
        values.update({key: str(inner.get(key, values[key])) for key in ("salt", "buckets", "from", "to")})
    elif kind == "touch":
        values.update(channel=(_listed(inner.get("channel")) or ["broadcast"])[0], within=inner.get("within", ""))
    return Row("", kind, values=values)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def attach(root: Row, paths: dict[str, Any]) -> dict[str, Any]:
    """``{row id: value}`` for values keyed by definition path (problems, counts): each path goes to
    the row whose path is its longest prefix."""
    rows = sorted(root.walk(), key=lambda row: len(row.path), reverse=True)
    attached: dict[str, Any] = {}
    for path, value in paths.items():
        for row in rows:
            if row.path and (path == row.path or path.startswith(row.path + ".") or path.startswith(row.path + "[")):
                attached.setdefault(row.id, []).append(value)
                break
    return attached
