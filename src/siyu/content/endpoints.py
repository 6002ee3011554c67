"""REST: materials (素材库) and message templates with a preview per customer — the same services as
the console."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter
from sqlalchemy import select

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, require
from siyu.content import schemas, service
from siyu.content.views import BODY_FIELDS, media_state
from siyu.kit.errors import InvalidInput, NotFound
from siyu.message import personalisation
from siyu.message import service as templates
from siyu.models import Customer

router = APIRouter(tags=["content"])


def _out(material, now) -> schemas.MaterialOut:
    return schemas.MaterialOut.model_validate(material).model_copy(update={
        "media_expires_at": service.media_expires_at(material), "media_state": media_state(material, now)})


@router.get("/materials", response_model=list[schemas.MaterialOut], dependencies=[require("broadcasts.read")])
def list_materials(session: DbSession, principal: CurrentPrincipal, clock: AppClock, kind: schemas.Kind | None = None):
    now = clock.now()
    return [_out(m, now) for m in service.list_materials(session, principal.corp_id, kind)]


@router.post("/materials", response_model=schemas.MaterialOut, status_code=201,
             dependencies=[require("broadcasts.write")])
def create_material(body: schemas.MaterialCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    fields = {name: getattr(body, name).strip() for name in BODY_FIELDS[body.kind] if (getattr(body, name) or "").strip()}
    content = None
    if body.kind in service.MEDIA_KINDS and body.file_base64:
        try:
            content = base64.b64decode(body.file_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("error.material_file_base64", field="file_base64") from None
    service.check_upload(body.kind, body.file_name)
    material = service.create_material(session, principal.corp_id, kind=body.kind, title=body.title, body=fields,
                                       file_name=body.file_name, content=content)
    return _out(material, clock.now())


@router.get("/message-templates", response_model=list[schemas.TemplateOut], dependencies=[require("broadcasts.read")])
def list_templates(session: DbSession, principal: CurrentPrincipal):
    return templates.list_templates(session, principal.corp_id)


@router.post("/message-templates", response_model=schemas.TemplateOut, status_code=201,
             dependencies=[require("broadcasts.write")])
def create_template(body: schemas.TemplateCreate, session: DbSession, principal: CurrentPrincipal):
    return templates.create_template(session, principal.corp_id, name=body.name, text=body.text,
                                     material_ids=body.material_ids)


@router.get("/message-templates/{message_template_id}/preview/{customer_id}",
            response_model=schemas.TemplatePreview, dependencies=[require("broadcasts.read")])
def preview_template(message_template_id: int, customer_id: int, session: DbSession, principal: CurrentPrincipal,
                     clock: AppClock):
    # (not ``template_id``: that names a coupon template across the API)
    template = templates.get_template(session, principal.corp_id, message_template_id)
    if session.scalar(select(Customer.id).where(Customer.corp_id == principal.corp_id,
                                                Customer.id == customer_id)) is None:
        raise NotFound("error.customer_not_found", field="customer_id")
    return schemas.TemplatePreview(customer_id=customer_id, text=personalisation.preview(
        session, principal.corp_id, template.text, customer_id, now=clock.now()))
