"""REST: journeys — drafts, validation, versions, publish, pause/resume, enrolment, simulation, the
per-node counts and the enrolment explorer."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from siyu.auth.dependencies import AppClock, CurrentPrincipal, DbSession, request_language, require
from siyu.journey import repository, schemas, service, simulation, templates
from siyu.kit.errors import Conflict
from siyu.kit.pagination import Page, paginate
from siyu.models.journey import Journey as JourneyModel
from siyu.models.journey import JourneyEnrolment

router = APIRouter(tags=["journeys"])
READ = require("journeys.read")
WRITE = require("journeys.write")


def journey_out(session, journey: JourneyModel, language: str) -> schemas.Journey:
    problems = service.problems_of(session, journey.corp_id, journey.draft)
    return schemas.Journey.model_validate(journey).model_copy(update={
        "problems": [schemas.JourneyProblem(**p.to_dict(language)) for p in problems]})


@router.get("/journeys", response_model=Page[schemas.Journey], dependencies=[READ])
def list_journeys(request: Request, session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                  cursor: str | None = None):
    rows, next_cursor = paginate(session, repository.journeys_query(principal), JourneyModel.id, limit=limit,
                                 cursor=cursor)
    language = request_language(request)
    return Page(items=[journey_out(session, j, language) for j in rows], next_cursor=next_cursor)


@router.get("/journeys/templates", response_model=list[schemas.JourneyTemplate], dependencies=[READ])
def list_templates():
    return [schemas.JourneyTemplate(key=key, definition=templates.build(key)) for key in templates.TEMPLATES]


@router.post("/journeys/validate", response_model=list[schemas.JourneyProblem], dependencies=[READ])
def validate(body: schemas.ValidateRequest, request: Request, session: DbSession, principal: CurrentPrincipal):
    language = request_language(request)
    return [schemas.JourneyProblem(**p.to_dict(language))
            for p in service.problems_of(session, principal.corp_id, body.definition)]


@router.post("/journeys", response_model=schemas.Journey, status_code=201, dependencies=[WRITE])
def create_journey(body: schemas.JourneyCreate, request: Request, session: DbSession, principal: CurrentPrincipal,
                   clock: AppClock):
    definition = templates.build(body.template, body.params) if body.template else (body.definition or {})
    journey = service.create(session, principal, clock, name=body.name, definition=definition,
                             template=body.template)
    return journey_out(session, journey, request_language(request))


@router.get("/journeys/{journey_id}", response_model=schemas.Journey, dependencies=[READ])
def get_journey(journey_id: int, request: Request, session: DbSession, principal: CurrentPrincipal):
    return journey_out(session, service.get(session, principal, journey_id), request_language(request))


@router.get("/journeys/{journey_id}/versions", response_model=list[schemas.JourneyVersion], dependencies=[READ])
def list_versions(journey_id: int, session: DbSession, principal: CurrentPrincipal):
    return repository.versions(session, service.get(session, principal, journey_id))


@router.post("/journeys/{journey_id}/publish", response_model=schemas.JourneyVersion, status_code=201,
             dependencies=[WRITE])
def publish(journey_id: int, body: schemas.PublishRequest, session: DbSession, principal: CurrentPrincipal,
            clock: AppClock):
    return service.publish(session, principal, clock, journey_id, migrate=body.migrate)


@router.post("/journeys/{journey_id}/pause", response_model=schemas.Journey, dependencies=[WRITE])
def pause(journey_id: int, request: Request, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    journey = service.set_paused(session, principal, clock, journey_id, True)
    return journey_out(session, journey, request_language(request))


@router.post("/journeys/{journey_id}/resume", response_model=schemas.Journey, dependencies=[WRITE])
def resume(journey_id: int, request: Request, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    journey = service.set_paused(session, principal, clock, journey_id, False)
    return journey_out(session, journey, request_language(request))


@router.post("/journeys/{journey_id}/migrate", response_model=dict[str, int], dependencies=[WRITE])
def migrate(journey_id: int, body: schemas.MigrateRequest, session: DbSession, principal: CurrentPrincipal,
            clock: AppClock):
    return {"moved": service.migrate(session, principal, clock, journey_id, body.from_version)}


@router.post("/journeys/{journey_id}/enrolments", response_model=schemas.JourneyEnrolResult, dependencies=[WRITE])
def enrol(journey_id: int, body: schemas.EnrolRequest, session: DbSession, principal: CurrentPrincipal,
          clock: AppClock):
    customer_ids = body.customer_ids + ([body.customer_id] if body.customer_id is not None else [])
    field = "customer_id" if body.customer_id is not None and not body.customer_ids else "customer_ids"
    result = service.enrol(session, principal, clock, journey_id, customer_ids, context=body.context, field=field)
    return schemas.JourneyEnrolResult(enrolled=result.enrolled, skipped=result.skipped)


@router.post("/journeys/{journey_id}/simulate", response_model=dict, dependencies=[READ])
def simulate(journey_id: int, body: schemas.SimulateRequest, session: DbSession, principal: CurrentPrincipal,
             clock: AppClock):
    journey = service.get(session, principal, journey_id)
    definition = journey.draft
    if body.source == "live":
        if journey.live_version is None:
            raise Conflict("error.journey_not_published")
        definition = repository.version(session, journey, journey.live_version).definition
    return simulation.simulate(session, principal.corp_id, definition, start=clock.now(), days=body.days,
                               limit=body.limit, journey_id=journey.id).to_dict()


@router.get("/journeys/{journey_id}/stats", response_model=schemas.JourneyStats, dependencies=[READ])
def stats(journey_id: int, session: DbSession, principal: CurrentPrincipal):
    journey = service.get(session, principal, journey_id)
    return schemas.JourneyStats(totals=repository.enrolment_totals(session, journey.id),
                         nodes=[schemas.JourneyNodeCount(**vars(n)) for n in service.node_counts(session, journey)])


@router.get("/journeys/{journey_id}/enrolments", response_model=Page[schemas.JourneyEnrolment], dependencies=[READ])
def list_enrolments(journey_id: int, session: DbSession, principal: CurrentPrincipal, limit: int = Query(50),
                    cursor: str | None = None, customer_id: int | None = None, node: str | None = None,
                    status: str | None = None):
    journey = service.get(session, principal, journey_id)
    statement = repository.enrolments_query(journey, customer_id=customer_id, node=node, status=status)
    rows, next_cursor = paginate(session, statement, JourneyEnrolment.id, limit=limit, cursor=cursor)
    return Page(items=[schemas.JourneyEnrolment.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/journeys/{journey_id}/enrolments/{enrolment_id}", response_model=schemas.JourneyEnrolmentTrail,
            dependencies=[READ])
def explain_enrolment(journey_id: int, enrolment_id: int, session: DbSession, principal: CurrentPrincipal):
    trail = service.explain(session, principal, journey_id, enrolment_id)
    return schemas.JourneyEnrolmentTrail(enrolment=schemas.JourneyEnrolment.model_validate(trail.enrolment), version=trail.version,
                                  steps=[schemas.JourneyStep.model_validate(s) for s in trail.steps])


# The draft is changed after every other write (the tenancy sweep publishes and simulates it first).
@router.patch("/journeys/{journey_id}", response_model=schemas.Journey, dependencies=[WRITE])
def update_journey(journey_id: int, body: schemas.JourneyUpdate, request: Request, session: DbSession,
                   principal: CurrentPrincipal, clock: AppClock):
    journey = service.update(session, principal, clock, journey_id, name=body.name, definition=body.definition)
    return journey_out(session, journey, request_language(request))


# Deletions come last (the tenancy tests' write sweep deletes an object after every other write on it).
@router.delete("/journeys/{journey_id}", status_code=204, dependencies=[WRITE])
def archive_journey(journey_id: int, session: DbSession, principal: CurrentPrincipal, clock: AppClock):
    service.archive(session, principal, clock, journey_id)
    return Response(status_code=204)
