"""Console: journeys — the list with a new-journey form (blank or from a template), and one
journey's page: the structured tree of its nodes with per-node counts and the problems on the node
they concern, the JSON editor of the draft, publish / pause / resume, a simulation with its chart and
the enrolment explorer (where is this customer, and why).

Every action goes through the same service calls as ``/api/v1/journeys``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.journey import repository, service, simulation, templates
from siyu.journey.definition import JourneyInvalid
from siyu.journey.tree import summary, tree_rows
from siyu.kit.errors import SiyuError
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.journey import Journey, JourneyEnrolment

router = APIRouter()


@router.get("/journeys")
def journeys_page(request: Request, session: DbSession, principal: Principal = console_page("journeys")):
    rows, _ = paginate(session, repository.journeys_query(principal), Journey.id, limit=100, cursor=None)
    totals = {journey.id: repository.enrolment_totals(session, journey.id) for journey in rows}
    return render(request, "journey/index.html", {"journeys": rows, "totals": totals,
                                                  "templates": list(templates.TEMPLATES),
                                                  "can_write": principal.can("journeys.write")})


@router.post("/journeys")
def create_journey(request: Request, session: DbSession, clock: AppClock, name: str = Form(""),
                   template: str = Form(""), principal: Principal = console_page("journeys", "journeys.write")):
    definition = templates.build(template) if template else {"trigger": {"type": "manual"}, "nodes": [
        {"id": "start", "type": "exit"}]}
    journey = service.create(session, principal, clock, name=name or template or "旅程", definition=definition,
                             template=template or None)
    return RedirectResponse(f"/journeys/{journey.id}", status_code=303)


def _journey_page(request: Request, session: Session, principal: Principal, journey: Journey, *,
                  draft_text: str | None = None, draft_error: str | None = None, report: dict | None = None,
                  action_error: str | None = None, status_code: int = 200):
    language = request_language(request)
    problems = service.problems_of(session, journey.corp_id, journey.draft)
    counts = {count.node: count for count in service.node_counts(session, journey)}
    customer = request.query_params.get("customer", "").strip()
    found: list[dict[str, Any]] = []
    if customer.isdigit():
        enrolments, _ = paginate(session, repository.enrolments_query(journey, customer_id=int(customer)),
                                 JourneyEnrolment.id, limit=10, cursor=None)
        for enrolment in enrolments:
            trail = service.explain(session, principal, journey.id, enrolment.id)
            found.append({"enrolment": enrolment, "version": trail.version, "steps": trail.steps})
    recent, _ = paginate(session, repository.enrolments_query(journey), JourneyEnrolment.id, limit=10, cursor=None)
    names = repository.customer_names(session, journey.corp_id, [e.customer_id for e in recent])
    context = {
        "journey": journey, "rows": tree_rows(journey.draft), "counts": counts, "summary": summary,
        "problems_by_node": _by_node(problems, language), "journey_problems": [
            p.message(language) for p in problems if p.node is None], "problem_count": len(problems),
        "draft_text": draft_text if draft_text is not None else json.dumps(journey.draft, ensure_ascii=False,
                                                                           indent=2),
        "draft_error": draft_error, "report": report, "action_error": action_error,
        "totals": repository.enrolment_totals(session, journey.id), "customer": customer, "found": found,
        "recent": recent, "names": names, "can_write": principal.can("journeys.write"),
        "versions": repository.versions(session, journey),
    }
    return render(request, "journey/detail.html", context, status_code=status_code)


def _by_node(problems, language: str) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for problem in problems:
        if problem.node is not None:
            grouped.setdefault(problem.node, []).append(problem.message(language))
    return grouped


@router.get("/journeys/{journey_id}")
def journey_page(journey_id: int, request: Request, session: DbSession,
                 principal: Principal = console_page("journeys")):
    return _journey_page(request, session, principal, service.get(session, principal, journey_id))


@router.post("/journeys/{journey_id}/draft")
def save_draft(journey_id: int, request: Request, session: DbSession, clock: AppClock, definition: str = Form(""),
               principal: Principal = console_page("journeys", "journeys.write")):
    try:
        parsed = json.loads(definition)
    except ValueError as exc:
        journey = service.get(session, principal, journey_id)
        message = SiyuError("error.journey_definition_json", reason=str(exc)).message(request_language(request))
        return _journey_page(request, session, principal, journey, draft_text=definition, draft_error=message,
                             status_code=422)
    service.update(session, principal, clock, journey_id, definition=parsed)
    return RedirectResponse(f"/journeys/{journey_id}", status_code=303)


@router.post("/journeys/{journey_id}/{action}")
def act(journey_id: int, action: str, request: Request, session: DbSession, clock: AppClock,
        days: int = Form(30), principal: Principal = console_page("journeys", "journeys.write")):
    """publish / pause / resume / simulate."""
    journey = service.get(session, principal, journey_id)
    try:
        if action == "publish":
            service.publish(session, principal, clock, journey_id)
        elif action in ("pause", "resume"):
            service.set_paused(session, principal, clock, journey_id, action == "pause")
        elif action == "simulate":
            report = simulation.simulate(session, principal.corp_id, journey.draft, start=clock.now(),
                                         days=max(1, min(days, 90)), journey_id=journey.id).to_dict()
            report["chart"] = {"days": list(report["messages"]), **{
                key: [day.get(key, 0) for day in report["messages"].values()]
                for key in ("sent", "blocked", "deferred")}}
            return _journey_page(request, session, principal, journey, report=report)
        else:
            return RedirectResponse(f"/journeys/{journey_id}", status_code=303)
    except JourneyInvalid as error:
        session.rollback()
        return _journey_page(request, session, principal, service.get(session, principal, journey_id),
                             action_error=error.message(request_language(request)), status_code=422)
    except SiyuError as error:
        session.rollback()
        return _journey_page(request, session, principal, service.get(session, principal, journey_id),
                             action_error=error.message(request_language(request)), status_code=error.status_code)
    return RedirectResponse(f"/journeys/{journey_id}", status_code=303)
