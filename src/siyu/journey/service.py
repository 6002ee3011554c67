"""Journeys for operators: drafts, validation, versions, publish, pause/resume, enrolment, version
migration, per-node counts and the enrolment explorer. Services only flush; the edge commits."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from siyu.journey import engine, repository, triggers
from siyu.journey.definition import DefinitionProblem, KnownIds, check_definition, validate_definition
from siyu.journey.webhook import SEALED_PREFIX
from siyu.kit.clock import Clock
from siyu.kit.errors import Conflict, InvalidInput, NotFound
from siyu.kit.security import encrypt_secret
from siyu.kit.tenancy import Principal
from siyu.models.journey import Journey, JourneyEnrolment, JourneyStep, JourneyVersion

MAX_ENROL = 10000


def seal_secrets(definition: Any) -> Any:
    """The definition with each webhook secret encrypted at rest (already sealed ones kept)."""
    if not isinstance(definition, dict) or not isinstance(definition.get("nodes"), list):
        return definition
    sealed = copy.deepcopy(definition)
    for node in sealed["nodes"]:
        secret = node.get("secret") if isinstance(node, dict) else None
        if node.get("type") == "webhook" and isinstance(secret, str) and secret and \
                not secret.startswith(SEALED_PREFIX):
            node["secret"] = SEALED_PREFIX + encrypt_secret(secret)
    return sealed


def known_ids(session: Session, corp_id: int) -> KnownIds:
    return KnownIds(tags=repository.live_tag_ids(session, corp_id))


def problems_of(session: Session, corp_id: int, definition: Any) -> list[DefinitionProblem]:
    return validate_definition(definition, known=known_ids(session, corp_id))


def get(session: Session, principal: Principal, journey_id: int, *, for_update: bool = False) -> Journey:
    journey = repository.get_journey(session, principal, journey_id, for_update=for_update)
    if journey is None:
        raise NotFound("error.journey_not_found")
    return journey


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("error.journey_name", field="name")
    return name


def create(session: Session, principal: Principal, clock: Clock, *, name: str, definition: dict[str, Any],
           template: str | None = None) -> Journey:
    """A new draft. Drafts may be incomplete; publishing checks them."""
    now = clock.now()
    journey = Journey(corp_id=principal.corp_id, name=_name(name), status="draft", draft=seal_secrets(definition),
                      template=template, created_at=now, updated_at=now)
    session.add(journey)
    session.flush()
    return journey


def update(session: Session, principal: Principal, clock: Clock, journey_id: int, *, name: str | None = None,
           definition: dict[str, Any] | None = None) -> Journey:
    journey = get(session, principal, journey_id)
    if journey.status == "archived":
        raise Conflict("error.journey_archived")
    if name is not None:
        journey.name = _name(name)
    if definition is not None:
        journey.draft = seal_secrets(definition)
    journey.updated_at = clock.now()
    session.flush()
    return journey


def publish(session: Session, principal: Principal, clock: Clock, journey_id: int, *,
            migrate: bool = False) -> JourneyVersion:
    """Freeze the draft as the next version and make it live. Running enrolments stay on their
    version unless ``migrate`` moves them (those at a node the new version keeps)."""
    journey = get(session, principal, journey_id, for_update=True)
    if journey.status == "archived":
        raise Conflict("error.journey_archived")
    definition = check_definition(journey.draft, known=known_ids(session, journey.corp_id))
    previous = repository.versions(session, journey)
    now = clock.now()
    version = JourneyVersion(corp_id=journey.corp_id, journey_id=journey.id,
                             version=(previous[0].version + 1) if previous else 1, definition=definition,
                             published_at=now, published_by=principal.user_id or None)
    session.add(version)
    session.flush()
    trigger_changed = not previous or previous[0].definition.get("trigger") != definition.get("trigger")
    journey.live_version = version.version
    if journey.status == "draft":
        journey.status = "live"
    journey.updated_at = now
    if trigger_changed:
        triggers.start_cursor(session, journey, engine.flow_of(session, version.id), now)
    if migrate:
        for old in previous:
            engine.migrate_enrolments(session, journey, old, version, now)
    session.flush()
    return version


def set_paused(session: Session, principal: Principal, clock: Clock, journey_id: int, paused: bool) -> Journey:
    """Pause (enrolments stay where they are, no one new enters) or resume. On resume the trigger
    starts reading from the present: what happened while paused does not flood in."""
    journey = get(session, principal, journey_id, for_update=True)
    if journey.live_version is None:
        raise Conflict("error.journey_not_published")
    if journey.status not in ("live", "paused"):
        raise Conflict("error.journey_archived")
    now = clock.now()
    if paused:
        journey.status = "paused"
    elif journey.status == "paused":
        journey.status = "live"
        live = repository.version(session, journey, journey.live_version)
        triggers.start_cursor(session, journey, engine.flow_of(session, live.id), now)
    journey.updated_at = now
    session.flush()
    return journey


def archive(session: Session, principal: Principal, clock: Clock, journey_id: int) -> None:
    """Archive a journey: it stops, and its running enrolments are exited."""
    journey = get(session, principal, journey_id, for_update=True)
    now = clock.now()
    journey.status = "archived"
    journey.updated_at = now
    session.query(JourneyEnrolment).filter(JourneyEnrolment.journey_id == journey.id,
                                           JourneyEnrolment.status == "active").update(
        {"status": "exited", "ended_at": now, "due_at": None, "exit_reason": "archived"}, synchronize_session=False)
    session.flush()


@dataclass(frozen=True)
class EnrolResult:
    enrolled: list[int]
    skipped: list[int]


def enrol(session: Session, principal: Principal, clock: Clock, journey_id: int, customer_ids: Sequence[int], *,
          source: str = "api", context: dict[str, Any] | None = None, field: str = "customer_ids") -> EnrolResult:
    """Manual or API enrolment of visible customers into a live journey (re-entry rules apply)."""
    journey = get(session, principal, journey_id)
    if journey.status != "live":
        raise Conflict("error.journey_not_live")
    if not customer_ids or len(customer_ids) > MAX_ENROL:
        raise InvalidInput("error.journey_enrol_count", field="customer_ids", maximum=MAX_ENROL)
    visible = repository.visible_customer_ids(session, principal, sorted(set(customer_ids)))
    if len(visible) != len(set(customer_ids)):
        missing = sorted(set(customer_ids) - set(visible))
        raise NotFound("error.journey_customer_not_found", field=field, customer_id=missing[0])
    live = repository.version(session, journey, journey.live_version)
    enrolled = engine.enrol(session, journey, live, [(c, dict(context or {}, trigger=source)) for c in visible],
                            source=source, now=clock.now())
    return EnrolResult(sorted(enrolled), sorted(set(visible) - set(enrolled)))


def migrate(session: Session, principal: Principal, clock: Clock, journey_id: int, from_version: int) -> int:
    """Move running enrolments of ``from_version`` onto the live version."""
    journey = get(session, principal, journey_id, for_update=True)
    source = repository.version(session, journey, from_version)
    if source is None or journey.live_version is None:
        raise NotFound("error.journey_version_not_found", field="from_version")
    target = repository.version(session, journey, journey.live_version)
    if source.id == target.id:
        return 0
    return engine.migrate_enrolments(session, journey, source, target, clock.now())


@dataclass(frozen=True)
class NodeCount:
    node: str
    type: str
    entered: int
    waiting: int
    passed: int
    converted: int
    outcomes: dict[str, int]


def node_counts(session: Session, journey: Journey) -> list[NodeCount]:
    """Per node of the live (else draft) definition: entered, waiting, passed, converted."""
    definition = journey.draft
    if journey.live_version is not None:
        definition = repository.version(session, journey, journey.live_version).definition
    counts = repository.node_counts(session, journey.id)
    out = []
    for node in (definition or {}).get("nodes", []) if isinstance(definition, dict) else []:
        if not isinstance(node, dict) or "id" not in node:
            continue
        entry = counts.get(node["id"], {})
        out.append(NodeCount(node["id"], node.get("type", "?"), entry.get("entered", 0), entry.get("waiting", 0),
                             entry.get("passed", 0), entry.get("converted", 0),
                             {k.split(".", 1)[1]: v for k, v in entry.items() if k.startswith("outcome.")}))
    return out


@dataclass(frozen=True)
class EnrolmentTrail:
    enrolment: JourneyEnrolment
    version: int
    steps: list[JourneyStep]


def explain(session: Session, principal: Principal, journey_id: int, enrolment_id: int) -> EnrolmentTrail:
    """Where an enrolment is and how it got there: its steps in order."""
    journey = get(session, principal, journey_id)
    found = repository.enrolment(session, journey, enrolment_id)
    if found is None or not repository.visible_customer_ids(session, principal, [found.customer_id]):
        raise NotFound("error.journey_enrolment_not_found")
    number = next(v.version for v in repository.versions(session, journey) if v.id == found.version_id)
    return EnrolmentTrail(found, number, repository.steps_of(session, found.id))
