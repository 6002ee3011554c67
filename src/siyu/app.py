"""The ASGI application: REST API under /api/v1, Segment-style ingest, WeCom callbacks, console."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from siyu.auth.dependencies import request_language
from siyu.kit.clock import Clock, get_clock
from siyu.kit.db import Database, get_database
from siyu.kit.errors import SiyuError, Unauthorized
from siyu.kit.i18n import translate
from siyu.kit.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(API_PREFIX) or path.startswith("/v1/") or path.startswith("/wecom/") or (
        "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SiyuError)
    async def siyu_error(request: Request, exc: SiyuError):
        language = request_language(request)
        if not _wants_json(request):
            if isinstance(exc, Unauthorized):
                target = f"/login?next={request.url.path}"
                if request.headers.get("hx-request"):
                    # A redirect would be swapped into the fragment; ask htmx to navigate instead.
                    return JSONResponse({}, status_code=200, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            from siyu.console.rendering import render

            return render(request, "error.html", {"error": exc.to_dict(language), "status": exc.status_code},
                          status_code=exc.status_code)
        return JSONResponse({"error": exc.to_dict(language)}, status_code=exc.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # Unknown routes and wrong methods: the same error model as every other API error.
        language = request_language(request)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if not _wants_json(request):
            from siyu.console.rendering import render

            error = {"code": code, "message": translate(f"error.{code}", language)}
            return render(request, "error.html", {"error": error, "status": exc.status_code},
                          status_code=exc.status_code)
        body = {"error": {"code": code, "message": translate(f"error.{code}", language)}}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        language = request_language(request)
        details = []
        for item in exc.errors():
            location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
            details.append({"field": ".".join(location), "reason": item.get("msg", ""), "type": item.get("type")})
        first = details[0]["field"] if details else ""
        body = {"error": {"code": "invalid_input",
                          "message": translate("error.invalid_input", language, field=first),
                          "field": first, "details": details}}
        return JSONResponse(body, status_code=422)


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    *,
    embedded_worker: bool = False,
    mount_emulator: bool = False,
) -> FastAPI:
    """Build the application. ``embedded_worker`` runs the job loop in-process (``siyu demo``);
    ``mount_emulator`` serves the WeCom emulator under ``/wecom-emulator``."""
    settings = settings or get_settings()
    database = database or get_database()
    clock = clock or get_clock()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from siyu.kit.runtime import start_background, stop_background

        handles = start_background(app, settings, database, clock, embedded_worker=embedded_worker)
        try:
            yield
        finally:
            stop_background(handles)

    app = FastAPI(title="siyu", version="0.1.0", openapi_url="/openapi.json", docs_url="/api/docs",
                  redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="siyu_session",
                       max_age=settings.session_max_age_seconds, same_site="lax",
                       https_only=settings.secure_cookies)
    _install_error_handlers(app)

    from siyu.routes import api_router, console_router, public_routers

    app.include_router(api_router, prefix=API_PREFIX)
    for router in public_routers():
        app.include_router(router)
    app.include_router(console_router)

    from siyu.console.rendering import STATIC_DIR

    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if mount_emulator:
        from siyu.emulator.wecom.app import create_emulator_app

        emulator = create_emulator_app(clock=clock)
        app.state.emulator_app = emulator
        app.mount("/wecom-emulator", emulator)
    return app
