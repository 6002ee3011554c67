"""Queries of tag groups and tags.

The WeCom corp-tag mirror runs in the callback handler job for one corp (no principal), so these
statements name ``corp_id``; console and API reads arrive with the tag management feature.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.models.tag import Tag, TagGroup


def groups_by_wecom_id(session: Session, corp_id: int, wecom_group_ids: list[str]) -> dict[str, TagGroup]:
    if not wecom_group_ids:
        return {}
    rows = session.scalars(select(TagGroup).where(TagGroup.corp_id == corp_id,
                                                  TagGroup.wecom_group_id.in_(wecom_group_ids)))
    return {group.wecom_group_id: group for group in rows if group.wecom_group_id}


def tags_by_wecom_id(session: Session, corp_id: int, wecom_tag_ids: list[str]) -> dict[str, Tag]:
    if not wecom_tag_ids:
        return {}
    rows = session.scalars(select(Tag).where(Tag.corp_id == corp_id, Tag.wecom_tag_id.in_(wecom_tag_ids)))
    return {tag.wecom_tag_id: tag for tag in rows if tag.wecom_tag_id}


def mark_tags_deleted(session: Session, corp_id: int, at: datetime, *, wecom_tag_id: str | None = None,
                      group_id: int | None = None) -> int:
    """Soft-delete live tags by WeCom id or by group; returns how many changed."""
    statement = update(Tag).where(Tag.corp_id == corp_id, Tag.deleted_at.is_(None))
    if wecom_tag_id is not None:
        statement = statement.where(Tag.wecom_tag_id == wecom_tag_id)
    if group_id is not None:
        statement = statement.where(Tag.group_id == group_id)
    result = session.execute(statement.values(deleted_at=at, updated_at=at)
                             .execution_options(synchronize_session=False))
    return result.rowcount


def group_by_wecom_id(session: Session, corp_id: int, wecom_group_id: str) -> TagGroup | None:
    return session.scalars(select(TagGroup).where(TagGroup.corp_id == corp_id,
                                                  TagGroup.wecom_group_id == wecom_group_id)).one_or_none()
