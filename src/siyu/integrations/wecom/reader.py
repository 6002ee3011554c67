"""What the callback handlers read from WeCom when an event carries only an id: corp tag groups
(get_corp_tag_list) and a group chat (groupchat/get), converted to the domain's own values.

The reader works inside the handler's transaction: its connection and token reads and writes use
the job's session. On SQLite a job holds the single write lock while it runs, so a second connection
could not store a fetched token; on PostgreSQL the only cost is that a token fetched by a handler
that then fails is not kept.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from siyu.group.service import GroupChatSnapshot, GroupMemberSnapshot
from siyu.integrations.wecom.client import WeComClient, WeComClientFactory
from siyu.integrations.wecom.schemas import GetCorpTagListRequest
from siyu.kit.clock import Clock
from siyu.tag.service import CorpTag, CorpTagGroup


class WeComReader(Protocol):
    def corp_tag_groups(self, *, tag_ids: list[str] | None = None,
                        group_ids: list[str] | None = None) -> list[CorpTagGroup]: ...

    def group_chat(self, chat_id: str) -> GroupChatSnapshot: ...

    def close(self) -> None: ...


def _moment(timestamp: int) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


class ClientReader:
    """``WeComReader`` over the WeCom client of one corp (its 客户联系 secret)."""

    def __init__(self, factory: WeComClientFactory, client: WeComClient) -> None:
        self._factory = factory
        self._client = client

    def corp_tag_groups(self, *, tag_ids: list[str] | None = None,
                        group_ids: list[str] | None = None) -> list[CorpTagGroup]:
        """Groups with their tags; by tag id or group id (WeCom then also reports ``deleted``)."""
        answer = self._client.get_corp_tag_list(GetCorpTagListRequest(tag_id=tag_ids, group_id=group_ids))
        return [
            CorpTagGroup(wecom_group_id=group.group_id, name=group.group_name, order=group.order,
                         deleted=bool(group.deleted),
                         tags=tuple(CorpTag(wecom_tag_id=tag.id, name=tag.name, order=tag.order,
                                            deleted=bool(tag.deleted)) for tag in group.tag))
            for group in answer.tag_group
        ]

    def group_chat(self, chat_id: str) -> GroupChatSnapshot:
        info = self._client.groupchat_get(chat_id).group_chat
        return GroupChatSnapshot(
            chat_id=info.chat_id, name=info.name or None, owner_userid=info.owner or None,
            notice=info.notice or None, created_at=_moment(info.create_time),
            members=tuple(GroupMemberSnapshot(member_userid=m.userid, member_type=m.type, unionid=m.unionid,
                                              joined_at=_moment(m.join_time), join_scene=m.join_scene)
                          for m in info.member_list))

    def close(self) -> None:
        self._factory.close()


def reader_for_corp(session: Session, corp_id: int, clock: Clock) -> ClientReader:
    """A reader for ``corp_id`` working in ``session``'s transaction (see the module docstring)."""
    factory = WeComClientFactory(lambda: nullcontext(session), clock)
    try:
        return ClientReader(factory, factory.for_corp(corp_id))
    except Exception:
        factory.close()
        raise
