"""The unified customer, its identities and its relations to staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import BigId, corp_fk, id_column


class Customer(TimestampMixin, Base):
    """客户 — one person, whatever channels we know them through."""

    __tablename__ = "customer"
    # Name prefix search (Customer 360), phone look-up, "added between", and the segment engine's
    # dirty-set watermark (migrations 0005 and 0010).
    __table_args__ = (
        Index("ix_customer_corp_name", "corp_id", "name", postgresql_ops={"name": "varchar_pattern_ops"}),
        Index("ix_customer_corp_phone", "corp_id", "phone"),
        Index("ix_customer_corp_created", "corp_id", "created_at"),
        Index("ix_customer_corp_updated", "corp_id", "updated_at"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    birthday: Mapped[datetime | None]
    #: The store (department) that owns the customer, if any.
    home_store_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    #: Set when this customer was merged into another; reads follow it to the survivor.
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customer.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime | None]


class IdentityKind(enum.StrEnum):
    wecom_external_userid = "wecom_external_userid"
    unionid = "unionid"
    openid = "openid"
    phone = "phone"
    taobao_buyer = "taobao_buyer"
    jd_pin = "jd_pin"
    youzan_buyer = "youzan_buyer"
    douyin_buyer = "douyin_buyer"
    member_no = "member_no"
    anonymous_id = "anonymous_id"
    user_id = "user_id"


class Identity(TimestampMixin, Base):
    """身份标识 — a (kind, value) pair, unique per corp, pointing at one customer."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("corp_id", "kind", "value"),)

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))


class RelationStatus(enum.StrEnum):
    active = "active"
    #: the customer deleted the staff member (a lost customer)
    deleted_by_customer = "deleted_by_customer"
    #: the staff member deleted the customer
    deleted_by_staff = "deleted_by_staff"
    transferred = "transferred"


class Relation(TimestampMixin, Base):
    """跟进关系 — a staff member serves a customer through WeCom."""

    __tablename__ = "relation"
    __table_args__ = (
        UniqueConstraint("corp_id", "staff_id", "customer_id"),
        Index("ix_relation_customer_staff", "customer_id", "staff_id"),
        Index("ix_relation_corp_updated", "corp_id", "updated_at"),
    )

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customer.id", ondelete="CASCADE"))
    external_userid: Mapped[str | None] = mapped_column(String(64))
    remark: Mapped[str | None] = mapped_column(String(100))
    #: WeCom add_way code and the contact way ``state`` the customer arrived with.
    add_way: Mapped[int | None]
    state: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[RelationStatus] = mapped_column(
        Enum(RelationStatus, native_enum=False, length=32), default=RelationStatus.active
    )
    added_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
