"""Business rules of segments: saving definitions (validated, references checked, cycles refused),
previews, checks of one customer, presets, snapshots and refreshes. Services flush; the edge commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.i18n import translate
from siyu.kit.tenancy import Principal
from siyu.models.customer import Customer
from siyu.models.segment import Segment, SegmentMembership
from siyu.segment import evaluation, membership, optional_models, presets, repository
from siyu.segment import language as lang
from siyu.segment.compiler import SegmentCycle

@dataclass
class Preview:
    count: int
    sample: list[Customer]
    conditions: dict[str, int]


def _references(definition: lang.Definition) -> list[tuple[str, str, int]]:
    """(path, kind, id) of every object the definition names."""
    found: list[tuple[str, str, int]] = []
    for node in lang.walk(definition.condition):
        if isinstance(node, lang.TagCondition):
            found += [(f"{node.path}.{node.mode}", "tag", tag_id) for tag_id in node.tag_ids]
        elif isinstance(node, lang.RelationCondition):
            found += [(f"{node.path}.staff", "staff", staff_id) for staff_id in node.staff_ids]
            found += [(f"{node.path}.channel_code", "channel_code", code) for code in node.channel_code_ids]
            if node.department_id is not None:
                found.append((f"{node.path}.department", "department", node.department_id))
        elif isinstance(node, lang.OrderCondition):
            found += [(f"{node.path}.store", "department", store) for store in node.store_ids]
        elif isinstance(node, lang.GroupChatCondition):
            found += [(f"{node.path}.chats", "group_chat", chat) for chat in node.chat_ids]
        elif isinstance(node, lang.SegmentCondition):
            found.append((f"{node.path}.id", "segment", node.segment_id))
        elif isinstance(node, lang.MemberLevelCondition):
            found += [(f"{node.path}.levels", "member_level", level) for level in node.level_ids]
    return found


def _unavailable(definition: lang.Definition) -> list[lang.Problem]:
    problems = []
    for node in lang.walk(definition.condition):
        if isinstance(node, lang.TouchCondition) and optional_models.touch_model() is None:
            problems.append(lang.Problem(node.path, "segment.problem.unavailable", {"kind_key": "segment.kind.touch"}))
        if isinstance(node, lang.MemberLevelCondition) and optional_models.membership_model() is None:
            problems.append(lang.Problem(node.path, "segment.problem.unavailable",
                                         {"kind_key": "segment.kind.member_level"}))
    return problems


def check_definition(session: Session, corp_id: int, definition: Any, *,
                     segment_id: int | None = None) -> lang.Definition:
    """Parse ``definition`` and check it against the corp: every named object exists in this corp,
    the facts it reads are available, and (for a saved segment) it does not refer back to itself."""
    parsed = lang.parse_definition(definition)
    problems = _unavailable(parsed)
    wanted: dict[str, set[int]] = {}
    references = _references(parsed)
    for _, kind, object_id in references:
        wanted.setdefault(kind, set()).add(object_id)
    existing = {kind: repository.existing_ids(session, corp_id, kind, ids) for kind, ids in wanted.items()}
    for path, kind, object_id in references:
        if object_id not in existing[kind] or (kind == "segment" and object_id == segment_id):
            key = "segment.problem.cycle" if object_id == segment_id and kind == "segment" else \
                "segment.problem.reference_not_found"
            problems.append(lang.Problem(path, key, {"kind_key": f"segment.kind.{kind}", "id": object_id,
                                                     "chain": f"{object_id} → {object_id}"}))
    if not problems and segment_id is not None and parsed.segment_ids():
        chain = _cycle(session, corp_id, segment_id, parsed)
        if chain:
            path = next(p for p, kind, object_id in references if kind == "segment" and object_id == chain[1])
            problems.append(lang.Problem(path, "segment.problem.cycle", {"chain": " → ".join(map(str, chain))}))
    if problems:
        raise lang.DefinitionInvalid(problems)
    return parsed


def _cycle(session: Session, corp_id: int, segment_id: int, parsed: lang.Definition) -> list[int] | None:
    """The chain ``segment_id → … → segment_id`` through the definitions, if there is one."""
    definitions = {segment.id: segment.definition for segment in repository.corp_segments(session, corp_id)
                   if segment.kind == "dynamic" and segment.definition}
    definitions[segment_id] = parsed

    def refers(current: int) -> set[int]:
        definition = definitions.get(current)
        if definition is None:
            return set()
        if not isinstance(definition, lang.Definition):
            definition = lang.parse_definition(definition)
        return definition.segment_ids()

    stack = [(segment_id, [segment_id])]
    seen: set[int] = set()
    while stack:
        current, chain = stack.pop()
        for target in sorted(refers(current)):
            if target == segment_id:
                return [*chain, target]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*chain, target]))
    return None


def get(session: Session, principal: Principal, segment_id: int) -> Segment:
    segment = repository.get_segment(session, principal, segment_id)
    if segment is None:
        raise NotFound("error.segment_not_found", field="segment_id")
    return segment


def ensure_refresh_scheduled(session: Session, corp_id: int, clock: Clock) -> None:
    """Start (or keep) the corp's refresh chain: a keyed job per tick, so this is a no-op when queued."""
    from siyu.segment.tasks import schedule_next

    schedule_next(session, corp_id, clock, immediately=True)


