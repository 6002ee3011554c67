"""Materials (素材库) and message templates with personalisation."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, TimestampMixin
from siyu.models.base import corp_fk, id_column


class MaterialKind(enum.StrEnum):
    text = "text"
    image = "image"
    link = "link"
    miniprogram = "miniprogram"
    video = "video"
    file = "file"


class Material(TimestampMixin, Base):
    """素材 — one piece of content operators attach to messages. Images, videos and files (and the
    cover of a mini-program card) are uploaded to WeCom as temporary media, valid three days; the
    refresh job re-uploads them before ``media_uploaded_at`` + 3 days."""

    __tablename__ = "material"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    kind: Mapped[MaterialKind] = mapped_column(Enum(MaterialKind, native_enum=False, length=16))
    title: Mapped[str] = mapped_column(String(128))
    #: kind-specific fields: content (text); url, desc, picurl (link); appid, page (miniprogram)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    file_name: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    media_id: Mapped[str | None] = mapped_column(String(128))
    media_uploaded_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class MessageTemplate(TimestampMixin, Base):
    """A message with placeholders (``{customer_name}``, ``{staff_name}``, ``{store}``, ``{coupon_code}``,
    ``{points}``, ``{last_order_at}`` …) and up to nine attached materials."""

    __tablename__ = "message_template"

    id: Mapped[int] = id_column()
    corp_id: Mapped[int] = corp_fk()
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    material_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
