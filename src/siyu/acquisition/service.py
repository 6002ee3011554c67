"""Channel live codes (渠道活码): creating them in WeCom, routing customers among their staff, and what
happens when a customer arrives through one.

A code is a WeCom contact way. siyu writes the intent to WeCom through the outbox (provider
``wecom_acquisition``, delivered by ``integrations.wecom.acquisition_outbox``), so a request never
waits on WeCom and a lost call is retried. The deliverer reads the code's *current* row when it runs,
so rotation updates that overtake each other still leave WeCom with the latest list.

When WeCom reports an add (the ``add_external_contact`` callback, handled by
``customer.contacts.record_customer_added``), the hook ``customer_added`` below runs in that
handler's transaction: the add is recorded once per relation, counted for the member's day, the
channel tag and chosen tags are put on, the remark is written, the welcome message is sent through
the contact policy inside WeCom's 20 s window, and the code's rotation is recomputed (a member at
their cap drops out; see ``routing``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.acquisition import group_codes, repository, routing, welcome
from siyu.acquisition.routing import DEFAULT_DAILY_CAP
from siyu.customer.contacts import CustomerAdded
from siyu.kit.clock import Clock
from siyu.kit.errors import InvalidInput, NotFound
from siyu.kit.jobs import enqueue
from siyu.kit.outbox import add_outbox_message
from siyu.kit.tenancy import Principal
from siyu.models.acquisition import ChannelCode, ChannelCodeMember
from siyu.tag import manage as tag_manage

PROVIDER = "wecom_acquisition"
ROTATION_JOB = "acquisition.rotation_tick"
#: the rotation is re-checked this often (schedules open and close, days turn over)
ROTATION_TICK_MINUTES = 15
CHANNEL_TAG_GROUP = "渠道活码"
KINDS = ("channel", "package_card")
MAX_MEMBERS = 100
MAX_ATTACHMENTS = 9


@dataclass
class MemberDraft:
    staff_id: int
    weight: int = 1
    daily_cap: int | None = None
    backup: bool = False
    schedule: dict | None = None


@dataclass
class CodeDraft:
    name: str
    members: list[MemberDraft]
    routing: str = "round_robin"
    daily_cap: int = DEFAULT_DAILY_CAP
    skip_verify: bool = True
    remark_template: str = ""
    tag_ids: list[int] = field(default_factory=list)
    channel_tag_id: int | None = None
    welcome_text: str = ""
    welcome_attachments: list[dict] = field(default_factory=list)
    expires_at: datetime | None = None
    kind: str = "channel"
    platform: str | None = None
    shop: str | None = None
    card_cost: Decimal | None = None


def local_now(session: Session, corp_id: int, now: datetime) -> datetime:
    """``now`` on the corp's wall clock (caps are per local day, schedules in local time)."""
    return now.astimezone(ZoneInfo(repository.corp_timezone(session, corp_id)))


