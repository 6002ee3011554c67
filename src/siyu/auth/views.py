"""Console: login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from siyu.auth import service
from siyu.auth.dependencies import AppClock, DbSession
from siyu.console.rendering import render
from siyu.kit.errors import TooManyRequests
from siyu.kit.i18n import normalise_language
from siyu.kit.security import csrf_matches, new_csrf_token, safe_redirect_path

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login cannot be used as an open redirect."""
    return safe_redirect_path(target)


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    return render(request, "auth/login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, session: DbSession, clock: AppClock, username: str = Form(""),
          password: str = Form(""), csrf_token: str = Form(""), next: str = Form("/")):
    if not csrf_matches(request.session.get("csrf_token"), csrf_token):
        return render(request, "auth/login.html", {"next": _safe_next(next), "error": "error.csrf",
                                                   "username": username}, status_code=403)
    client = request.client.host if request.client else "unknown"
    try:
        result = service.authenticate(session, username, password, client, clock, request.app.state.settings)
    except TooManyRequests as exc:
        return render(request, "auth/login.html", {"next": _safe_next(next), "error": exc.message_key,
                                                   "error_params": exc.params, "username": username},
                      status_code=429)
    if result.user is None:
        key = "error.login_ambiguous" if result.ambiguous else "error.login_failed"
        return render(request, "auth/login.html", {"next": _safe_next(next), "error": key, "username": username},
                      status_code=401)
    language = request.session.get("language") or result.user.language
    request.session.clear()
    request.session.update({"user_id": result.user.id, "session_version": result.user.session_version,
                            "csrf_token": new_csrf_token(), "language": language})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")):
    if csrf_matches(request.session.get("csrf_token"), csrf_token):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _referring_page(request: Request) -> str | None:
    """The page the switch was clicked on, from ``Referer`` — only when it is this site."""
    referer = urlparse(request.headers.get("referer", ""))
    if not referer.path or referer.netloc != request.url.netloc:
        return None
    return referer.path + (f"?{referer.query}" if referer.query else "")


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str | None = None):
    """Switch the console language and go back to the page it was switched on (``?next=``)."""
    request.session["language"] = normalise_language(language)
    return RedirectResponse(_safe_next(next or _referring_page(request)), status_code=303)
