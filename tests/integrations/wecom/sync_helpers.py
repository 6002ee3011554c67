"""What the emulator holds and what siyu synced, in the same comparable shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.integrations.wecom.client import WeComClientFactory
from siyu.integrations.wecom.ratelimit import RateLimiter, RetryPolicy
from siyu.integrations.wecom.sync import WeComSync
from siyu.integrations.wecom.sync_runner import SyncTuning
from siyu.models import (
    Customer,
    Department,
    GroupChat,
    GroupChatMember,
    Identity,
    Relation,
    RelationStatus,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
    WeComSyncRun,
)

SMALL_PAGES = SyncTuning(page_limit=20, rows_per_commit=20, chats_per_commit=2)
TABLES = (Department, Staff, Customer, Identity, Relation, RelationTag, TagGroup, Tag, GroupChat,
          GroupChatMember)


def make_sync(database, clock, settings, **options) -> WeComSync:
    def sessions():
        return database.session(immediate=True)

    clients = WeComClientFactory(sessions, clock, settings=settings, rate_limiter=RateLimiter(),
                                 retry=RetryPolicy(attempts=1))
    return WeComSync(sessions, clients, clock, tuning=options.pop("tuning", SMALL_PAGES), **options)


def _time(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def expected(world) -> dict[str, object]:
    """The emulator corp's data in the shapes ``synced`` returns."""
    live_tags = {t.id: t for t in world.tags.values() if not t.deleted}
    return {
        "departments": {d.id: d.name for d in world.departments.values()},
        "staff": {m.userid: (m.name, m.mobile or None, m.main_department)
                  for m in world.members.values() if m.status != 5},
        "customers": {c.external_userid: (c.name, {1: "male", 2: "female"}.get(c.gender), c.unionid or None)
                      for c in world.customers.values() if c.follows},
        "relations": {(c.external_userid, f.userid): (f.remark or None, f.add_way, f.state or None,
                                                       _time(f.createtime))
                      for c in world.customers.values() for f in c.follows.values()},
        "relation_tags": {(c.external_userid, f.userid, t) for c in world.customers.values()
                          for f in c.follows.values() for t in f.tag_ids if t in live_tags},
        "tags": {(world.tag_groups[t.group_id].group_name, t.name) for t in live_tags.values()},
        "groups": {chat.chat_id: (chat.name, chat.owner, len(chat.members))
                   for chat in world.groups.values() if not chat.dismissed},
        "members": {(chat.chat_id, m.userid, m.type) for chat in world.groups.values() if not chat.dismissed
                    for m in chat.members.values()},
    }


