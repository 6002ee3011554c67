"""Rendering console pages: Jinja2 with the catalogue, the principal and the CSRF token."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from siyu.auth.dependencies import request_language
from siyu.console import formatting
from siyu.console.areas import area_for_path, navigation
from siyu.kit.i18n import LANGUAGES, translate
from siyu.kit.security import new_csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@lru_cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    formatting.install(env)
    return env


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf_token")
    if not token:
        token = new_csrf_token()
        request.session["csrf_token"] = token
    return token


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    language = request_language(request)

    def t(key: str, **params: Any) -> str:
        return translate(key, language, **params)

    principal = getattr(request.state, "principal", None)
    query = request.url.query
    active_area = area_for_path(request.url.path)
    here = request.url.path + (f"?{query}" if query else "")
    if request.method != "GET":
        # A page drawn in answer to a form post cannot be fetched again: come back to its area.
        here = active_area.path if active_area else "/"
    values = {
        "request": request,
        "t": t,
        "language": language,
        "languages": LANGUAGES,
        "csrf_token": csrf_token(request),
        "principal": principal,
        "path": request.url.path,
        #: path and query of this page, for links that come back to it (the language switch)
        "here": here,
        "nav": navigation(principal),
        "active_area": active_area,
        "shell": getattr(request.state, "shell", None),
    }
    values.update(context or {})
    html = environment().get_template(template).render(**values)
    return HTMLResponse(html, status_code=status_code)
