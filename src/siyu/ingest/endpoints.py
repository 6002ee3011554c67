"""HTTP: the Segment-compatible tracking API (``/v1/batch``, ``/v1/track`` …) and, under /api/v1, the
management of ingest sources and their write keys.

The tracking endpoints answer Segment's ``{"success": true}`` only after the raw request is committed
(with its expansion job): a 200 means the events are durable. Every refusal is answered before
anything is written — 401 for a missing or unknown write key, 403 for a disabled source, 400 naming
the limit, the field and the message index for a body that is too large or malformed."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from siyu.auth.dependencies import CurrentPrincipal, DbSession, request_language, require
from siyu.ingest import payload, repository, schemas, service
from siyu.ingest.keys import MISS, write_key_from_authorization
from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.kit.errors import SiyuError
from siyu.kit.pagination import Page, paginate
from siyu.models.event import Event, IngestBatch, IngestSource

# -- the tracking API (public: authenticated by write key) -----------------------------------------

tracking_router = APIRouter(tags=["ingest (Segment tracking API)"])
SUCCESS = {"success": True}


async def _read_body(request: Request) -> bytes:
    """The raw body, refused as soon as it grows past a batch's limit."""
    payload.check_declared_length(request.headers.get("content-length"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > payload.BATCH_LIMIT:
            raise payload.PayloadTooLarge("ingest.error.batch_too_large", field="body", limit=payload.BATCH_LIMIT)
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(database: Database, clock: Clock, endpoint: str, raw: bytes, authorization: str | None,
             content_encoding: str | None) -> int:
    """Authenticate, check and store one request (in a worker thread: parsing and the commit must not
    hold the event loop). Returns the stored batch's id."""
    write_key = write_key_from_authorization(authorization)
    body: bytes | None = None
    document = None
    if write_key is None:
        # Segment's SDK also puts the key in the body; RudderStack's only in the header.
        body = payload.decode_body(raw, content_encoding)
        document = payload.parse_document(body)
        write_key = payload.write_key_in_body(document)
        if write_key is None:
            raise service.InvalidWriteKey("ingest.error.missing_write_key")
    entry = service.remembered_source(write_key, clock)
    if entry is MISS:
        with database.session() as session:
            entry = service.look_up_source(session, write_key, clock)
    source = service.check_source(entry)
    if body is None or document is None:
        body = payload.decode_body(raw, content_encoding)
        document = payload.parse_document(body)
    accepted = payload.accept(endpoint, document, body)
    with database.session(immediate=True) as session:
        return service.accept_batch(session, source, accepted, clock)


def _refusal(request: Request, error: SiyuError) -> JSONResponse:
    """The API's error model, plus ``code`` and ``message`` at the top level: both SDKs read those
    two keys, and RudderStack's retries a refusal whose body lacks them as if the network failed."""
    body = error.to_dict(request_language(request))
    return JSONResponse({"success": False, "code": body["code"], "message": body["message"], "error": body},
                        status_code=error.status_code)


async def _ingest(request: Request, endpoint: str) -> JSONResponse:
    state = request.app.state
    try:
        raw = await _read_body(request)
        await run_in_threadpool(_receive, state.database, state.clock, endpoint, raw,
                                request.headers.get("authorization"), request.headers.get("content-encoding"))
    except SiyuError as error:
        return _refusal(request, error)
    return JSONResponse(SUCCESS)


@tracking_router.post("/v1/batch")
async def ingest_batch(request: Request) -> JSONResponse:
    """Segment ``batch``: ``{"batch": [messages…], "context", "integrations", "sentAt", "writeKey"}``."""
    return await _ingest(request, "batch")


@tracking_router.post("/v1/identify")
async def ingest_identify(request: Request) -> JSONResponse:
    """Segment ``identify``: ``userId``/``anonymousId`` and ``traits``."""
    return await _ingest(request, "identify")


@tracking_router.post("/v1/track")
async def ingest_track(request: Request) -> JSONResponse:
    """Segment ``track``: ``event`` (required) and ``properties``."""
    return await _ingest(request, "track")


@tracking_router.post("/v1/page")
async def ingest_page(request: Request) -> JSONResponse:
    """Segment ``page``: ``name``, ``category`` and ``properties``."""
    return await _ingest(request, "page")


@tracking_router.post("/v1/screen")
async def ingest_screen(request: Request) -> JSONResponse:
    """Segment ``screen``: ``name``, ``category`` and ``properties``."""
    return await _ingest(request, "screen")


@tracking_router.post("/v1/group")
async def ingest_group(request: Request) -> JSONResponse:
    """Segment ``group``: ``groupId`` (required) and ``traits``."""
    return await _ingest(request, "group")


@tracking_router.post("/v1/alias")
async def ingest_alias(request: Request) -> JSONResponse:
    """Segment ``alias``: ``previousId`` and ``userId`` (both required)."""
    return await _ingest(request, "alias")


# -- sources and write keys (/api/v1/ingest) -------------------------------------------------------

router = APIRouter(prefix="/ingest", tags=["ingest"], dependencies=[require("settings.write")])


def _with_key(source, write_key: str) -> schemas.SourceWithKey:
    return schemas.SourceWithKey(**schemas.Source.model_validate(source).model_dump(), write_key=write_key)


@router.get("/sources", response_model=Page[schemas.Source])
def list_sources(session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                 cursor: str | None = None):
    rows, next_cursor = paginate(session, repository.sources_query(principal), IngestSource.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[schemas.Source.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/sources", response_model=schemas.SourceWithKey, status_code=201)
def create_source(data: schemas.SourceCreate, session: DbSession, principal: CurrentPrincipal):
    """A new source; the response carries its write key, which is never shown again."""
    source, write_key = service.create_source(session, principal, data)
    return _with_key(source, write_key)


@router.get("/sources/{source_id}", response_model=schemas.Source)
def get_source(source_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.get_source(session, principal, source_id)


@router.patch("/sources/{source_id}", response_model=schemas.Source)
def update_source(source_id: int, data: schemas.SourceUpdate, session: DbSession, principal: CurrentPrincipal):
    """Rename, disable (``{"enabled": false}``: its key is refused within seconds) or enable a source."""
    return service.update_source(session, principal, source_id, data)


@router.post("/sources/{source_id}/rotate-key", response_model=schemas.SourceWithKey)
def rotate_key(source_id: int, session: DbSession, principal: CurrentPrincipal):
    """A new write key for the source (shown once); the old key stops working."""
    source, write_key = service.rotate_key(session, principal, source_id)
    return _with_key(source, write_key)


@router.get("/sources/{source_id}/events", response_model=Page[schemas.SourceEvent])
def list_events(source_id: int, session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                cursor: str | None = None):
    """The source's events, newest first."""
    service.get_source(session, principal, source_id)
    rows, next_cursor = paginate(session, repository.events_query(principal, source_id=source_id), Event.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[schemas.SourceEvent.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/sources/{source_id}/batches", response_model=Page[schemas.SourceBatch])
def list_batches(source_id: int, session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                 cursor: str | None = None):
    """The source's received requests (status received / processed / failed), newest first."""
    service.get_source(session, principal, source_id)
    rows, next_cursor = paginate(session, repository.batches_query(principal, source_id=source_id),
                                 IngestBatch.id, limit=limit, cursor=cursor)
    return Page(items=[schemas.SourceBatch.model_validate(row) for row in rows], next_cursor=next_cursor)
