"""REST: segments — CRUD, preview, count, members, check one customer, presets, snapshots, uploads."""

from __future__ import annotations

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, request_language, require
from siyu.kit.errors import InvalidInput
from siyu.kit.pagination import Page, paginate
from siyu.models.customer import Customer
from siyu.segment import evaluation, presets, repository, schemas, service, upload
from siyu.segment.export import export_response

router = APIRouter(tags=["segments"])


def _customer(customer) -> schemas.SegmentCustomer:
    return schemas.SegmentCustomer(customer_id=customer.id, name=customer.name, city=customer.city)


@router.get("/segments", response_model=list[schemas.Segment], dependencies=[require("customers.read")])
def list_segments(session: DbSession, principal: CurrentPrincipal):
    return list(session.scalars(repository.segments_query(principal).order_by(repository.Segment.id)))


@router.post("/segments", response_model=schemas.Segment, status_code=201, dependencies=[require("segments.write")])
def create_segment(body: schemas.SegmentCreate, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    return service.create(session, principal, clock, name=body.name, description=body.description,
                          kind=body.kind, definition=body.definition)


@router.post("/segments/preview", response_model=schemas.SegmentPreview, dependencies=[require("customers.read")])
def preview_segment(body: schemas.Preview, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    result = service.preview(session, principal.corp_id, body.definition, clock.now(), sample_size=body.sample_size)
    return schemas.SegmentPreview(count=result.count, sample=[_customer(c) for c in result.sample],
                                  conditions=result.conditions)


@router.get("/segment-presets", response_model=list[schemas.PresetOut], dependencies=[require("customers.read")])
def list_presets(request: Request, session: DbSession, principal: CurrentPrincipal):
    from siyu.kit.i18n import translate

    language = request_language(request)
    out = []
    for key in presets.PRESET_KEYS:
        name_key, about_key = presets.preset_label_keys(key)
        out.append(schemas.PresetOut(key=key, name=translate(name_key, language),
                                     description=translate(about_key, language),
                                     definition=presets.preset_definition(session, principal.corp_id, key)))
    return out


@router.post("/segment-presets", response_model=schemas.Segment, status_code=201,
             dependencies=[require("segments.write")])
def create_from_preset(request: Request, body: schemas.SegmentFromPreset, session: DbSession,
                       principal: CurrentPrincipal, clock: AppClock):
    return service.create_from_preset(session, principal, clock, body.preset, body.name, request_language(request))


@router.get("/segments/{segment_id}", response_model=schemas.Segment, dependencies=[require("customers.read")])
def get_segment(segment_id: int, session: DbSession, principal: CurrentPrincipal):
    return service.get(session, principal, segment_id)


@router.patch("/segments/{segment_id}", response_model=schemas.Segment, dependencies=[require("segments.write")])
def update_segment(segment_id: int, body: schemas.SegmentUpdate, session: DbSession, principal: CurrentPrincipal,
                   clock: AppClock):
    return service.update(session, principal, clock, segment_id, name=body.name, description=body.description,
                          definition=body.definition)


@router.get("/segments/{segment_id}/count", response_model=schemas.SegmentCount,
            dependencies=[require("customers.read")])
def count_segment(segment_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                  live: bool = False):
    """Members now: the maintained count, or with ``live`` the definition evaluated at this moment."""
    segment = service.get(session, principal, segment_id)
    if live and segment.kind == "dynamic" and segment.definition:
        return schemas.SegmentCount(count=evaluation.count(session, principal.corp_id, segment.definition,
                                                           now=clock.now()))
    return schemas.SegmentCount(count=segment.member_count)


@router.get("/segments/{segment_id}/members", response_model=Page[schemas.SegmentMember],
            dependencies=[require("customers.read")])
def segment_members(segment_id: int, session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                    cursor: str | None = None):
    service.get(session, principal, segment_id)
    rows, next_cursor = paginate(session, repository.members_page_query(principal, segment_id), Customer.id,
                                 limit=limit, cursor=cursor)
    entered = repository.entered_at(session, segment_id, [row.id for row in rows])
    return Page(items=[schemas.SegmentMember(customer_id=row.id, name=row.name, city=row.city,
                                             entered_at=entered.get(row.id)) for row in rows],
                next_cursor=next_cursor)


@router.get("/segments/{segment_id}/customers/{customer_id}", response_model=schemas.SegmentCheck,
            dependencies=[require("customers.read")])
def check_customer(segment_id: int, customer_id: int, session: DbSession, principal: CurrentPrincipal,
                   clock: AppClock):
    member, matches, explanation = service.check_customer(session, principal, segment_id, customer_id, clock.now())
    return schemas.SegmentCheck(customer_id=customer_id, member=member, matches=matches,
                                explanation=explanation.to_dict() if explanation else None)


@router.get("/segments/{segment_id}/export", dependencies=[require("customers.read")],
            responses={200: {"content": {"text/csv": {}}}})
def export_segment(request: Request, segment_id: int, session: DbSession, principal: CurrentPrincipal,
                   format: str = Query("csv", pattern="^(csv|xlsx)$")):
    segment = service.get(session, principal, segment_id)
    return export_response(session, principal, segment, format, request_language(request))


@router.post("/segments/{segment_id}/refresh", response_model=schemas.RefreshOutcome,
             dependencies=[require("segments.write")])
def refresh_segment(segment_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    result = service.refresh_now(session, principal, segment_id, clock.now())
    return schemas.RefreshOutcome(full=result.full, entered=result.entered, exited=result.exited,
                                  member_count=result.member_count)


@router.post("/segments/{segment_id}/snapshot", response_model=schemas.Segment, status_code=201,
             dependencies=[require("segments.write")])
def snapshot_segment(segment_id: int, body: schemas.SnapshotCreate, session: DbSession,
                     principal: CurrentPrincipal, clock: AppClock):
    return service.snapshot(session, principal, clock, segment_id, body.name)


@router.post("/segments/{segment_id}/upload", response_model=schemas.UploadReport,
             dependencies=[require("segments.write")])
def upload_members(request: Request, segment_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock,
                   file: UploadFile | None = File(None), replace: bool = False):
    # the segment is looked up before the file is read: another corp's id is a 404 either way
    segment = service.get(session, principal, segment_id)
    if file is None:
        raise InvalidInput("error.segment_upload_empty", field="file")
    content = file.file.read()
    report = upload.import_list(session, segment, content, clock.now(), replace=replace,
                                language=request_language(request))
    return schemas.UploadReport(total_rows=report.total_rows, added=report.added, already=report.already,
                                rejected=report.rejected,
                                rows=[schemas.UploadRow(**vars(row)) for row in report.rows])


# Deletions come last (see tag/endpoints.py: the tenancy tests' write sweep deletes last).
@router.delete("/segments/{segment_id}", status_code=204, dependencies=[require("segments.write")])
def delete_segment(segment_id: int, session: DbSession, principal: CurrentPrincipal):
    service.delete_segment(session, principal, segment_id)
    return Response(status_code=204)
