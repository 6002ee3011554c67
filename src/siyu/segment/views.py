"""Console: segments — the list with presets, the visual builder (nested groups, one form per
condition, live count, sample and per-condition counts while editing), a segment's page with its
membership trend (ECharts), members, export and "why is this customer (not) in it".

The builder posts the whole tree on every change (htmx) and gets it back rendered with the counts;
saving goes through the same service calls as ``/api/v1/segments``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.auth.dependencies import AppClock, DbSession, request_language
from siyu.console.rendering import render
from siyu.console.shell import console_page
from siyu.customer.trait_scores import LIFECYCLE_STAGES, RFM_CLASS_CODES
from siyu.kit.errors import InvalidInput, SiyuError
from siyu.kit.i18n import translate
from siyu.kit.pagination import paginate
from siyu.kit.tenancy import Principal
from siyu.models.customer import Customer, IdentityKind
from siyu.models.group import GroupChat
from siyu.models.org import Department, Staff
from siyu.models.tag import Tag
from siyu.segment import builder, evaluation, presets, repository, service, upload
from siyu.segment import language as lang
from siyu.segment.export import export_response
from siyu.segment.optional_models import membership_model, touch_model

router = APIRouter()
SAMPLE_SIZE = 10
TREND_DAYS = 30


def _choices(session: Session, principal: Principal, language: str) -> dict[str, list[tuple[str, str]]]:
    """The options of every select of the builder, from the corp's own objects."""
    corp = principal.corp_id
    t = lambda key: translate(key, language)  # noqa: E731
    choices: dict[str, list[tuple[str, str]]] = {
        "trait.name": [(name, t(f"segment.trait.{name}")) for name in lang.TRAIT_FIELDS],
        "trait.op": [(op, t(f"segment.op.{op}")) for op in sorted({op for ops in lang.OPS_BY_KIND.values()
                                                                     for op in ops}, key=_op_order)],
        "tag.mode": [(mode, t(f"segment.builder.tag_mode.{mode}")) for mode in ("any", "all", "none")],
        "tag.source": [(source, t(f"segment.builder.tag_source.{source}")) for source in ("customer", "relation")],
        "event.performed": [("true", t("segment.builder.performed")), ("false", t("segment.builder.not_performed"))],
        "event.count_op": [(op, op) for op in lang.COUNT_OPS],
        "order.metric": [(m, t(f"segment.builder.metric.{m}")) for m in lang.ORDER_METRICS],
        "order.op": [(op, op) for op in lang.COUNT_OPS],
        "rfm.classes": [(code, t(f"trait.rfm_class.{code}")) for code in RFM_CLASS_CODES],
        "lifecycle.stages": [(stage, t(f"trait.lifecycle_stage.{stage}")) for stage in LIFECYCLE_STAGES],
        "relation.status": [(s, t(f"segment.builder.status.{s}")) for s in lang.RELATION_STATUSES],
        "identity.kind": [(kind.value, kind.value) for kind in IdentityKind],
        "identity.present": [("true", t("segment.builder.present")), ("false", t("segment.builder.absent"))],
    }
    departments = [(str(d.id), d.name) for d in session.scalars(
        select(Department).where(Department.corp_id == corp).order_by(Department.path))]
    choices["order.store"] = [("", t("segment.builder.any_store"))] + departments
    choices["relation.department"] = [("", t("segment.builder.any_department"))] + departments
    choices["tag.tags"] = [(str(tag.id), tag.name) for tag in session.scalars(
        select(Tag).where(Tag.corp_id == corp, Tag.deleted_at.is_(None)).order_by(Tag.group_id, Tag.order, Tag.id))]
    choices["relation.staff"] = [(str(s.id), s.name) for s in session.scalars(
        select(Staff).where(Staff.corp_id == corp).order_by(Staff.id))]
    choices["group_chat.chats"] = [(str(g.id), g.name or g.chat_id) for g in session.scalars(
        select(GroupChat).where(GroupChat.corp_id == corp, GroupChat.dismissed_at.is_(None)).order_by(GroupChat.id))]
    choices["segment.id"] = [(str(s.id), s.name) for s in repository.corp_segments(session, corp)]
    touch = touch_model()
    choices["touch.channel"] = [(c.value, t(f"segment.builder.channel.{c.value}"))
                                for c in touch.channel.type.enum_class] if touch is not None else []
    if membership_model() is not None:
        from siyu.models.loyalty import MemberLevel

        choices["member_level.levels"] = [(str(level.id), level.name) for level in session.scalars(
            select(MemberLevel).where(MemberLevel.corp_id == corp).order_by(MemberLevel.rank))]
    return choices


def _op_order(op: str) -> int:
    order = ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "contains", "not_contains", "starts_with",
             "within", "not_within", "before", "after", "is_set", "is_not_set")
    return order.index(op) if op in order else len(order)


