"""Materials: validation, listing, and which WeCom media ids need refreshing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.kit.errors import InvalidInput, NotFound
from siyu.models.message import Material, MaterialKind

#: WeCom temporary media live three days; re-upload with a margin so a send never meets a dead id
MEDIA_LIFETIME = timedelta(days=3)
REFRESH_MARGIN = timedelta(hours=12)
#: kinds whose payload is a WeCom temporary media id
MEDIA_KINDS = frozenset({MaterialKind.image, MaterialKind.video, MaterialKind.file, MaterialKind.miniprogram})
MAX_ATTACHMENTS = 9
MAX_FILE_BYTES = 10 * 1024 * 1024
_REQUIRED = {MaterialKind.text: ("content",), MaterialKind.link: ("url",),
             MaterialKind.miniprogram: ("appid", "page")}


def create_material(session: Session, corp_id: int, *, kind: str, title: str, body: dict[str, Any],
                    file_name: str | None = None, content: bytes | None = None) -> Material:
    """Validate and store a material; each refusal names its field."""
    try:
        material_kind = MaterialKind(kind)
    except ValueError:
        raise InvalidInput("error.material_kind_invalid", field="kind") from None
    _validate(material_kind, title, body, content)
    material = Material(corp_id=corp_id, kind=material_kind, title=title.strip(), body=dict(body),
                        file_name=file_name, content=content if material_kind in MEDIA_KINDS else None)
    session.add(material)
    session.flush()
    return material


def _validate(material_kind: MaterialKind, title: str, body: dict[str, Any], content: bytes | None) -> None:
    if not title.strip() or len(title.encode("utf-8")) > 128:
        raise InvalidInput("error.material_title_invalid", field="title")
    for name in _REQUIRED.get(material_kind, ()):
        if not str(body.get(name) or "").strip():
            raise InvalidInput("error.material_field_required", field=f"body.{name}")
    if material_kind == MaterialKind.link and not str(body["url"]).startswith(("http://", "https://")):
        raise InvalidInput("error.material_url_invalid", field="body.url")
    if material_kind in MEDIA_KINDS:
        if not content:
            raise InvalidInput("error.material_file_required", field="file")
        if len(content) > MAX_FILE_BYTES:
            raise InvalidInput("error.material_file_too_large", field="file", limit=MAX_FILE_BYTES)


#: file types WeCom accepts as temporary media, by kind (suffix of the uploaded file's name)
UPLOAD_SUFFIXES = {MaterialKind.image: (".jpg", ".jpeg", ".png"), MaterialKind.video: (".mp4",),
                   MaterialKind.miniprogram: (".jpg", ".jpeg", ".png"),
                   MaterialKind.file: (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".txt", ".zip")}


def check_upload(kind: str, file_name: str | None) -> None:
    """Refuse a file whose type WeCom will not take for ``kind`` (``field="file"``)."""
    suffixes = UPLOAD_SUFFIXES.get(MaterialKind(kind)) if kind in MaterialKind.__members__.values() else None
    if suffixes and file_name and not file_name.lower().endswith(suffixes):
        raise InvalidInput("error.material_file_type", field="file", allowed=" ".join(suffixes))


def update_material(session: Session, material: Material, *, title: str, body: dict[str, Any],
                    file_name: str | None = None, content: bytes | None = None) -> Material:
    """Change a material; a new file replaces the old one and its WeCom media id (uploaded again)."""
    _validate(MaterialKind(material.kind), title, body, content if content else material.content)
    material.title, material.body = title.strip(), dict(body)
    if content:
        material.file_name, material.content = file_name, content
        material.media_id, material.media_uploaded_at = None, None
    session.flush()
    return material


def get_material(session: Session, corp_id: int, material_id: int) -> Material:
    return get_materials(session, corp_id, [material_id])[0]


def list_materials(session: Session, corp_id: int, kind: str | None = None) -> list[Material]:
    statement = select(Material).where(Material.corp_id == corp_id, Material.deleted_at.is_(None))
    if kind:
        statement = statement.where(Material.kind == MaterialKind(kind))
    return list(session.scalars(statement.order_by(Material.id.desc())))


def get_materials(session: Session, corp_id: int, material_ids: list[int]) -> list[Material]:
    """The materials in the order asked; ``NotFound`` if one is missing, deleted or another corp's."""
    if not material_ids:
        return []
    found = {m.id: m for m in session.scalars(select(Material).where(
        Material.corp_id == corp_id, Material.id.in_(material_ids), Material.deleted_at.is_(None)))}
    missing = [i for i in material_ids if i not in found]
    if missing:
        raise NotFound("error.material_not_found", field="material_ids", material_id=missing[0])
    return [found[i] for i in material_ids]


def check_attachments(session: Session, corp_id: int, material_ids: list[int], *, text: str) -> None:
    if len(material_ids) > MAX_ATTACHMENTS:
        raise InvalidInput("error.material_too_many", field="material_ids", limit=MAX_ATTACHMENTS)
    materials = get_materials(session, corp_id, material_ids)
    if not text.strip() and not materials:
        raise InvalidInput("error.message_empty", field="text")


def media_expires_at(material: Material) -> datetime | None:
    return material.media_uploaded_at + MEDIA_LIFETIME if material.media_uploaded_at else None


def media_due(session: Session, corp_id: int, *, now: datetime, material_ids: list[int] | None = None
              ) -> list[Material]:
    """Media materials without a WeCom media id or whose id expires within the refresh margin."""
    statement = select(Material).where(
        Material.corp_id == corp_id, Material.deleted_at.is_(None), Material.kind.in_(list(MEDIA_KINDS)),
        or_(Material.media_id.is_(None), Material.media_uploaded_at <= now - MEDIA_LIFETIME + REFRESH_MARGIN))
    if material_ids is not None:
        statement = statement.where(Material.id.in_(material_ids))
    return list(session.scalars(statement.order_by(Material.id)))


def record_media(session: Session, material: Material, media_id: str, *, at: datetime) -> None:
    material.media_id, material.media_uploaded_at = media_id, at
    session.flush()
