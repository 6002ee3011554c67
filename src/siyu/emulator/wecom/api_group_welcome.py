"""Group welcome templates 「入群欢迎语素材」 (reference §3.10, DOC 92366): add, edit, get, del.

A template is what a group owner picks in their client as the welcome of a group; the API only
manages the templates (at most 100 per corp). ``%NICKNAME%`` in the text stands for the joining
member's nickname. The templates live in the emulated corp's state.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.api import ApiContext, api_context, json_body, ok, require
from siyu.emulator.wecom.errors import WeComError
from siyu.emulator.wecom.state import Corp

router = APIRouter(prefix="/externalcontact/group_welcome_template")
MAX_TEMPLATES = 100
MAX_TEXT_BYTES = 3000
PARTS = ("text", "image", "link", "miniprogram", "file", "video")


def _templates(corp: Corp) -> dict[str, dict[str, Any]]:
    return corp.__dict__.setdefault("group_welcome_templates", {})


def _content(body: dict[str, Any]) -> dict[str, Any]:
    content = {part: body[part] for part in PARTS if isinstance(body.get(part), dict)}
    if not content:
        raise WeComError(errors.INVALID_PARAMETER, "a template needs text or an attachment")
    text = str(content.get("text", {}).get("content") or "")
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise WeComError(errors.INVALID_PARAMETER, f"text.content exceeds {MAX_TEXT_BYTES} bytes")
    if "link" in content and not (content["link"].get("title") and content["link"].get("url")):
        raise WeComError(errors.INVALID_PARAMETER, "link needs title and url")
    return content


def _template(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    require(body, "template_id")
    template = _templates(ctx.corp).get(body["template_id"])
    if template is None:
        raise WeComError(errors.INVALID_PARAMETER, f"invalid template_id {body['template_id']!r}")
    return template


@router.post("/add")
def add_template(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    content = _content(body)
    with ctx.state.lock:
        templates = _templates(ctx.corp)
        if len(templates) >= MAX_TEMPLATES:
            raise WeComError(errors.INVALID_PARAMETER, f"at most {MAX_TEMPLATES} group welcome templates")
        template_id = "msg" + ctx.state.new_id("", 24)
        templates[template_id] = content
        return ok(template_id=template_id)


@router.post("/edit")
def edit_template(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        template = _template(ctx, body)
        template.clear()
        template.update(_content(body))
        return ok()


@router.post("/get")
def get_template(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        return ok(**_template(ctx, body))


@router.post("/del")
def del_template(body: dict = Depends(json_body), ctx: ApiContext = Depends(api_context)) -> dict:
    ctx.require_customer_contact()
    with ctx.state.lock:
        _template(ctx, body)
        del _templates(ctx.corp)[body["template_id"]]
        return ok()
