"""Two-way sync of tags with WeCom corp tags (企业客户标签), the outbound half.

A tag group is WeCom-synced when it has a ``wecom_group_id``: groups that came from WeCom, and groups
an operator created with "sync to WeCom". WeCom cannot hold an empty group, so a group created in
siyu keeps the placeholder ``pending:<id>`` until its first tag reaches WeCom (``add_corp_tag`` with
``group_name`` creates it there).

Changes to synced groups and tags, and tags put on or taken off a customer, become outbox messages
(provider ``wecom``) in the caller's transaction. Their payloads name siyu's ids: the deliverer
(``integrations.wecom.outbox``) resolves them to WeCom's ids at delivery time through ``resolve_*``,
so a customer can be tagged before the tag's own creation has reached WeCom; the delivery then
waits (retries) until it has. The inbound half — WeCom's callbacks about corp tags — is
``siyu.tag.service``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.clock import Clock
from siyu.kit.outbox import add_outbox_message
from siyu.models.tag import Tag, TagGroup
from siyu.tag import manage_repository as repository

PROVIDER = "wecom"
PENDING_PREFIX = "pending:"


def is_synced(group: TagGroup) -> bool:
    return group.wecom_group_id is not None


def is_pending(wecom_id: str | None) -> bool:
    return wecom_id is not None and wecom_id.startswith(PENDING_PREFIX)


def pending_group_id(group_id: int) -> str:
    return f"{PENDING_PREFIX}{group_id}"


def _send(session: Session, corp_id: int, operation: str, payload: dict[str, Any], key: str, clock: Clock) -> None:
    add_outbox_message(session, provider=PROVIDER, operation=operation, payload=payload, idempotency_key=key,
                       corp_id=corp_id, clock=clock)


def tags_created(session: Session, group: TagGroup, tags: Sequence[Tag], clock: Clock) -> None:
    """New tags in a synced group: ``add_corp_tag`` (creating the group in WeCom if it is pending)."""
    if not is_synced(group) or not tags:
        return
    payload: dict[str, Any] = {
        "group_id": group.id,
        "group_name": group.name if is_pending(group.wecom_group_id) else None,
        "group_order": group.order,
        "tags": [{"tag_id": tag.id, "name": tag.name, "order": tag.order} for tag in tags],
    }
    _send(session, group.corp_id, "add_corp_tag", payload, f"wecom:add_corp_tag:{tags[0].id}", clock)


def renamed(session: Session, corp_id: int, target: str, siyu_id: int, name: str, order: int, clock: Clock) -> None:
    """A synced tag or group (``target`` ``tag`` / ``group``) changed its name or order."""
    _send(session, corp_id, "edit_corp_tag", {"target": target, "id": siyu_id, "name": name, "order": order},
          f"wecom:edit_corp_tag:{target}:{siyu_id}:{uuid.uuid4().hex}", clock)


def deleted(session: Session, corp_id: int, *, tag_ids: Sequence[int] = (), group_ids: Sequence[int] = (),
            clock: Clock) -> None:
    """Synced tags or groups were deleted in siyu: ``del_corp_tag``."""
    if not tag_ids and not group_ids:
        return
    first = f"tag:{tag_ids[0]}" if tag_ids else f"group:{group_ids[0]}"
    _send(session, corp_id, "del_corp_tag", {"tag_ids": list(tag_ids), "group_ids": list(group_ids)},
          f"wecom:del_corp_tag:{first}", clock)


def customer_tags_changed(session: Session, corp_id: int, customer_id: int, *, add: Sequence[int] = (),
                          remove: Sequence[int] = (), event_id: int, clock: Clock) -> None:
    """Mirror tags put on (or taken off) a customer onto each active WeCom relation (``mark_tag``).
    Only tags of synced groups travel; ``event_id`` (the history row) makes the key unique."""
    synced_add = _synced(session, corp_id, add)
    synced_remove = _synced(session, corp_id, remove)
    if not synced_add and not synced_remove:
        return
    for relation_id, userid, external_userid in repository.active_relations(session, corp_id, customer_id):
        payload = {"relation_id": relation_id, "userid": userid, "external_userid": external_userid,
                   "add_tag": synced_add, "remove_tag": synced_remove}
        _send(session, corp_id, "mark_tag", payload, f"wecom:mark_tag:{relation_id}:{event_id}", clock)


def _synced(session: Session, corp_id: int, tag_ids: Sequence[int]) -> list[int]:
    if not tag_ids:
        return []
    rows = session.execute(
        select(Tag.id).join(TagGroup, TagGroup.id == Tag.group_id)
        .where(Tag.corp_id == corp_id, Tag.id.in_(list(tag_ids)), TagGroup.wecom_group_id.is_not(None))
        .order_by(Tag.id))
    return [tag_id for (tag_id,) in rows]


# -- what the deliverer asks ------------------------------------------------------------------------

class NotYetInWeCom(Exception):
    """A tag or group the message names has not reached WeCom yet (its creation is still queued)."""


def resolve_group(session: Session, corp_id: int, group_id: int) -> str | None:
    """The group's WeCom id; ``None`` while it is pending (to be created by name)."""
    group = repository.groups_by_id(session, corp_id, [group_id]).get(group_id)
    if group is None or group.wecom_group_id is None:
        raise LookupError(f"tag group {group_id} is not synced with WeCom")
    return None if is_pending(group.wecom_group_id) else group.wecom_group_id


