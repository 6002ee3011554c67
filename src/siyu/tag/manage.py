"""Tag management for operators: tag groups and tags, tagging customers, channel and rule tags.

Names follow WeCom's rules where WeCom holds the tags: a synced group's name is unique among synced
groups, a tag's name unique in its synced group. Groups kept in siyu only may repeat names.

Every change to a customer's tags is one ``customer_tag`` row (one per customer and tag, with the
reason it is there: ``manual``, ``channel``, ``rule`` or ``wecom``) and one ``tag_history`` row. Tags
of WeCom-synced groups travel to WeCom through the outbox (``siyu.tag.wecom_sync``). Services only
flush; the edge commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.db import dialect_insert
from siyu.kit.errors import Conflict, NotFound
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.models.tag import CustomerTag, Tag, TagGroup, TagHistory
from siyu.models.tag_rule import TagRule
from siyu.tag import manage_repository as repository
from siyu.tag import wecom_sync
from siyu.tag.rules import validate_rule

#: Kinds an operator creates; ``wecom`` tags come from WeCom itself.
OPERATOR_KINDS = ("manual", "channel", "rule")
EVALUATE_RULES_JOB = "tags.evaluate_rules"


@dataclass(frozen=True)
class TagDraft:
    name: str
    order: int = 0
    kind: str = "manual"
    rule: dict[str, Any] | None = None


def _group(session: Session, principal: Principal, group_id: int, *, field: str | None = None) -> TagGroup:
    group = repository.get_group(session, principal, group_id)
    if group is None:
        raise NotFound("error.tag_group_not_found", field=field)
    return group


def _tag(session: Session, principal: Principal, tag_id: int) -> Tag:
    tag = repository.get_tag(session, principal, tag_id)
    if tag is None:
        raise NotFound("error.tag_not_found")
    return tag


# -- groups and tags ----------------------------------------------------------------------------------

def create_group(session: Session, principal: Principal, clock: Clock, *, name: str, order: int = 0,
                 sync_to_wecom: bool = False, tags: Sequence[TagDraft] = ()) -> TagGroup:
    """A new group, with its first tags. ``sync_to_wecom`` mirrors it to WeCom's corp tags (the corp
    must be connected); the group reaches WeCom with its first tag."""
    corp_id = principal.corp_id
    if sync_to_wecom and repository.group_name_taken(session, corp_id, name):
        raise Conflict("error.tag_group_name_taken", field="name")
    if sync_to_wecom and not repository.wecom_connected(session, corp_id):
        raise Conflict("error.tag_wecom_not_connected", field="sync_to_wecom")
    if sync_to_wecom and len({draft.name for draft in tags}) != len(tags):
        raise Conflict("error.tag_name_taken", field="tags")
    for draft in tags:
        _check_draft(draft)
    now = clock.now()
    group = TagGroup(corp_id=corp_id, name=name, order=order, created_at=now, updated_at=now)
    session.add(group)
    session.flush()
    if sync_to_wecom:
        group.wecom_group_id = wecom_sync.pending_group_id(group.id)
    created = [_add_tag(session, group, draft, clock) for draft in tags]
    wecom_sync.tags_created(session, group, created, clock)
    return group


def update_group(session: Session, principal: Principal, clock: Clock, group_id: int, *, name: str | None = None,
                 order: int | None = None) -> TagGroup:
    group = _group(session, principal, group_id)
    if name is not None and name != group.name and wecom_sync.is_synced(group) and repository.group_name_taken(
            session, group.corp_id, name, except_id=group.id):
        raise Conflict("error.tag_group_name_taken", field="name")
    changed = (name is not None and name != group.name) or (order is not None and order != group.order)
    if not changed:
        return group
    group.name = name if name is not None else group.name
    group.order = order if order is not None else group.order
    group.updated_at = clock.now()
    session.flush()
    if wecom_sync.is_synced(group):
        wecom_sync.renamed(session, group.corp_id, "group", group.id, group.name, group.order, clock)
    return group


def delete_group(session: Session, principal: Principal, clock: Clock, group_id: int) -> None:
    """Delete the group and its tags (taken off every customer, with history)."""
    group = _group(session, principal, group_id)
    now = clock.now()
    tags = repository.live_tags(session, principal, group_id=group.id)
    for tag in tags:
        _retire_tag(session, tag, principal, now)
    group.deleted_at = group.updated_at = now
    session.flush()
    if wecom_sync.is_synced(group):
        if wecom_sync.is_pending(group.wecom_group_id):
            # Never reached WeCom as a group; its tags' deletion (if any arrive) is enough.
            wecom_sync.deleted(session, group.corp_id, tag_ids=[t.id for t in tags], clock=clock)
        else:
            wecom_sync.deleted(session, group.corp_id, group_ids=[group.id], clock=clock)


def _check_draft(draft: TagDraft) -> None:
    if draft.kind not in OPERATOR_KINDS:
        raise Conflict("error.tag_kind_invalid", field="kind")
    if (draft.kind == "rule") != (draft.rule is not None):
        raise Conflict("error.tag_rule_required" if draft.kind == "rule" else "error.tag_rule_only_for_rule_tags",
                       field="rule")
    if draft.rule is not None:
        validate_rule(draft.rule)


def _add_tag(session: Session, group: TagGroup, draft: TagDraft, clock: Clock) -> Tag:
    now = clock.now()
    tag = Tag(corp_id=group.corp_id, group_id=group.id, name=draft.name, order=draft.order, kind=draft.kind,
              created_at=now, updated_at=now)
    session.add(tag)
    session.flush()
    if draft.kind == "rule":
        session.add(TagRule(tag_id=tag.id, corp_id=group.corp_id, condition=validate_rule(draft.rule),
                            created_at=now, updated_at=now))
        session.flush()
        _evaluate_later(session, group.corp_id, tag.id, clock)
    return tag


def create_tag(session: Session, principal: Principal, clock: Clock, group_id: int, draft: TagDraft) -> Tag:
    group = _group(session, principal, group_id, field="group_id")
    _check_draft(draft)
    if wecom_sync.is_synced(group) and repository.tag_name_taken(session, group.corp_id, group.id, draft.name):
        raise Conflict("error.tag_name_taken", field="name")
    tag = _add_tag(session, group, draft, clock)
    wecom_sync.tags_created(session, group, [tag], clock)
    return tag


def update_tag(session: Session, principal: Principal, clock: Clock, tag_id: int, *, name: str | None = None,
               order: int | None = None, rule: dict[str, Any] | None = None) -> Tag:
    tag = _tag(session, principal, tag_id)
    if rule is not None and tag.kind != "rule":
        raise Conflict("error.tag_rule_only_for_rule_tags", field="rule")
    group = repository.groups_by_id(session, tag.corp_id, [tag.group_id])[tag.group_id]
    if name is not None and name != tag.name and wecom_sync.is_synced(group) and repository.tag_name_taken(
            session, tag.corp_id, tag.group_id, name, except_id=tag.id):
        raise Conflict("error.tag_name_taken", field="name")
    now = clock.now()
    if rule is not None:
        stored = repository.rule_of(session, tag.id)
        stored.condition, stored.updated_at = validate_rule(rule), now
        _evaluate_later(session, tag.corp_id, tag.id, clock)
    renamed = (name is not None and name != tag.name) or (order is not None and order != tag.order)
    if renamed:
        tag.name = name if name is not None else tag.name
        tag.order = order if order is not None else tag.order
    tag.updated_at = now
    session.flush()
    if renamed and wecom_sync.is_synced(group):
        wecom_sync.renamed(session, tag.corp_id, "tag", tag.id, tag.name, tag.order, clock)
    return tag


def delete_tag(session: Session, principal: Principal, clock: Clock, tag_id: int) -> None:
    """Delete a tag: it leaves every customer (with history) and WeCom if synced."""
    tag = _tag(session, principal, tag_id)
    _retire_tag(session, tag, principal, clock.now())
    group = repository.groups_by_id(session, tag.corp_id, [tag.group_id])[tag.group_id]
    if wecom_sync.is_synced(group):
        wecom_sync.deleted(session, tag.corp_id, tag_ids=[tag.id], clock=clock)


def _retire_tag(session: Session, tag: Tag, principal: Principal, now) -> None:
    carriers = repository.customer_ids_with_tag(session, tag.corp_id, tag.id)
    if carriers:
        session.execute(insert(TagHistory), [
            {"corp_id": tag.corp_id, "customer_id": customer_id, "tag_id": tag.id, "action": "remove",
             "source": source, "user_id": principal.user_id or None, "at": now}
            for customer_id, source in carriers])
        session.execute(delete(CustomerTag).where(CustomerTag.tag_id == tag.id))
    tag.deleted_at = tag.updated_at = now
    session.flush()


def _evaluate_later(session: Session, corp_id: int, tag_id: int, clock: Clock) -> None:
    enqueue(session, EVALUATE_RULES_JOB, {"corp_id": corp_id, "customer_ids": None, "tag_ids": [tag_id]},
            corp_id=corp_id, clock=clock)


# -- customers' tags ----------------------------------------------------------------------------------

def _put_on(session: Session, corp_id: int, customer_id: int, tag: Tag, source: str, clock: Clock, *,
            user_id: int | None = None, staff_id: int | None = None) -> bool:
    """Add the tag to the customer unless they carry it; history and WeCom when it was added."""
    now = clock.now()
    added = session.execute(
        dialect_insert(session, CustomerTag.__table__)
        .values(corp_id=corp_id, customer_id=customer_id, tag_id=tag.id, source=source, tagged_at=now)
        .on_conflict_do_nothing(index_elements=["customer_id", "tag_id"])
        .returning(CustomerTag.__table__.c.id)
    ).scalar_one_or_none()
    if added is None:
        return False
    event = TagHistory(corp_id=corp_id, customer_id=customer_id, tag_id=tag.id, action="add", source=source,
                       user_id=user_id, staff_id=staff_id, at=now)
    session.add(event)
    session.flush()
    wecom_sync.customer_tags_changed(session, corp_id, customer_id, add=[tag.id], event_id=event.id, clock=clock)
    return True


def tag_customer(session: Session, principal: Principal, clock: Clock, customer_id: int, tag_id: int) -> bool:
    """An operator puts a tag on a customer they can see. Returns False if it was already there."""
    if repository.visible_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found")
    tag = _tag(session, principal, tag_id)
    if tag.kind == "rule":
        raise Conflict("error.tag_rule_not_manual")
    return _put_on(session, principal.corp_id, customer_id, tag, "manual", clock, user_id=principal.user_id or None,
                   staff_id=principal.staff_id)


def untag_customer(session: Session, principal: Principal, clock: Clock, customer_id: int, tag_id: int) -> None:
    """An operator takes a tag off a customer (whatever put it there, except a rule)."""
    if repository.visible_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found")
    tag = _tag(session, principal, tag_id)
    carried = repository.customer_tag(session, customer_id, tag.id)
    if carried is None:
        raise NotFound("error.customer_tag_not_found")
    if carried.source == "rule":
        raise Conflict("error.tag_rule_not_manual")
    session.delete(carried)
    event = TagHistory(corp_id=principal.corp_id, customer_id=customer_id, tag_id=tag.id, action="remove",
                       source="manual", user_id=principal.user_id or None, staff_id=principal.staff_id,
                       at=clock.now())
    session.add(event)
    session.flush()
    wecom_sync.customer_tags_changed(session, principal.corp_id, customer_id, remove=[tag.id], event_id=event.id,
                                     clock=clock)


def apply_channel_tags(session: Session, corp_id: int, customer_id: int, tag_ids: Sequence[int], *,
                       source: str = "channel", staff_id: int | None = None, clock: Clock) -> list[int]:
    """Tags a channel code puts on a customer who arrived through it (the acquisition feature calls
    this in its transaction). Unknown, deleted and rule tags are ignored, as is a customer of another
    corp. Returns the ids of the tags newly put on."""
    if repository.live_customer_of_corp(session, corp_id, customer_id) is None:
        return []
    applied = []
    for tag in repository.live_tags_of_corp(session, corp_id, tag_ids):
        if tag.kind != "rule" and _put_on(session, corp_id, customer_id, tag, source, clock, staff_id=staff_id):
            applied.append(tag.id)
    return applied


def customer_tags(session: Session, principal: Principal, customer_id: int) -> list[CustomerTag]:
    if repository.visible_customer(session, principal, customer_id) is None:
        raise NotFound("error.customer_not_found")
    return repository.tags_of_customer(session, principal, customer_id)


def rules_by_tag(session: Session, tag_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The conditions of the given rule tags."""
    if not tag_ids:
        return {}
    return {rule.tag_id: rule.condition
            for rule in session.scalars(select(TagRule).where(TagRule.tag_id.in_(list(tag_ids))))}