def create(session: Session, principal: Principal, clock: Clock, *, name: str, description: str | None,
           kind: str, definition: dict | None, preset: str | None = None) -> Segment:
    if kind == "dynamic" and not definition:
        raise InvalidInput("error.segment_definition_required", field="definition")
    if kind == "static":
        definition = None
    if definition:
        check_definition(session, principal.corp_id, definition)
    now = clock.now()
    segment = Segment(corp_id=principal.corp_id, name=name, description=description, kind=kind,
                      definition=definition, preset=preset, member_count=0, created_by_user_id=principal.user_id,
                      created_at=now, updated_at=now)
    session.add(segment)
    session.flush()
    if kind == "dynamic":
        membership.refresh_segment(session, segment, now, dirty=None)
        ensure_refresh_scheduled(session, principal.corp_id, clock)
    return segment


def update(session: Session, principal: Principal, clock: Clock, segment_id: int, *, name: str | None,
           description: str | None, definition: dict | None) -> Segment:
    segment = get(session, principal, segment_id)
    if definition is not None:
        if segment.kind != "dynamic":
            raise Conflict("error.segment_not_static", field="definition")
        check_definition(session, principal.corp_id, definition, segment_id=segment.id)
        segment.definition = definition
        segment.preset = None
    if name is not None:
        segment.name = name
    if description is not None:
        segment.description = description
    segment.updated_at = clock.now()
    session.flush()
    if definition is not None:
        membership.refresh_segment(session, segment, clock.now(), dirty=None)
    return segment


def delete_segment(session: Session, principal: Principal, segment_id: int) -> None:
    segment = get(session, principal, segment_id)
    users = [other.name for other in repository.corp_segments(session, principal.corp_id)
             if other.id != segment.id and other.kind == "dynamic" and other.definition
             and segment.id in lang.parse_definition(other.definition).segment_ids()]
    if users:
        raise Conflict("error.segment_in_use", field="segment_id", names="、".join(users))
    session.delete(segment)
    session.flush()


def preview(session: Session, corp_id: int, definition: Any, now: datetime, *, sample_size: int = 20) -> Preview:
    """Count, a sample and per-condition counts of an unsaved definition (an empty one: everyone)."""
    parsed = check_definition(session, corp_id, definition or lang.EVERYONE)
    ids = evaluation.sample(session, corp_id, parsed, now=now, limit=sample_size) if sample_size else []
    return Preview(evaluation.count(session, corp_id, parsed, now=now),
                   repository.customers_by_id(session, corp_id, ids),
                   evaluation.condition_counts(session, corp_id, parsed, now=now))