def _evaluate(session: Session, principal: Principal, clock, root: builder.Row, language: str) -> dict[str, Any]:
    """Definition, problems (by row), count, sample and per-row counts of the builder's tree."""
    definition = builder.to_definition(root)
    result: dict[str, Any] = {"definition": definition, "problems": {}, "count": None, "sample": [],
                              "counts": {}}
    try:
        preview = service.preview(session, principal.corp_id, definition, clock.now(), sample_size=SAMPLE_SIZE)
    except lang.DefinitionInvalid as invalid:
        messages = invalid.messages(language)
        result["problems"] = builder.attach(root, {m["path"]: m["message"] for m in messages})
        result["problem_list"] = messages
        return result
    result.update(count=preview.count, sample=preview.sample,
                  counts={row.id: preview.conditions.get(row.count_path) for row in root.walk()})
    return result


def _builder_context(request: Request, session: Session, principal: Principal, clock, root: builder.Row,
                     **extra: Any) -> dict[str, Any]:
    language = request_language(request)
    return {"root": root, "choices": _choices(session, principal, language), "inputs": builder.INPUTS,
            "group_types": builder.GROUP_TYPES, "condition_types": builder.CONDITION_TYPES,
            "evaluation": _evaluate(session, principal, clock, root, language), **extra}


@router.get("/segments")
def segments_page(request: Request, session: DbSession, principal: Principal = console_page("segments")):
    segments = list(session.scalars(repository.segments_query(principal).order_by(repository.Segment.id.desc())))
    return render(request, "segment/index.html", {
        "segments": segments, "presets": [(key, presets.preset_label_keys(key)) for key in presets.PRESET_KEYS],
        "can_write": principal.can("segments.write")})


@router.get("/segments/new")
def new_segment(request: Request, session: DbSession, clock: AppClock,
                principal: Principal = console_page("segments", "segments.write")):
    root = builder.renumber(builder.new_row("all"))
    return render(request, "segment/builder.html", _builder_context(request, session, principal, clock, root,
                                                                    segment=None, name="", error=None))


@router.post("/segments/builder")
async def builder_update(request: Request, session: DbSession, clock: AppClock,
                         principal: Principal = console_page("segments")):
    """htmx: the posted tree with the operator's action applied, rendered with its live counts."""
    form = await request.form()
    action = next((value for value in form.getlist("action") if value), "")
    root = builder.apply_action(builder.rows_from_form(form), str(action))
    context = await run_in_threadpool(_builder_context, request, session, principal, clock, root)
    return render(request, "segment/_builder.html", context)


@router.post("/segments/save")
async def save_segment(request: Request, session: DbSession, clock: AppClock,
                       principal: Principal = console_page("segments", "segments.write")):
    form = await request.form()
    return await run_in_threadpool(_save, request, session, clock, principal, form)


def _save(request: Request, session: Session, clock, principal: Principal, form) -> Any:
    root = builder.rows_from_form(form)
    name = str(form.get("name") or "").strip()
    segment_id = str(form.get("segment_id") or "")
    definition = builder.to_definition(root)
    try:
        if not name or len(name) > 100:
            raise InvalidInput("segment.console.name_required", field="name")
        if segment_id.isdigit():
            segment = service.update(session, principal, clock, int(segment_id), name=name, description=None,
                                     definition=definition)
        else:
            segment = service.create(session, principal, clock, name=name, description=None, kind="dynamic",
                                     definition=definition)
    except SiyuError as error:
        session.rollback()
        existing = service.get(session, principal, int(segment_id)) if segment_id.isdigit() else None
        message = None if isinstance(error, lang.DefinitionInvalid) else error.message(request_language(request))
        return render(request, "segment/builder.html", _builder_context(
            request, session, principal, clock, root, segment=existing, name=name, error=message), status_code=422)
    return RedirectResponse(f"/segments/{segment.id}", status_code=303)


@router.post("/segments/presets")
async def create_preset(request: Request, session: DbSession, clock: AppClock,
                        principal: Principal = console_page("segments", "segments.write")):
    form = await request.form()
    key = str(form.get("preset") or "")
    if key not in presets.PRESET_KEYS:
        raise InvalidInput("console.form.choice", field="preset")
    segment = await run_in_threadpool(service.create_from_preset, session, principal, clock, key, None,
                                      request_language(request))
    return RedirectResponse(f"/segments/{segment.id}", status_code=303)


@router.post("/segments/static")
def create_static(request: Request, session: DbSession, clock: AppClock, name: str = Form(""),
                  principal: Principal = console_page("segments", "segments.write")):
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("segment.console.name_required", field="name")
    segment = service.create(session, principal, clock, name=name, description=None, kind="static", definition=None)
    return RedirectResponse(f"/segments/{segment.id}", status_code=303)


