"""Action nodes: sending (through the contact policy), tags, coupons, group invites, staff tasks,
webhooks and trait updates. ``decide_*`` read; the appliers write, set-wise, for enrolments whose
step was just logged. Every outbound effect carries the key ``journey:<enrolment>:<node>``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from siyu.journey import bulk, ports
from siyu.kit.db import dialect_insert
from siyu.kit.outbox import add_outbox_message
from siyu.models.customer import Customer
from siyu.models.tag import CustomerTag, Tag, TagGroup, TagHistory
from siyu.models.trait import CustomerTrait
from siyu.tag import wecom_sync

if TYPE_CHECKING:
    from siyu.journey.nodes import Env, Outcome, Visit

JOURNEY_SOURCE = "journey"
WEBHOOK_PROVIDER = "journey_webhook"
#: capability probes of the nodes whose effect lives in another domain
CAPABILITIES = {
    "issue_coupon": ("siyu.loyalty.coupons", "issue_coupon"),
    "invite_group": ("siyu.acquisition", "invite_to_group"),
    "staff_task": ("siyu.staff_task.service", "create_tasks"),
}


def effect_key(visit: Visit, node: dict[str, Any]) -> str:
    """The idempotency key of a node's effect for one enrolment."""
    return f"journey:{visit.id}:{node['id']}"


def _outcome(*args: Any, **kwargs: Any) -> Outcome:
    from siyu.journey.nodes import Outcome

    return Outcome(*args, **kwargs)


def _unavailable(visits: list[Visit], capability: str) -> dict[int, Outcome]:
    failed = _outcome("failed", None, detail={"unavailable": capability}, end="exited")
    return {visit.id: failed for visit in visits}


def _touches(env: Env, node: dict[str, Any], visits: list[Visit]) -> list[dict[str, Any]]:
    serving = ports.serving_staff(env.session, env.corp_id, [v.customer_id for v in visits])
    return [{"customer_id": v.customer_id, "enrolment_id": v.id, "key": effect_key(v, node),
             "staff_id": serving.get(v.customer_id, (None,))[0], "serving": serving.get(v.customer_id)}
            for v in visits]