def check_customer(session: Session, principal: Principal, segment_id: int, customer_id: int,
                   now: datetime) -> tuple[bool, bool, evaluation.Explanation | None]:
    """(in the maintained membership, matches now, per-condition explanation) for one customer."""
    segment = get(session, principal, segment_id)
    if repository.visible_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found", field="customer_id")
    member = session.scalar(select(SegmentMembership.customer_id).where(
        SegmentMembership.segment_id == segment.id, SegmentMembership.customer_id == customer_id,
        SegmentMembership.exited_at.is_(None))) is not None
    if segment.kind != "dynamic" or not segment.definition:
        return member, member, None
    explanation = evaluation.explain(session, principal.corp_id, segment.definition, customer_id, now=now)
    return member, explanation.matched, explanation


def refresh_now(session: Session, principal: Principal, segment_id: int, now: datetime) -> membership.RefreshResult:
    """Re-evaluate one dynamic segment fully, now."""
    segment = get(session, principal, segment_id)
    if segment.kind != "dynamic":
        raise Conflict("error.segment_not_static", field="segment_id")
    try:
        return membership.refresh_segment(session, segment, now, dirty=None)
    except SegmentCycle as cycle:
        raise Conflict("error.segment_cycle", field="segment_id",
                       chain=" → ".join(map(str, cycle.segment_ids))) from cycle


def create_from_preset(session: Session, principal: Principal, clock: Clock, key: str, name: str | None,
                       language: str) -> Segment:
    definition = presets.preset_definition(session, principal.corp_id, key)
    name_key, about_key = presets.preset_label_keys(key)
    return create(session, principal, clock, name=name or translate(name_key, language),
                  description=translate(about_key, language), kind="dynamic", definition=definition,
                  preset=key)


def snapshot(session: Session, principal: Principal, clock: Clock, segment_id: int, name: str) -> Segment:
    """A static segment holding the current members of ``segment_id``, frozen."""
    source = get(session, principal, segment_id)
    now = clock.now()
    frozen = Segment(corp_id=principal.corp_id, name=name, kind="static", member_count=0,
                     description=source.description, created_by_user_id=principal.user_id, created_at=now,
                     updated_at=now)
    session.add(frozen)
    session.flush()
    current = evaluation.members_select(session, principal.corp_id, source.id)
    membership.apply_matching(session, frozen, current, None, now)
    frozen.member_count = membership.current_count(session, frozen.id)
    frozen.refreshed_at = now
    session.flush()
    return frozen


def set_static_members(session: Session, segment: Segment, customer_ids: list[int], now: datetime, *,
                       replace: bool) -> tuple[int, int]:
    """Add (or, with ``replace``, set exactly) a static segment's members. Returns (entered, exited)."""
    if segment.kind != "static":
        raise Conflict("error.segment_static_only", field="segment_id")
    entered = exited = 0
    ids = sorted(set(customer_ids))
    if replace:
        chosen = select(Customer.id).where(Customer.corp_id == segment.corp_id, Customer.merged_into_id.is_(None),
                                           Customer.id.in_(ids))
        entered, exited = membership.apply_matching(session, segment, chosen, None, now)
    else:
        for start in range(0, len(ids), membership.CHUNK):
            chunk = ids[start:start + membership.CHUNK]
            chosen = select(Customer.id).where(Customer.corp_id == segment.corp_id,
                                               Customer.merged_into_id.is_(None), Customer.id.in_(chunk))
            done = membership.apply_matching(session, segment, chosen, chunk, now)
            entered, exited = entered + done[0], exited + done[1]
    segment.member_count = membership.current_count(session, segment.id)
    segment.refreshed_at = now
    session.flush()
    return entered, exited