def _check(session: Session, principal: Principal, draft: CodeDraft, now: datetime) -> None:
    if not draft.name.strip() or len(draft.name) > 100:
        raise InvalidInput("acquisition.error.name_invalid", field="name")
    if draft.kind not in KINDS:
        raise InvalidInput("acquisition.error.kind_invalid", field="kind")
    if draft.kind == "package_card" and not (draft.platform or "").strip():
        raise InvalidInput("acquisition.error.platform_required", field="platform")
    if draft.routing not in routing.ROUTING_MODES:
        raise InvalidInput("acquisition.error.routing_invalid", field="routing")
    if draft.daily_cap < 1:
        raise InvalidInput("acquisition.error.cap_invalid", field="daily_cap")
    if not draft.members:
        raise InvalidInput("acquisition.error.members_required", field="members")
    if len(draft.members) > MAX_MEMBERS:
        raise InvalidInput("acquisition.error.too_many_members", field="members", limit=MAX_MEMBERS)
    if all(m.backup for m in draft.members):
        raise InvalidInput("acquisition.error.only_backups", field="members")
    staff = repository.active_staff(session, principal.corp_id, [m.staff_id for m in draft.members])
    for index, member in enumerate(draft.members):
        where = f"members[{index}]"
        if member.staff_id not in staff:
            raise InvalidInput("acquisition.error.staff_unknown", field=f"{where}.staff_id")
        if member.weight < 1:
            raise InvalidInput("acquisition.error.weight_invalid", field=f"{where}.weight")
        if member.daily_cap is not None and member.daily_cap < 1:
            raise InvalidInput("acquisition.error.cap_invalid", field=f"{where}.daily_cap")
        if not routing.valid_schedule(member.schedule):
            raise InvalidInput("acquisition.error.schedule_invalid", field=f"{where}.schedule")
    if len({m.staff_id for m in draft.members}) != len(draft.members):
        raise InvalidInput("acquisition.error.staff_twice", field="members")
    # the tags given to each new contact must be the corp's own
    known_tags = repository.corp_tag_ids(session, principal.corp_id,
                                         [tag for tag in [draft.channel_tag_id, *draft.tag_ids] if tag is not None])
    if draft.channel_tag_id is not None and draft.channel_tag_id not in known_tags:
        raise NotFound("error.tag_not_found", field="channel_tag_id")
    for index, tag_id in enumerate(draft.tag_ids):
        if tag_id not in known_tags:
            raise NotFound("error.tag_not_found", field=f"tag_ids[{index}]")
    if len(draft.remark_template) > 60:
        raise InvalidInput("acquisition.error.remark_too_long", field="remark_template")
    if len(draft.welcome_text.encode()) > 4000:
        raise InvalidInput("acquisition.error.welcome_too_long", field="welcome_text")
    if len(draft.welcome_attachments) > MAX_ATTACHMENTS:
        raise InvalidInput("acquisition.error.too_many_attachments", field="welcome_attachments")
    for index, attachment in enumerate(draft.welcome_attachments):
        kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
        if kind not in ("image", "link", "miniprogram", "video", "file") or not isinstance(attachment.get(kind), dict):
            raise InvalidInput("acquisition.error.attachment_invalid", field=f"welcome_attachments[{index}]")
    if draft.expires_at is not None and draft.expires_at <= now:
        raise InvalidInput("acquisition.error.expiry_past", field="expires_at")
    if draft.card_cost is not None and draft.card_cost < 0:
        raise InvalidInput("acquisition.error.card_cost_invalid", field="card_cost")


def _channel_tag(session: Session, principal: Principal, clock: Clock, name: str) -> int:
    """A channel tag named after the code, in the corp's 渠道活码 tag group."""
    group = repository.tag_group_named(session, principal.corp_id, CHANNEL_TAG_GROUP)
    if group is None:
        group = tag_manage.create_group(session, principal, clock, name=CHANNEL_TAG_GROUP)
    return tag_manage.create_tag(session, principal, clock, group.id, tag_manage.TagDraft(name=name,
                                                                                         kind="channel")).id


def _new_state(session: Session, corp_id: int) -> str:
    while True:
        state = f"cc{secrets.token_hex(8)}"
        if not repository.state_taken(session, corp_id, state):
            return state