def synced(database, corp_id: int) -> dict[str, object]:
    """siyu's copy: active relations, live tags, active chats and present members only."""
    with database.session() as session:
        departments = {row.wecom_id: row.name for row in session.execute(
            select(Department.wecom_id, Department.name).where(Department.corp_id == corp_id))}
        staff = {row.userid: (row.name, row.mobile, row.wecom_id) for row in session.execute(
            select(Staff.userid, Staff.name, Staff.mobile, Department.wecom_id)
            .join(Department, Department.id == Staff.department_id, isouter=True)
            .where(Staff.corp_id == corp_id, Staff.status == "active"))}
        external = select(Identity.value, Identity.customer_id).where(
            Identity.corp_id == corp_id, Identity.kind == "wecom_external_userid").subquery()
        unionid = select(Identity.value, Identity.customer_id).where(
            Identity.corp_id == corp_id, Identity.kind == "unionid").subquery()
        customers = {row.value: (row.name, row.gender, row.unionid) for row in session.execute(
            select(external.c.value, Customer.name, Customer.gender, unionid.c.value.label("unionid"))
            .join(Customer, Customer.id == external.c.customer_id)
            .join(unionid, unionid.c.customer_id == Customer.id, isouter=True)
            .where(Customer.id.in_(select(Relation.customer_id)
                                   .where(Relation.status == RelationStatus.active))))}
        relations = {(row.external_userid, row.userid): (row.remark, row.add_way, row.state, row.added_at)
                     for row in session.execute(
            select(Relation.external_userid, Staff.userid, Relation.remark, Relation.add_way, Relation.state,
                   Relation.added_at).join(Staff, Staff.id == Relation.staff_id)
            .where(Relation.corp_id == corp_id, Relation.status == RelationStatus.active))}
        relation_tags = {tuple(row) for row in session.execute(
            select(Relation.external_userid, Staff.userid, Tag.wecom_tag_id).select_from(RelationTag)
            .join(Relation, Relation.id == RelationTag.relation_id).join(Staff, Staff.id == Relation.staff_id)
            .join(Tag, Tag.id == RelationTag.tag_id)
            .where(RelationTag.corp_id == corp_id, Relation.status == RelationStatus.active,
                   Tag.deleted_at.is_(None)))}
        tags = {tuple(row) for row in session.execute(
            select(TagGroup.name, Tag.name).join(TagGroup, TagGroup.id == Tag.group_id)
            .where(Tag.corp_id == corp_id, Tag.deleted_at.is_(None)))}
        groups = {row.chat_id: (row.name, row.owner_userid, row.member_count) for row in session.execute(
            select(GroupChat.chat_id, GroupChat.name, GroupChat.owner_userid, GroupChat.member_count)
            .where(GroupChat.corp_id == corp_id, GroupChat.status == "active"))}
        members = {tuple(row) for row in session.execute(
            select(GroupChat.chat_id, GroupChatMember.member_userid, GroupChatMember.member_type)
            .join(GroupChat, GroupChat.id == GroupChatMember.group_chat_id)
            .where(GroupChat.corp_id == corp_id, GroupChat.status == "active",
                   GroupChatMember.left_at.is_(None)))}
    return {"departments": departments, "staff": staff, "customers": customers, "relations": relations,
            "relation_tags": relation_tags, "tags": tags, "groups": groups, "members": members}


def assert_mirrors(database, corp_id: int, world) -> None:
    """siyu's copy equals the emulator's data, compared part by part for readable failures."""
    ours, theirs = synced(database, corp_id), expected(world)
    for part in theirs:
        if isinstance(theirs[part], dict):
            missing = {k: v for k, v in theirs[part].items() if ours[part].get(k) != v}
            extra = {k: v for k, v in ours[part].items() if k not in theirs[part]}
            assert not missing and not extra, f"{part}: differing {missing}, extra {extra}"
        else:
            missing, extra = theirs[part] - ours[part], ours[part] - theirs[part]
            assert not missing and not extra, f"{part}: missing {missing}, extra {extra}"


def table_state(database) -> dict[str, tuple[int, datetime | None]]:
    """Rows and the latest ``updated_at`` (or ``tagged_at``) of every synced table."""
    state = {}
    with database.session() as session:
        for model in TABLES:
            stamp = getattr(model, "updated_at", None) or model.tagged_at
            state[model.__tablename__] = tuple(session.execute(select(func.count(), func.max(stamp))
                                                               .select_from(model)).one())
    return state


def runs(database) -> list[WeComSyncRun]:
    with database.session() as session:
        return list(session.scalars(select(WeComSyncRun).order_by(WeComSyncRun.id)))


def changes(counts: dict[str, int]) -> dict[str, int]:
    """The counts of a run that mean a row was written (empty when nothing changed)."""
    written = ("created", "updated", "resigned", "deleted", "customers_created", "customers_updated",
               "customers_merged", "identities_created", "relations_created", "relations_updated",
               "relations_ended", "tags_added", "tags_removed", "groups_created", "groups_updated",
               "groups_dismissed", "members_joined", "members_updated", "members_left")
    return {key: value for key, value in counts.items() if key.partition(".")[2] in written}
