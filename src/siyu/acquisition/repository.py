"""Every query of channel codes, their members, counters and adds. Reads for operators go through
``scoped`` (the corp, and corp-wide roles only: codes are HQ's tool); the callback hook runs for one
corp without a principal and names ``corp_id``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.kit.tenancy import Principal, scoped
from siyu.models.acquisition import ChannelCode, ChannelCodeAdd, ChannelCodeDay, ChannelCodeMember
from siyu.models.corp import Corp
from siyu.models.org import Staff, StaffStatus
from siyu.models.tag import Tag, TagGroup


def codes_query(principal: Principal, *, kind: str | None = None) -> Select:
    statement = scoped(select(ChannelCode), ChannelCode, principal).where(ChannelCode.status != "deleted")
    if kind is not None:
        statement = statement.where(ChannelCode.kind == kind)
    return statement


def get_code(session: Session, principal: Principal, code_id: int) -> ChannelCode | None:
    return session.scalars(codes_query(principal).where(ChannelCode.id == code_id)).one_or_none()


def code_of_corp(session: Session, corp_id: int, code_id: int, *, for_update: bool = False) -> ChannelCode | None:
    statement = select(ChannelCode).where(ChannelCode.corp_id == corp_id, ChannelCode.id == code_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def code_by_state(session: Session, corp_id: int, state: str) -> ChannelCode | None:
    return session.scalars(select(ChannelCode).where(ChannelCode.corp_id == corp_id,
                                                     ChannelCode.state == state)).one_or_none()


def state_taken(session: Session, corp_id: int, state: str) -> bool:
    return session.scalar(select(func.count()).select_from(ChannelCode).where(
        ChannelCode.corp_id == corp_id, ChannelCode.state == state)) > 0


def members_of(session: Session, code_id: int) -> list[tuple[ChannelCodeMember, Staff]]:
    rows = session.execute(select(ChannelCodeMember, Staff).join(Staff, Staff.id == ChannelCodeMember.staff_id)
                           .where(ChannelCodeMember.channel_code_id == code_id)
                           .order_by(ChannelCodeMember.id))
    return [(member, staff) for member, staff in rows]


def active_staff(session: Session, corp_id: int, staff_ids: Sequence[int]) -> dict[int, Staff]:
    if not staff_ids:
        return {}
    rows = session.scalars(select(Staff).where(Staff.corp_id == corp_id, Staff.id.in_(list(staff_ids)),
                                               Staff.status == StaffStatus.active))
    return {staff.id: staff for staff in rows}


def corp_tag_ids(session: Session, corp_id: int, tag_ids: Sequence[int]) -> set[int]:
    """Those of ``tag_ids`` that are tags of ``corp_id``."""
    if not tag_ids:
        return set()
    return set(session.scalars(select(Tag.id).where(Tag.corp_id == corp_id, Tag.id.in_(list(tag_ids)))))


def adds_on(session: Session, code_id: int, day: date) -> dict[int, int]:
    rows = session.execute(select(ChannelCodeDay.staff_id, ChannelCodeDay.adds).where(
        ChannelCodeDay.channel_code_id == code_id, ChannelCodeDay.day == day))
    return {staff_id: adds for staff_id, adds in rows}


def count_add(session: Session, corp_id: int, code_id: int, staff_id: int, day: date) -> None:
    """One more add today, raised in SQL so concurrent handlers cannot lose one."""
    table = ChannelCodeDay.__table__
    statement = dialect_insert(session, table).values(corp_id=corp_id, channel_code_id=code_id, staff_id=staff_id,
                                                      day=day, adds=1)
    session.execute(statement.on_conflict_do_update(index_elements=["channel_code_id", "staff_id", "day"],
                                                    set_={"adds": table.c.adds + 1}))


def insert_add(session: Session, values: dict) -> int | None:
    """The add of a relation through a code, once; None when it was recorded before."""
    return session.execute(dialect_insert(session, ChannelCodeAdd.__table__).values(**values)
                           .on_conflict_do_nothing(index_elements=["channel_code_id", "relation_id"])
                           .returning(ChannelCodeAdd.__table__.c.id)).scalar_one_or_none()


def set_welcome(session: Session, add_id: int, outcome: str) -> None:
    session.execute(update(ChannelCodeAdd).where(ChannelCodeAdd.id == add_id).values(welcome=outcome)
                    .execution_options(synchronize_session=False))


def corp_timezone(session: Session, corp_id: int) -> str:
    return session.scalar(select(Corp.timezone).where(Corp.id == corp_id)) or "Asia/Shanghai"


def live_codes(session: Session, corp_id: int | None = None) -> list[ChannelCode]:
    statement = select(ChannelCode).where(ChannelCode.status.in_(("pending", "active")))
    if corp_id is not None:
        statement = statement.where(ChannelCode.corp_id == corp_id)
    return list(session.scalars(statement.order_by(ChannelCode.id)))


def expired_codes(session: Session, now: datetime) -> list[ChannelCode]:
    return list(session.scalars(select(ChannelCode).where(
        ChannelCode.status.in_(("pending", "active")), ChannelCode.expires_at.is_not(None),
        ChannelCode.expires_at <= now)))


def tag_group_named(session: Session, corp_id: int, name: str) -> TagGroup | None:
    return session.scalars(select(TagGroup).where(TagGroup.corp_id == corp_id, TagGroup.name == name,
                                                  TagGroup.deleted_at.is_(None)).order_by(TagGroup.id)
                           .limit(1)).one_or_none()
