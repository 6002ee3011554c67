"""Tag rules. For now: keeping siyu's copy of the WeCom corp tags (企业客户标签) in step with WeCom.

WeCom's ``change_external_tag`` callbacks carry only an id, so the handler reads the current groups
from WeCom and hands them here as ``CorpTagGroup`` values; a deletion needs no read. Deleted tags are
kept with ``deleted_at`` so history (which customers carried a tag) stays explainable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.models.tag import Tag, TagGroup
from siyu.tag import repository

WECOM_KIND = "wecom"


@dataclass(frozen=True)
class CorpTag:
    """A corp tag as WeCom reports it (get_corp_tag_list)."""

    wecom_tag_id: str
    name: str
    order: int = 0
    deleted: bool = False


@dataclass(frozen=True)
class CorpTagGroup:
    """A corp tag group with its tags as WeCom reports it."""

    wecom_group_id: str
    name: str
    order: int = 0
    tags: tuple[CorpTag, ...] = ()
    deleted: bool = False


@dataclass
class TagChanges:
    """What applying WeCom's view changed, for the callback log and tests."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _apply(row: TagGroup | Tag, name: str, order: int, deleted: bool, at: datetime) -> bool:
    deleted_at = row.deleted_at if deleted and row.deleted_at else (at if deleted else None)
    changed = (row.name, row.order, row.deleted_at) != (name, order, deleted_at)
    row.name, row.order, row.deleted_at = name, order, deleted_at
    return changed


def apply_corp_tag_groups(session: Session, corp_id: int, groups: list[CorpTagGroup],
                          at: datetime) -> TagChanges:
    """Create or update the given groups and their tags as WeCom reports them (create, update and
    shuffle events all end here: a shuffle only changes ``order``)."""
    changes = TagChanges()
    known_groups = repository.groups_by_wecom_id(session, corp_id, [g.wecom_group_id for g in groups])
    tag_ids = [tag.wecom_tag_id for group in groups for tag in group.tags]
    known_tags = repository.tags_by_wecom_id(session, corp_id, tag_ids)
    for snapshot in groups:
        group = known_groups.get(snapshot.wecom_group_id)
        if group is None:
            group = TagGroup(corp_id=corp_id, wecom_group_id=snapshot.wecom_group_id, name=snapshot.name,
                             order=snapshot.order, deleted_at=at if snapshot.deleted else None)
            session.add(group)
            session.flush()
            changes.created.append(snapshot.wecom_group_id)
        elif _apply(group, snapshot.name, snapshot.order, snapshot.deleted, at):
            (changes.deleted if snapshot.deleted else changes.updated).append(snapshot.wecom_group_id)
        for tag_snapshot in snapshot.tags:
            deleted = tag_snapshot.deleted or snapshot.deleted
            tag = known_tags.get(tag_snapshot.wecom_tag_id)
            if tag is None:
                session.add(Tag(corp_id=corp_id, group_id=group.id, wecom_tag_id=tag_snapshot.wecom_tag_id,
                                name=tag_snapshot.name, order=tag_snapshot.order, kind=WECOM_KIND,
                                deleted_at=at if deleted else None))
                changes.created.append(tag_snapshot.wecom_tag_id)
                continue
            moved = tag.group_id != group.id
            tag.group_id = group.id
            if _apply(tag, tag_snapshot.name, tag_snapshot.order, deleted, at) or moved:
                (changes.deleted if deleted else changes.updated).append(tag_snapshot.wecom_tag_id)
    session.flush()
    return changes


def record_corp_tag_deleted(session: Session, corp_id: int, wecom_id: str, tag_type: str | None,
                            at: datetime) -> TagChanges:
    """A tag (``tag_type`` ``tag``) or a whole group (``tag_group``, with its tags) was deleted in
    WeCom. Without a type both are tried: WeCom ids of tags and groups never coincide."""
    changes = TagChanges()
    if tag_type in (None, "", "tag"):
        if repository.mark_tags_deleted(session, corp_id, at, wecom_tag_id=wecom_id):
            changes.deleted.append(wecom_id)
    if tag_type in (None, "", "tag_group"):
        group = repository.group_by_wecom_id(session, corp_id, wecom_id)
        if group is not None and group.deleted_at is None:
            group.deleted_at = at
            session.flush()
            repository.mark_tags_deleted(session, corp_id, at, group_id=group.id)
            changes.deleted.append(wecom_id)
    session.flush()
    return changes
