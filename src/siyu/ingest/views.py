"""Console: data sources (数据接入) — the sources of Segment-style events with their write keys.

Create a source (its key is shown once, on the page answering the form, never in a URL and never
again), disable or enable it, rotate its key, and look at a source's last event time, recent requests
and recent events. Everything goes through ``ingest.service``, like the REST API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from siyu.auth.dependencies import DbSession, request_language
from siyu.console.forms import FormState, record, validate
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.ingest import repository, schemas, service
from siyu.kit.errors import SiyuError
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.event import Event, IngestBatch, IngestSource

router = APIRouter()
PAGE = "/ingest"
PAGE_SIZE = 50
RECENT_BATCHES = 10
NOTICES = ("disabled", "enabled")


def _tracking_url(request: Request) -> str:
    return request.app.state.settings.public_base_url.rstrip("/")


def _page(request: Request, session: Session, principal: Principal, *, form: FormState | None = None,
          created: schemas.SourceWithKey | None = None, notice: str | None = None, status_code: int = 200):
    sources, _ = paginate(session, repository.sources_query(principal), IngestSource.id, limit=200, cursor=None)
    context: dict[str, Any] = {
        "sources": sources, "form": form or FormState("source", {"kind": "http"}), "created": created,
        "kinds": [kind.value for kind in schemas.SourceKind], "notice": notice if notice in NOTICES else None,
        "tracking_url": _tracking_url(request),
    }
    return render(request, "ingest/index.html", context, status_code=status_code)


def _events(session: Session, principal: Principal, source_id: int, cursor: str | None) -> dict[str, Any]:
    rows, next_cursor = paginate(session, repository.events_query(principal, source_id=source_id), Event.id,
                                 limit=PAGE_SIZE, cursor=cursor)
    return {"events": rows, "events_next": next_cursor, "source_id": source_id}


def _source_page(request: Request, session: Session, principal: Principal, source_id: int, *,
                 new_key: str | None = None):
    source = service.get_source(session, principal, source_id)
    batches, _ = paginate(session, repository.batches_query(principal, source_id=source_id), IngestBatch.id,
                          limit=RECENT_BATCHES, cursor=None)
    context: dict[str, Any] = {"source": source, "batches": batches, "new_key": new_key,
                               "tracking_url": _tracking_url(request)}
    context |= _events(session, principal, source_id, None)
    return render(request, "ingest/source.html", context)


@router.get(PAGE)
def sources_page(request: Request, session: DbSession, notice: str | None = None,
                 principal: Principal = console_page("ingest")):
    return _page(request, session, principal, notice=notice)


@router.post(PAGE + "/sources")
def create_source(request: Request, session: DbSession, name: str = Form(""), kind: str = Form("http"),
                  principal: Principal = console_page("ingest")):
    """Create a source and answer with the page showing its key — this once."""
    language = request_language(request)
    form = FormState("source", {"name": name.strip(), "kind": kind})
    data = validate(schemas.SourceCreate, form, language)
    if data is None:
        return _page(request, session, principal, form=form, status_code=422)
    try:
        source, write_key = service.create_source(session, principal, data)
    except SiyuError as exc:
        record(exc, form, language)
        return _page(request, session, principal, form=form, status_code=exc.status_code)
    created = schemas.SourceWithKey(**schemas.Source.model_validate(source).model_dump(), write_key=write_key)
    return _page(request, session, principal, created=created)


@router.post(PAGE + "/sources/{source_id}/enabled")
def set_enabled(source_id: int, session: DbSession, enabled: str = Form(""),
                principal: Principal = console_page("ingest")):
    """Disable (``enabled=false``) or enable a source; its key is refused within seconds."""
    wanted = enabled == "true"
    service.update_source(session, principal, source_id, schemas.SourceUpdate(enabled=wanted))
    return RedirectResponse(f"{PAGE}?notice={'enabled' if wanted else 'disabled'}", status_code=303)


@router.post(PAGE + "/sources/{source_id}/rotate-key")
def rotate_key(request: Request, source_id: int, session: DbSession, principal: Principal = console_page("ingest")):
    """A new key for the source, shown once on the answering page; the old key stops working."""
    _, write_key = service.rotate_key(session, principal, source_id)
    return _source_page(request, session, principal, source_id, new_key=write_key)


@router.get(PAGE + "/sources/{source_id}")
def source_page(request: Request, source_id: int, session: DbSession,
                principal: Principal = console_page("ingest")):
    return _source_page(request, session, principal, source_id)


@router.get(PAGE + "/sources/{source_id}/events/rows")
def event_rows(request: Request, source_id: int, session: DbSession, cursor: str | None = None,
               principal: Principal = console_page("ingest")):
    """htmx: the next rows of a source's recent events."""
    service.get_source(session, principal, source_id)
    return render(request, "ingest/_event_rows.html", _events(session, principal, source_id, cursor))