def create_code(session: Session, principal: Principal, clock: Clock, draft: CodeDraft) -> ChannelCode:
    """A new code: stored at once, created in WeCom through the outbox."""
    now = clock.now()
    _check(session, principal, draft, now)
    code = ChannelCode(
        corp_id=principal.corp_id, name=draft.name.strip(), kind=draft.kind,
        state=_new_state(session, principal.corp_id),
        status="pending", routing=draft.routing, daily_cap=draft.daily_cap, skip_verify=draft.skip_verify,
        remark_template=draft.remark_template, tag_ids=list(dict.fromkeys(draft.tag_ids)),
        welcome_text=draft.welcome_text, welcome_attachments=list(draft.welcome_attachments),
        expires_at=draft.expires_at, platform=draft.platform, shop=draft.shop, card_cost=draft.card_cost,
        rotation=[], created_at=now, updated_at=now)
    code.channel_tag_id = draft.channel_tag_id or _channel_tag(session, principal, clock, code.name)
    session.add(code)
    session.flush()
    for member in draft.members:
        session.add(ChannelCodeMember(corp_id=code.corp_id, channel_code_id=code.id, staff_id=member.staff_id,
                                      weight=member.weight, daily_cap=member.daily_cap, backup=member.backup,
                                      schedule=member.schedule, created_at=now, updated_at=now))
    session.flush()
    code.rotation = current_rotation(session, code, now)
    add_outbox_message(session, provider=PROVIDER, operation="add_contact_way", payload={"code_id": code.id},
                       idempotency_key=f"channel_code:{code.id}:create", corp_id=code.corp_id, clock=clock)
    schedule_rotation_tick(session, now, clock)
    return code


def delete_code(session: Session, principal: Principal, clock: Clock, code_id: int) -> ChannelCode:
    """Stop the code: it is deleted in WeCom; its statistics stay."""
    code = get_code(session, principal, code_id)
    _retire(session, code, "deleted", clock)
    return code


def _retire(session: Session, code: ChannelCode, status: str, clock: Clock) -> None:
    code.status, code.updated_at = status, clock.now()
    session.flush()
    add_outbox_message(session, provider=PROVIDER, operation="del_contact_way", payload={"code_id": code.id},
                       idempotency_key=f"channel_code:{code.id}:delete", corp_id=code.corp_id, clock=clock)


def candidates(session: Session, code: ChannelCode, day: date) -> list[routing.Candidate]:
    adds = repository.adds_on(session, code.id, day)
    return [routing.Candidate(userid=staff.userid, weight=member.weight, cap=member.daily_cap or code.daily_cap,
                              adds_today=adds.get(staff.id, 0), backup=member.backup, schedule=member.schedule)
            for member, staff in repository.members_of(session, code.id) if staff.status == "active"]


def current_rotation(session: Session, code: ChannelCode, now: datetime) -> list[str]:
    local = local_now(session, code.corp_id, now)
    return routing.rotation(code.routing, candidates(session, code, local.date()), local,
                            seed=code.id * 100_003 + local.toordinal())


def refresh_rotation(session: Session, code: ChannelCode, clock: Clock) -> bool:
    """Recompute who is in the contact way; when it changed, write it and tell WeCom. Returns whether
    it changed."""
    now = clock.now()
    users = current_rotation(session, code, now)
    if code.rotation == users:
        return False
    code.rotation, code.updated_at = users, now
    session.flush()
    if code.config_id:
        add_outbox_message(session, provider=PROVIDER, operation="update_contact_way", payload={"code_id": code.id},
                           idempotency_key=f"channel_code:{code.id}:rotation:{now.isoformat()}:{'|'.join(users)}"[:200],
                           corp_id=code.corp_id, clock=clock)
    return True


def schedule_rotation_tick(session: Session, now: datetime, clock: Clock) -> None:
    """The periodic re-check of every live code, one job per quarter of an hour."""
    slot = int(now.timestamp()) // (ROTATION_TICK_MINUTES * 60) + 1
    due = datetime.fromtimestamp(slot * ROTATION_TICK_MINUTES * 60, now.tzinfo)
    enqueue(session, ROTATION_JOB, {}, due_at=due, key=f"{ROTATION_JOB}:{slot}", clock=clock)