def decide_send(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    """The contact policy's verdict per customer: sent (and on), blocked (and on), or deferred (the
    enrolment waits at the node until the gate's time). A customer no staff member serves is blocked
    (``no_relation``) — there is nobody to send through."""
    priority = node.get("priority", "marketing")
    touches = _touches(env, node, visits)
    try:
        # A simulation admits for real inside its savepoint (rolled back at the end), so the gate
        # counts the simulation's own earlier touches against the caps.
        gate = ports.gate_admit if env.simulate else ports.gate_decide
        asked = [dict(t, key=f"{t['key']}:{env.now.isoformat()}") if env.simulate else t
                 for t in touches if t["serving"] is not None]
        verdicts = gate(env.session, env.corp_id, asked, priority=priority, now=env.now)
    except ports.Unavailable as missing:
        return _unavailable(visits, missing.capability)
    outcomes = {}
    for visit, touch in zip(visits, touches, strict=True):
        verdict = verdicts.get(visit.customer_id)
        if touch["serving"] is None or verdict is None or verdict.verdict == "blocked":
            reason = "no_relation" if touch["serving"] is None else (verdict.reason if verdict else "no_verdict")
            outcomes[visit.id] = _outcome("blocked", node.get("next"), detail={"reason": reason})
        elif verdict.verdict == "deferred":
            until = verdict.until if verdict.until and verdict.until > env.now else env.now + timedelta(hours=1)
            outcomes[visit.id] = _outcome("deferred", defer_until=until, detail={"reason": verdict.reason})
        else:
            outcomes[visit.id] = _outcome("sent", node.get("next"), detail={"via": node.get("via", "staff")})
    return outcomes


def _apply_send(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    from siyu.journey.personalise import texts_for

    touches = _touches(env, node, visits)
    admitted = ports.gate_admit(env.session, env.corp_id, touches, priority=node.get("priority", "marketing"),
                                now=env.now)
    allowed = [t for t in touches if admitted.get(t["customer_id"]) and
               admitted[t["customer_id"]].verdict == "allowed"]
    texts = texts_for(env, node["text"], [t["customer_id"] for t in allowed])
    if node.get("via", "staff") == "staff_task":
        ports.create_staff_tasks(env.session, env.corp_id, [
            {"staff_id": t["staff_id"], "customer_id": t["customer_id"], "kind": "send_message",
             "title": node.get("task_title") or node["text"][:60], "content": texts[t["customer_id"]],
             "due_at": env.now + timedelta(days=1), "key": t["key"]} for t in allowed], env.now)
    else:
        ports.send_one_to_one(env.session, env.corp_id, [
            {"customer_id": t["customer_id"], "text": texts[t["customer_id"]], "key": t["key"],
             "userid": t["serving"][1], "external_userid": t["serving"][2],
             "touch_id": admitted[t["customer_id"]].touch_id} for t in allowed], env.clock)


def _live_tag(env: Env, tag_id: int) -> tuple[Tag, TagGroup] | None:
    row = env.session.execute(
        select(Tag, TagGroup).join(TagGroup, TagGroup.id == Tag.group_id)
        .where(Tag.id == tag_id, Tag.corp_id == env.corp_id, Tag.deleted_at.is_(None))).first()
    return (row[0], row[1]) if row else None


def decide_tag(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    if _live_tag(env, node["tag_id"]) is None:
        failed = _outcome("failed", node.get("next"), detail={"reason": "tag_not_found"})
        return {visit.id: failed for visit in visits}
    passed = _outcome("passed", node.get("next"))
    return {visit.id: passed for visit in visits}


def _apply_tag(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    tag, group = _live_tag(env, node["tag_id"])
    customer_ids = [visit.customer_id for visit in visits]
    table = CustomerTag.__table__
    if node["type"] == "add_tag":
        changed = bulk.insert_rows(env.session, table, [
            dict(corp_id=env.corp_id, customer_id=c, tag_id=tag.id, source=JOURNEY_SOURCE, tagged_at=env.now)
            for c in customer_ids], conflict=["customer_id", "tag_id"], returning="customer_id")
    else:
        changed = list(env.session.execute(
            delete(table).where(table.c.tag_id == tag.id, bulk.ids_match(env.session, table.c.customer_id, customer_ids))
            .returning(table.c.customer_id)).scalars())
    if not changed:
        return
    action = "add" if node["type"] == "add_tag" else "remove"
    rows = [dict(corp_id=env.corp_id, customer_id=c, tag_id=tag.id, action=action, source=JOURNEY_SOURCE,
                 at=env.now) for c in changed]
    if not wecom_sync.is_synced(group):
        bulk.insert_rows(env.session, TagHistory.__table__, rows)
        return
    history = list(env.session.execute(
        insert(TagHistory.__table__).returning(TagHistory.__table__.c.id, TagHistory.__table__.c.customer_id), rows))
    if wecom_sync.is_synced(group):
        for event_id, customer_id in history:
            wecom_sync.customer_tags_changed(env.session, env.corp_id, customer_id,
                                             add=[tag.id] if action == "add" else [],
                                             remove=[tag.id] if action == "remove" else [],
                                             event_id=event_id, clock=env.clock)


def decide_capability(env: Env, node: dict[str, Any], visits: list[Visit]) -> dict[int, Outcome]:
    module, name = CAPABILITIES[node["type"]]
    try:
        ports._function(module, name)
    except ports.Unavailable as missing:
        return _unavailable(visits, missing.capability)
    passed = _outcome("passed", node.get("next"))
    return {visit.id: passed for visit in visits}


def _apply_coupon(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    ports.issue_coupons(env.session, env.corp_id, node["coupon_template_id"],
                        [(v.customer_id, effect_key(v, node)) for v in visits], env.now)


def _apply_invite(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    ports.invite_to_group(env.session, env.corp_id, node["group_code_id"],
                          [(v.customer_id, effect_key(v, node)) for v in visits], env.now)


def _apply_task(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    due = env.now + timedelta(days=node.get("due_days", 1))
    serving = ports.serving_staff(env.session, env.corp_id, [v.customer_id for v in visits])
    ports.create_staff_tasks(env.session, env.corp_id, [
        {"staff_id": serving[v.customer_id][0], "customer_id": v.customer_id, "kind": "follow_up",
         "title": node["title"], "content": node.get("description"), "due_at": due, "key": effect_key(v, node)}
        for v in visits if v.customer_id in serving], env.now)


def _apply_webhook(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    for visit in visits:
        add_outbox_message(
            env.session, provider=WEBHOOK_PROVIDER, operation="post", corp_id=env.corp_id,
            idempotency_key=effect_key(visit, node), clock=env.clock,
            payload={"version_id": env.version_id, "node": node["id"],
                     "body": {"journey_id": env.journey_id, "enrolment_id": visit.id, "node": node["id"],
                              "customer_id": visit.customer_id, "context": visit.context,
                              "at": env.now.isoformat(), **(node.get("body") or {})}})


def _apply_trait(env: Env, node: dict[str, Any], visits: list[Visit], outcomes: dict[int, Outcome]) -> None:
    customer_ids = [visit.customer_id for visit in visits]
    if node["trait"] == "city":
        env.session.execute(update(Customer).where(Customer.corp_id == env.corp_id, Customer.id.in_(customer_ids))
                            .values(city=node["value"]).execution_options(synchronize_session=False))
        return
    statement = dialect_insert(env.session, CustomerTrait.__table__)
    env.session.execute(
        statement.on_conflict_do_update(index_elements=["customer_id"],
                                        set_={"favourite_category": statement.excluded.favourite_category,
                                              "updated_at": statement.excluded.updated_at}),
        [dict(customer_id=c, corp_id=env.corp_id, favourite_category=node["value"], updated_at=env.now,
              order_count=0, total_spend=0, average_spend=0, refund_total=0, channels=[]) for c in customer_ids])


Applier = Callable[["Env", dict[str, Any], list["Visit"], dict[int, "Outcome"]], None]
APPLIERS: dict[str, Applier] = {
    "send_message": _apply_send, "add_tag": _apply_tag, "remove_tag": _apply_tag, "issue_coupon": _apply_coupon,
    "invite_group": _apply_invite, "staff_task": _apply_task, "webhook": _apply_webhook,
    "update_trait": _apply_trait,
}
