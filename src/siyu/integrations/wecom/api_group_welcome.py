"""Typed calls for group welcome templates 「入群欢迎语素材」 (reference §3.10, DOC 92366). Kept apart
from ``WeComClient``'s mixins: they take any client (``WeComTransport``) and call it."""

from __future__ import annotations

from siyu.integrations.wecom import schemas as base
from siyu.integrations.wecom.schemas_engagement import Text
from siyu.integrations.wecom.transport import WeComTransport


class GroupWelcomeTemplateRequest(base.WeComRequest):
    text: Text
    template_id: str | None = None


class GroupWelcomeTemplateResponse(base.WeComResponse):
    template_id: str


def add_group_welcome_template(client: WeComTransport, text: str) -> str:
    """A template with ``text`` (``%NICKNAME%`` stands for the joining member); returns its id."""
    return client.call("POST", "externalcontact/group_welcome_template/add", GroupWelcomeTemplateResponse,
                       body=GroupWelcomeTemplateRequest(text=Text(content=text)), idempotent=False).template_id


def edit_group_welcome_template(client: WeComTransport, template_id: str, text: str) -> None:
    client.call("POST", "externalcontact/group_welcome_template/edit", base.WeComResponse,
                body=GroupWelcomeTemplateRequest(template_id=template_id, text=Text(content=text)))