def rotation_tick(session: Session, clock: Clock) -> dict[str, int]:
    """Expire temporary codes whose time is up, rewrite rotations that changed, schedule the next tick."""
    now = clock.now()
    expired = repository.expired_codes(session, now)
    for code in expired:
        _retire(session, code, "expired", clock)
    changed = sum(refresh_rotation(session, code, clock) for code in repository.live_codes(session))
    refreshed = group_codes.refresh_all(session, clock)
    if repository.live_codes(session) or refreshed:
        schedule_rotation_tick(session, now, clock)
    return {"expired": len(expired), "rotations_changed": changed, "group_codes_refreshed": refreshed}


def _remark(code: ChannelCode, added_at: datetime) -> str:
    # WeCom keeps at most 20 characters of a remark.
    return code.remark_template.replace("{code}", code.name).replace("{date}", added_at.strftime("%m%d"))[:20]


def customer_added(session: Session, added: CustomerAdded, *, clock: Clock) -> int | None:
    """The ``customer.contacts.on_customer_added`` hook. Returns the id of the recorded add, None when
    the state is not a code's or the add was recorded before (then only a welcome code is used)."""
    if not added.state:
        return None
    code = repository.code_by_state(session, added.corp_id, added.state)
    if code is None or code.status == "deleted":
        return None
    add_id = repository.insert_add(session, dict(
        corp_id=added.corp_id, channel_code_id=code.id, customer_id=added.customer_id, staff_id=added.staff_id,
        relation_id=added.relation_id, added_at=added.added_at, welcome="none"))
    if add_id is None:
        return None
    local = local_now(session, code.corp_id, added.added_at)
    repository.count_add(session, code.corp_id, code.id, added.staff_id, local.date())
    tags = [tag for tag in [code.channel_tag_id, *code.tag_ids] if tag]
    tag_manage.apply_channel_tags(session, code.corp_id, added.customer_id, tags, staff_id=added.staff_id,
                                  clock=clock)
    if code.remark_template:
        add_outbox_message(session, provider=PROVIDER, operation="remark",
                           payload={"userid": added.userid, "external_userid": added.external_userid,
                                    "remark": _remark(code, local)},
                           idempotency_key=f"channel_code_add:{add_id}:remark", corp_id=code.corp_id, clock=clock)
    if code.welcome_text or code.welcome_attachments:
        outcome = welcome.send(session, code, added, add_id=add_id, clock=clock)
        repository.set_welcome(session, add_id, outcome)
    refresh_rotation(session, code, clock)
    return add_id


def code_for_delivery(session: Session, corp_id: int, code_id: int) -> ChannelCode:
    """The code an outbox message is about, locked for the delivery (rotation writes wait)."""
    code = repository.code_of_corp(session, corp_id, code_id, for_update=True)
    if code is None:
        raise LookupError(f"channel code {code_id} no longer exists")
    return code


def record_created(session: Session, code: ChannelCode, config_id: str, qr_code: str | None, now: datetime) -> None:
    """WeCom created the contact way."""
    code.config_id, code.qr_code, code.updated_at = config_id, qr_code or None, now
    if code.status == "pending":
        code.status = "active"
    session.flush()


def member_rows(session: Session, code: ChannelCode, now: datetime) -> list[dict]:
    """The code's members with today's adds (for the API and the console)."""
    adds = repository.adds_on(session, code.id, local_now(session, code.corp_id, now).date())
    return [dict(staff_id=staff.id, userid=staff.userid, name=staff.name, weight=member.weight,
                 daily_cap=member.daily_cap or code.daily_cap, backup=member.backup, schedule=member.schedule,
                 adds_today=adds.get(staff.id, 0))
            for member, staff in repository.members_of(session, code.id)]


def get_code(session: Session, principal: Principal, code_id: int) -> ChannelCode:
    code = repository.get_code(session, principal, code_id)
    if code is None:
        raise NotFound("acquisition.error.code_not_found")
    return code


def draft_from(values: dict) -> CodeDraft:
    """A ``CodeDraft`` from validated API/console input."""
    members = [MemberDraft(**member) for member in values.pop("members")]
    return CodeDraft(members=members, **values)
