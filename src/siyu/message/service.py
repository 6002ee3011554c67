"""Message templates: text with placeholders and attached materials."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.content.service import check_attachments
from siyu.kit.errors import InvalidInput, NotFound
from siyu.message.personalisation import validate_text
from siyu.models.message import MessageTemplate

MAX_TEXT_BYTES = 4000


def check_text(text: str, *, field: str = "text") -> None:
    """WeCom's mass and welcome messages carry at most 4000 bytes of text."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise InvalidInput("error.message_text_too_long", field=field, limit=MAX_TEXT_BYTES)
    validate_text(text, field=field)


def create_template(session: Session, corp_id: int, *, name: str, text: str,
                    material_ids: list[int]) -> MessageTemplate:
    if not name.strip():
        raise InvalidInput("error.message_template_name_required", field="name")
    check_text(text)
    check_attachments(session, corp_id, material_ids, text=text)
    template = MessageTemplate(corp_id=corp_id, name=name.strip()[:100], text=text, material_ids=material_ids)
    session.add(template)
    session.flush()
    return template


def get_template(session: Session, corp_id: int, template_id: int) -> MessageTemplate:
    template = session.get(MessageTemplate, template_id)
    if template is None or template.corp_id != corp_id:
        raise NotFound("error.message_template_not_found")
    return template


def list_templates(session: Session, corp_id: int) -> list[MessageTemplate]:
    return list(session.scalars(select(MessageTemplate).where(MessageTemplate.corp_id == corp_id)
                                .order_by(MessageTemplate.id.desc())))
