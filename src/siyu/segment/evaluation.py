"""Reading segments: compile a definition, list members, count per condition, explain one customer.

These are the functions other domains call (journeys, broadcasts); see the package docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from siyu.kit.errors import NotFound
from siyu.models.customer import Customer
from siyu.models.segment import Segment, SegmentMembership
from siyu.segment import language as lang
from siyu.segment.compiler import Compiler, flag

_KINDS = {lang.AllOf: "all", lang.AnyOf: "any", lang.NotOf: "not", lang.TraitCondition: "trait",
          lang.TagCondition: "tag", lang.EventCondition: "event", lang.OrderCondition: "order",
          lang.RelationCondition: "relation", lang.GroupChatCondition: "group_chat",
          lang.SegmentCondition: "segment", lang.IdentityCondition: "identity", lang.BucketCondition: "bucket",
          lang.TouchCondition: "touch", lang.MemberLevelCondition: "member_level"}


def node_kind(node: lang.Node) -> str:
    if isinstance(node, lang.ChoiceCondition):
        return node.kind
    return _KINDS[type(node)]


def validate_definition(definition: Any) -> lang.Definition:
    """The parsed definition; raises ``DefinitionInvalid`` (422, every problem with its path)."""
    if isinstance(definition, lang.Definition):
        return definition
    return lang.parse_definition(definition)


def compile_condition(session: Session, corp_id: int, definition: Any, *, now: datetime,
                      candidates: list[int] | None = None) -> Select:
    """``SELECT customer.id`` of the corp's (unmerged) customers matching ``definition`` at ``now``;
    ``candidates`` limits it to those ids."""
    parsed = validate_definition(definition)
    return Compiler(session, corp_id, now, candidates).customer_ids(parsed.condition)


def members_select(session: Session, corp_id: int, segment_id: int) -> Select:
    """``SELECT customer_id`` of a saved segment's current members, as of its last refresh (a
    dynamic segment is refreshed every few seconds; use ``compile_condition`` for the live set).
    Raises ``NotFound`` for a segment of another corp."""
    exists_here = session.scalar(select(Segment.id).where(Segment.corp_id == corp_id, Segment.id == segment_id))
    if exists_here is None:
        raise NotFound("error.segment_not_found", field="segment_id")
    return (select(SegmentMembership.customer_id)
            .join(Customer, Customer.id == SegmentMembership.customer_id)
            .where(SegmentMembership.segment_id == segment_id, SegmentMembership.exited_at.is_(None),
                   SegmentMembership.corp_id == corp_id, Customer.merged_into_id.is_(None)))


def count(session: Session, corp_id: int, definition: Any, *, now: datetime) -> int:
    statement = compile_condition(session, corp_id, definition, now=now)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def sample(session: Session, corp_id: int, definition: Any, *, now: datetime, limit: int = 20) -> list[int]:
    """The ids of up to ``limit`` matching customers, newest first."""
    statement = compile_condition(session, corp_id, definition, now=now)
    return list(session.scalars(statement.order_by(Customer.id.desc()).limit(limit)))


def condition_counts(session: Session, corp_id: int, definition: Any, *, now: datetime) -> dict[str, int]:
    """How many customers each node of the tree matches on its own, by node path. One count per node:
    as a WHERE clause every set stays a (hashed) semi-join; as flags summed in one scan, PostgreSQL
    would evaluate a large set as a subplan per customer."""
    parsed = validate_definition(definition)
    compiler = Compiler(session, corp_id, now)
    return {node.path: session.scalar(compiler.base(func.count()).where(compiler.predicate(node))) or 0
            for node in lang.walk(parsed.condition)}


@dataclass
class Explanation:
    """Whether one node holds for the customer, with its children."""

    path: str
    kind: str
    matched: bool
    children: list[Explanation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "matched": self.matched,
                "children": [child.to_dict() for child in self.children]}


def explain(session: Session, corp_id: int, definition: Any, customer_id: int, *, now: datetime) -> Explanation:
    """Per-condition true/false for one customer: why they are (not) in the segment. A customer of
    another corp or merged away matches nothing (every node false)."""
    parsed = validate_definition(definition)
    compiler = Compiler(session, corp_id, now, [customer_id])
    nodes = list(lang.walk(parsed.condition))
    row = session.execute(compiler.base(*(flag(compiler.predicate(node)) for node in nodes))).one_or_none()
    results = {node.path: bool(row[index]) if row is not None else False for index, node in enumerate(nodes)}

    def build(node: lang.Node) -> Explanation:
        children: list[lang.Node] = []
        if isinstance(node, lang.AllOf | lang.AnyOf):
            children = list(node.children)
        elif isinstance(node, lang.NotOf):
            children = [node.child]
        return Explanation(node.path, node_kind(node), results[node.path], [build(child) for child in children])

    return build(parsed.condition)