@router.post("/segments/{segment_id}/upload")
def upload_list(request: Request, segment_id: int, session: DbSession, clock: AppClock,
                file: UploadFile | None = File(None), replace: str = Form(""),
                principal: Principal = console_page("segments", "segments.write")):
    """A list of phones or customer ids for a static segment; the page shows the row-by-row report."""
    segment = service.get(session, principal, segment_id)
    language = request_language(request)
    report, error = None, None
    try:
        if file is None or not file.filename:
            raise InvalidInput("error.segment_upload_empty", field="file")
        report = upload.import_list(session, segment, file.file.read(), clock.now(), replace=replace == "on",
                                    language=language)
    except SiyuError as failure:
        error = failure.message(language)
    return _detail(request, session, clock, principal, segment_id, None, report=report, upload_error=error,
                   status_code=422 if error else 200)


@router.get("/segments/{segment_id}")
def segment_page(request: Request, segment_id: int, session: DbSession, clock: AppClock,
                 principal: Principal = console_page("segments"), cursor: str | None = None):
    return _detail(request, session, clock, principal, segment_id, cursor)


def _detail(request: Request, session: Session, clock, principal: Principal, segment_id: int, cursor: str | None, *,
            report: Any = None, upload_error: str | None = None, status_code: int = 200):
    segment = service.get(session, principal, segment_id)
    members, next_cursor = paginate(session, repository.members_page_query(principal, segment.id), Customer.id,
                                    limit=20, cursor=cursor)
    days = repository.trend_days(clock.now(), TREND_DAYS)
    trend = {"days": [day.astimezone(request.state.shell.zone).strftime("%m-%d") for day in days],
             "members": repository.membership_trend(session, segment.id, days)}
    root = builder.rows_from_definition(segment.definition) if segment.definition else None
    context: dict[str, Any] = {"segment": segment, "members": members, "next_cursor": next_cursor, "trend": trend,
                               "entered": repository.entered_at(session, segment.id, [m.id for m in members]),
                               "can_write": principal.can("segments.write"), "report": report,
                               "upload_error": upload_error}
    if root is not None:
        context.update(_builder_context(request, session, principal, clock, root, name=segment.name))
    return render(request, "segment/detail.html", context, status_code=status_code)


@router.get("/segments/{segment_id}/why")
def why(request: Request, segment_id: int, session: DbSession, clock: AppClock, customer: str = "",
        principal: Principal = console_page("segments")):
    """htmx: whether one customer (by id or phone) is in the segment, and which conditions hold."""
    language = request_language(request)
    found = _find_customer(session, principal, customer.strip())
    context: dict[str, Any] = {"query": customer, "customer": found, "segment_id": segment_id}
    if found is None:
        context["error"] = translate("segment.console.customer_not_found", language)
    else:
        member, matches, explanation = service.check_customer(session, principal, segment_id, found.id, clock.now())
        segment = service.get(session, principal, segment_id)
        context.update(member=member, matches=matches, explanation=explanation,
                       labels=_labels(segment.definition, explanation, language))
    return render(request, "segment/_why.html", context)


def _find_customer(session: Session, principal: Principal, text: str) -> Customer | None:
    if not text:
        return None
    if text.isdigit() and len(text) < 11:
        return repository.visible_customer(session, principal, int(text))
    customer_id = session.scalar(select(Customer.id).where(Customer.corp_id == principal.corp_id,
                                                           Customer.phone == text,
                                                           Customer.merged_into_id.is_(None)))
    return repository.visible_customer(session, principal, customer_id) if customer_id else None


def _labels(definition: dict | None, explanation: evaluation.Explanation | None, language: str) -> dict[str, str]:
    """A short human description of each node of the definition, by path."""
    if not definition or explanation is None:
        return {}
    parsed = lang.parse_definition(definition)
    return {node.path: describe(node, language) for node in lang.walk(parsed.condition)}


def describe(node: lang.Node, language: str) -> str:
    kind = evaluation.node_kind(node)
    title = translate(f"segment.type.{kind}", language)
    if isinstance(node, lang.TraitCondition):
        value = node.value if node.value is not None else ""
        return f"{translate(f'segment.trait.{node.name}', language)} {translate(f'segment.op.{node.op}', language)} {value}"
    if isinstance(node, lang.EventCondition):
        return f"{title} {node.name} {node.count_op} {node.count}"
    if isinstance(node, lang.ChoiceCondition):
        prefix = {"rfm": "trait.rfm_class.", "lifecycle": "trait.lifecycle_stage."}.get(node.kind)
        values = [translate(prefix + value, language) if prefix else value for value in node.values]
        return f"{title}: {', '.join(values)}"
    return title


@router.get("/segments/{segment_id}/export.{kind}")
def export(request: Request, segment_id: int, kind: str, session: DbSession,
           principal: Principal = console_page("segments")):
    segment = service.get(session, principal, segment_id)
    if kind not in ("csv", "xlsx"):
        raise InvalidInput("console.form.choice", field="format")
    return export_response(session, principal, segment, kind, request_language(request))


@router.post("/segments/{segment_id}/refresh")
def refresh(request: Request, segment_id: int, session: DbSession, clock: AppClock,
            principal: Principal = console_page("segments", "segments.write")):
    service.refresh_now(session, principal, segment_id, clock.now())
    return RedirectResponse(f"/segments/{segment_id}", status_code=303)
