"""Sync of corp tags (企业客户标签) into tag groups and tags.

WeCom answers the whole list in one call, so every sync (full or incremental) reconciles it: new
groups and tags are inserted, renamed or re-ordered ones updated, and those WeCom no longer lists are
marked deleted (never removed: relation tags and history keep pointing at them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from siyu.integrations.wecom.schemas import CorpTagGroup
from siyu.kit.db import dialect_insert
from siyu.models.tag import Tag, TagGroup

WECOM_KIND = "wecom"


@dataclass
class TagCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted}


def upsert_corp_tags(session: Session, corp_id: int, groups: list[CorpTagGroup], now: datetime) -> TagCounts:
    """Make the corp's WeCom-linked tag groups and tags match ``groups`` (the complete list)."""
    counts = TagCounts()
    live_groups = [g for g in groups if not g.deleted]
    existing_groups = {row.wecom_group_id: row for row in session.execute(
        select(TagGroup.id, TagGroup.wecom_group_id, TagGroup.name, TagGroup.order, TagGroup.deleted_at)
        .where(TagGroup.corp_id == corp_id, TagGroup.wecom_group_id.is_not(None)))}
    inserts, changes = [], []
    for group in live_groups:
        row = existing_groups.get(group.group_id)
        values = {"name": group.group_name[:100], "order": group.order, "deleted_at": None}
        if row is None:
            inserts.append({"corp_id": corp_id, "wecom_group_id": group.group_id, "created_at": now,
                            "updated_at": now, **values})
        elif values != {"name": row.name, "order": row.order, "deleted_at": row.deleted_at}:
            changes.append({"b_id": row.id, **{f"b_{k}": v for k, v in values.items()}})
    listed = {g.group_id for g in live_groups}
    gone = [row.id for key, row in existing_groups.items() if key not in listed and row.deleted_at is None]
    counts.created += _insert(session, TagGroup, ["corp_id", "wecom_group_id"], inserts)
    counts.updated += _update(session, TagGroup, changes, now)
    counts.deleted += _mark_deleted(session, TagGroup, gone, now)

    group_ids = dict(session.execute(select(TagGroup.wecom_group_id, TagGroup.id).where(
        TagGroup.corp_id == corp_id, TagGroup.wecom_group_id.in_(listed))).all()) if listed else {}
    existing_tags = {row.wecom_tag_id: row for row in session.execute(
        select(Tag.id, Tag.wecom_tag_id, Tag.group_id, Tag.name, Tag.order, Tag.deleted_at)
        .where(Tag.corp_id == corp_id, Tag.wecom_tag_id.is_not(None)))}
    inserts, tag_changes, seen = [], [], set()
    for group in live_groups:
        for tag in group.tag:
            if tag.deleted:
                continue
            seen.add(tag.id)
            values = {"group_id": group_ids[group.group_id], "name": tag.name[:100], "order": tag.order,
                      "deleted_at": None}
            row = existing_tags.get(tag.id)
            if row is None:
                inserts.append({"corp_id": corp_id, "wecom_tag_id": tag.id, "kind": WECOM_KIND,
                                "created_at": now, "updated_at": now, **values})
            elif values != {"group_id": row.group_id, "name": row.name, "order": row.order,
                            "deleted_at": row.deleted_at}:
                tag_changes.append({"b_id": row.id, **{f"b_{k}": v for k, v in values.items()}})
    gone = [row.id for key, row in existing_tags.items() if key not in seen and row.deleted_at is None]
    counts.created += _insert(session, Tag, ["corp_id", "wecom_tag_id"], inserts)
    counts.updated += _update(session, Tag, tag_changes, now)
    counts.deleted += _mark_deleted(session, Tag, gone, now)
    return counts


def _insert(session: Session, model, conflict: list[str], rows: list[dict]) -> int:
    if not rows:
        return 0
    statement = dialect_insert(session, model.__table__).on_conflict_do_nothing(index_elements=conflict)
    return len(session.execute(statement.returning(model.__table__.c.id), rows).all())


def _update(session: Session, model, changes: list[dict], now: datetime) -> int:
    if not changes:
        return 0
    table = model.__table__
    names = [key[2:] for key in changes[0] if key != "b_id"]
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
        updated_at=now, **{name: bindparam(f"b_{name}") for name in names}), changes)
    return len(changes)


def _mark_deleted(session: Session, model, ids: list[int], now: datetime) -> int:
    if not ids:
        return 0
    session.execute(update(model).where(model.id.in_(ids)).values(deleted_at=now, updated_at=now))
    return len(ids)
