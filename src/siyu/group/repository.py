"""Queries of customer group chats and their members.

The WeCom mirror runs in the callback handler job for one corp (no principal), so these statements
name ``corp_id``; console and API reads arrive with the group operations feature.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.models.customer import Identity, IdentityKind
from siyu.models.group import GroupChat, GroupChatMember


def group_by_chat_id(session: Session, corp_id: int, chat_id: str) -> GroupChat | None:
    return session.scalars(
        select(GroupChat).where(GroupChat.corp_id == corp_id, GroupChat.chat_id == chat_id)
    ).one_or_none()


def insert_group_if_absent(session: Session, values: dict) -> None:
    session.execute(dialect_insert(session, GroupChat.__table__).values(**values)
                    .on_conflict_do_nothing(index_elements=["corp_id", "chat_id"]))


def members_of(session: Session, group_chat_id: int,
               member_userids: list[str] | None = None) -> dict[str, GroupChatMember]:
    statement = select(GroupChatMember).where(GroupChatMember.group_chat_id == group_chat_id)
    if member_userids is not None:
        statement = statement.where(GroupChatMember.member_userid.in_(member_userids))
    return {member.member_userid: member for member in session.scalars(statement)}


def customer_ids_by_external_userid(session: Session, corp_id: int,
                                    external_userids: list[str]) -> dict[str, int]:
    if not external_userids:
        return {}
    rows = session.execute(select(Identity.value, Identity.customer_id).where(
        Identity.corp_id == corp_id, Identity.kind == IdentityKind.wecom_external_userid.value,
        Identity.value.in_(external_userids)))
    return {key: value for key, value in rows}


def refresh_member_count(session: Session, group_chat_id: int) -> None:
    """Recount present members in SQL, so concurrent changes cannot leave a stale count."""
    present = (select(func.count()).select_from(GroupChatMember)
               .where(GroupChatMember.group_chat_id == group_chat_id, GroupChatMember.left_at.is_(None))
               .scalar_subquery())
    session.execute(update(GroupChat).where(GroupChat.id == group_chat_id).values(member_count=present)
                    .execution_options(synchronize_session=False))
