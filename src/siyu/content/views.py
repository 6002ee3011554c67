"""Console: the material library (素材库) — materials by kind with their WeCom media status, a form per
kind (files checked for size and type, refusals next to their field) — and message templates with a
preview per customer. Everything goes through ``content.service`` and ``message`` like the REST API."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.forms import FormState, record
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.content import service
from siyu.integrations.wecom.media_refresh import JOB as REFRESH_JOB
from siyu.kit.errors import SiyuError
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.message import personalisation
from siyu.message import service as templates
from siyu.models import Customer
from siyu.models.message import Material, MaterialKind

router = APIRouter()
PAGE = "/content"
KINDS = [kind.value for kind in MaterialKind]
#: the body fields each kind's form shows (``body.<name>`` in the service's refusals)
BODY_FIELDS = {"text": ("content",), "link": ("url", "desc", "picurl"), "miniprogram": ("appid", "page"),
               "image": (), "video": (), "file": ()}


def media_state(material: Material, now) -> str | None:
    """``missing`` (never uploaded), ``due`` (expires within the refresh margin) or ``fresh``; None
    for kinds that carry no WeCom media."""
    if material.kind not in service.MEDIA_KINDS:
        return None
    if not material.media_id or material.media_uploaded_at is None:
        return "missing"
    expires = service.media_expires_at(material)
    return "due" if expires - service.REFRESH_MARGIN <= now else "fresh"


@router.get(PAGE)
def content_page(request: Request, session: DbSession, clock: AppClock, kind: str = "",
                 principal: Principal = console_page("content")):
    chosen = kind if kind in KINDS else ""
    now = clock.now()
    materials = service.list_materials(session, principal.corp_id, chosen or None)
    rows = [(m, media_state(m, now), service.media_expires_at(m)) for m in materials]
    return render(request, "content/index.html", {"rows": rows, "kinds": KINDS, "kind": chosen,
                                                  "templates": templates.list_templates(session, principal.corp_id)})


def _material_form(kind: str, material: Material | None = None) -> FormState:
    values = {"kind": kind, "title": material.title if material else ""}
    for name in BODY_FIELDS[kind]:
        values[name] = str((material.body if material else {}).get(name) or "")
    return FormState("material", values)


@router.get(PAGE + "/new")
def new_material_page(request: Request, kind: str = "text",
                      principal: Principal = console_page("content", "broadcasts.write")):
    kind = kind if kind in KINDS else "text"
    return render(request, "content/material_form.html", {"form": _material_form(kind), "material": None})


@router.get(PAGE + "/materials/{material_id}")
def edit_material_page(material_id: int, request: Request, session: DbSession, clock: AppClock,
                       principal: Principal = console_page("content", "broadcasts.write")):
    material = service.get_material(session, principal.corp_id, material_id)
    return render(request, "content/material_form.html", {
        "form": _material_form(material.kind, material), "material": material,
        "state": media_state(material, clock.now()), "expires": service.media_expires_at(material)})


async def _posted(request: Request, kind: str, file: UploadFile | None) -> tuple[FormState, dict, str | None, bytes]:
    posted = await request.form()
    form = FormState("material", {"kind": kind, "title": str(posted.get("title") or "")})
    body = {}
    for name in BODY_FIELDS.get(kind, ()):
        form.values[name] = str(posted.get(name) or "")
        if form.values[name].strip():
            body[name] = form.values[name].strip()
    content = await file.read() if file is not None and file.filename else b""
    return form, body, (file.filename if file is not None and file.filename else None), content


def _refused(error: SiyuError, form: FormState, request: Request) -> None:
    record(error, form, request_language(request),
           rename={f"body.{name}": name for names in BODY_FIELDS.values() for name in names})


@router.post(PAGE + "/materials")
async def create_material(request: Request, session: DbSession, kind: str = Form(""),
                          file: UploadFile | None = File(None),
                          principal: Principal = console_page("content", "broadcasts.write")):
    kind = kind if kind in KINDS else "text"
    form, body, file_name, content = await _posted(request, kind, file)
    try:
        service.check_upload(kind, file_name)
        material = service.create_material(session, principal.corp_id, kind=kind, title=form.values["title"],
                                           body=body, file_name=file_name, content=content or None)
    except SiyuError as error:
        _refused(error, form, request)
        session.rollback()
        return render(request, "content/material_form.html", {"form": form, "material": None}, status_code=422)
    return RedirectResponse(f"{PAGE}?kind={material.kind}&saved={material.id}", status_code=303)


@router.post(PAGE + "/materials/{material_id}")
async def update_material(material_id: int, request: Request, session: DbSession, clock: AppClock,
                          file: UploadFile | None = File(None),
                          principal: Principal = console_page("content", "broadcasts.write")):
    material = service.get_material(session, principal.corp_id, material_id)
    form, body, file_name, content = await _posted(request, material.kind, file)
    try:
        service.check_upload(material.kind, file_name)
        service.update_material(session, material, title=form.values["title"], body=body, file_name=file_name,
                                content=content or None)
    except SiyuError as error:
        _refused(error, form, request)
        session.rollback()
        material = service.get_material(session, principal.corp_id, material_id)
        return render(request, "content/material_form.html", {
            "form": form, "material": material, "state": media_state(material, clock.now()),
            "expires": service.media_expires_at(material)}, status_code=422)
    return RedirectResponse(f"{PAGE}?kind={material.kind}&saved={material.id}", status_code=303)


@router.post(PAGE + "/refresh-media")
def refresh_media(session: DbSession, clock: AppClock,
                  principal: Principal = console_page("content", "broadcasts.write")):
    enqueue(session, REFRESH_JOB, {"corp_id": principal.corp_id, "reschedule": False}, corp_id=principal.corp_id,
            clock=clock)
    return RedirectResponse(f"{PAGE}?refreshing=1", status_code=303)


def _template_context(session: Session, corp_id: int) -> dict:
    return {"materials": [(m.id, m.title, m.kind) for m in service.list_materials(session, corp_id)],
            "placeholders": personalisation.PLACEHOLDERS}


@router.get(PAGE + "/templates/new")
def new_template_page(request: Request, session: DbSession,
                      principal: Principal = console_page("content", "broadcasts.write")):
    return render(request, "content/template_form.html",
                  {"form": FormState("template", {"material_ids": []}), **_template_context(session, principal.corp_id)})


@router.post(PAGE + "/templates")
async def create_template(request: Request, session: DbSession,
                          principal: Principal = console_page("content", "broadcasts.write")):
    posted = await request.form()
    values = {"name": str(posted.get("name") or ""), "text": str(posted.get("text") or ""),
              "material_ids": [int(v) for v in posted.getlist("material_ids") if str(v).isdigit()]}
    form = FormState("template", values)
    try:
        template = templates.create_template(session, principal.corp_id, name=values["name"], text=values["text"],
                                             material_ids=values["material_ids"])
    except SiyuError as error:
        record(error, form, request_language(request))
        session.rollback()
        return render(request, "content/template_form.html",
                      {"form": form, **_template_context(session, principal.corp_id)}, status_code=422)
    return RedirectResponse(f"{PAGE}/templates/{template.id}", status_code=303)


@router.get(PAGE + "/templates/{template_id}")
def template_page(template_id: int, request: Request, session: DbSession, clock: AppClock, customer_id: int = 0,
                  principal: Principal = console_page("content")):
    template = templates.get_template(session, principal.corp_id, template_id)
    customers = session.execute(select(Customer.id, Customer.name).where(
        Customer.corp_id == principal.corp_id, Customer.merged_into_id.is_(None)).order_by(Customer.id).limit(200)).all()
    chosen = customer_id if customer_id in {c for c, _ in customers} else (customers[0][0] if customers else 0)
    rendered = (personalisation.preview(session, principal.corp_id, template.text, chosen, now=clock.now())
                if chosen else None)
    return render(request, "content/template.html", {
        "template": template, "customers": customers, "customer_id": chosen, "rendered": rendered,
        "materials": service.get_materials(session, principal.corp_id, list(template.material_ids))})