def resolve_tags(session: Session, corp_id: int, tag_ids: Sequence[int]) -> list[str]:
    """WeCom ids of the tags; raises ``NotYetInWeCom`` if a live tag has none yet. Deleted tags that
    never reached WeCom are skipped (there is nothing to mark or delete there)."""
    if not tag_ids:
        return []
    rows = {tag.id: tag for tag in session.scalars(select(Tag).where(Tag.corp_id == corp_id,
                                                                      Tag.id.in_(list(tag_ids))))}
    found = []
    for tag_id in tag_ids:
        tag = rows.get(tag_id)
        if tag is None:
            continue
        if tag.wecom_tag_id:
            found.append(tag.wecom_tag_id)
        elif tag.deleted_at is None:
            raise NotYetInWeCom(f"tag {tag_id} has not reached WeCom yet")
    return found


def resolve_edit_target(session: Session, corp_id: int, target: str, siyu_id: int) -> str:
    if target == "group":
        wecom_id = resolve_group(session, corp_id, siyu_id)
        if wecom_id is None:
            raise NotYetInWeCom(f"tag group {siyu_id} has not reached WeCom yet")
        return wecom_id
    found = resolve_tags(session, corp_id, [siyu_id])
    if not found:
        raise LookupError(f"tag {siyu_id} is gone and never reached WeCom")
    return found[0]


def record_created(session: Session, corp_id: int, group_id: int, wecom_group_id: str,
                   created: dict[str, str], clock: Clock) -> dict[int, str]:
    """``add_corp_tag`` succeeded: store WeCom's ids (``created`` maps tag name → WeCom tag id).

    A corp-tag callback handled before this commit may already have mirrored the new tag as a tag
    of kind ``wecom``; that copy is dropped so our tag carries the id. A tag deleted in siyu while its
    creation was in flight is deleted in WeCom too. Returns siyu tag id → WeCom tag id."""
    group = repository.groups_by_id(session, corp_id, [group_id])[group_id]
    if group.wecom_group_id != wecom_group_id:
        twin = session.scalars(select(TagGroup).where(TagGroup.corp_id == corp_id,
                                                      TagGroup.wecom_group_id == wecom_group_id)).one_or_none()
        if twin is not None and twin.id != group.id:
            for moved in session.scalars(select(Tag).where(Tag.group_id == twin.id)):
                moved.group_id = group.id
            session.flush()
            session.delete(twin)
            session.flush()
        group.wecom_group_id = wecom_group_id
    stored: dict[int, str] = {}
    orphans: list[int] = []
    tags = session.scalars(select(Tag).where(Tag.group_id == group.id, Tag.wecom_tag_id.is_(None))
                           .order_by(Tag.id)).all()
    for tag in tags:
        wecom_tag_id = created.get(tag.name)
        if wecom_tag_id is None:
            continue
        twin_tag = session.scalars(select(Tag).where(Tag.corp_id == corp_id, Tag.wecom_tag_id == wecom_tag_id,
                                                     Tag.id != tag.id)).one_or_none()
        if twin_tag is not None:
            session.delete(twin_tag)
            session.flush()
        tag.wecom_tag_id = wecom_tag_id
        stored[tag.id] = wecom_tag_id
        if tag.deleted_at is not None:
            orphans.append(tag.id)
    session.flush()
    if orphans:
        deleted(session, corp_id, tag_ids=orphans, clock=clock)
    return stored
