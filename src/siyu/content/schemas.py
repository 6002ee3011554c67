"""REST bodies of materials and message templates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["text", "image", "link", "miniprogram", "video", "file"]


class MaterialCreate(BaseModel):
    kind: Kind
    title: str
    #: text
    content: str | None = None
    #: link
    url: str | None = None
    desc: str | None = None
    picurl: str | None = None
    #: mini-program
    appid: str | None = None
    page: str | None = None
    #: image, video, file, mini-program cover: the file's name and its bytes in base64
    file_name: str | None = None
    file_base64: str | None = None


class MaterialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: dict
    file_name: str | None
    media_id: str | None
    media_uploaded_at: datetime | None
    media_expires_at: datetime | None = None
    #: missing, due, fresh; None for kinds without WeCom media
    media_state: str | None = None


class TemplateCreate(BaseModel):
    name: str
    text: str = ""
    material_ids: list[int] = Field(default_factory=list)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    text: str
    material_ids: list[int]


class TemplatePreview(BaseModel):
    customer_id: int
    text: str
