"""Set-based upserts of customers, identities, relations and relation tags from pages of external
contacts (a WeCom sync page, a refreshed contact).

A page costs a fixed number of statements whatever its size: select what exists, insert what is
missing with ``INSERT … ON CONFLICT DO NOTHING`` (so concurrent writers cannot duplicate a row),
update only rows whose values changed, delete only tags that are gone. Running the same page twice
changes nothing the second time.

Who is who: a customer is found by its ``wecom_external_userid`` identity. A ``unionid`` that already
belongs to a customer links the contact to that customer (the same WeChat user met through another
channel); if the contact was already a different customer, that one is merged into the unionid's
customer. Merged customers are followed to their survivor.

This module speaks in the customer domain's terms (records below), not in WeCom's schemas.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Table, and_, any_, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from siyu.kit.db import dialect_insert
from siyu.models.customer import Customer, Identity, IdentityKind, Relation, RelationStatus
from siyu.models.org import Staff
from siyu.models.tag import RelationTag, Tag

EXTERNAL = IdentityKind.wecom_external_userid.value
UNIONID = IdentityKind.unionid.value
#: A relation WeCom no longer lists, when no callback said who ended it: a staff member's list only
#: loses a customer when one side deleted the other or a transfer took it away.
ENDED_STATUS = RelationStatus.deleted_by_staff


@dataclass(frozen=True)
class FollowRecord:
    """A staff member's relation to the contact."""

    staff_userid: str
    added_at: datetime
    remark: str | None = None
    add_way: int | None = None
    state: str | None = None
    #: the provider's ids of the corp tags on this relation (the complete set)
    tag_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactRecord:
    """An external contact with some or all of its followers."""

    external_userid: str
    name: str | None = None
    #: "male", "female" or None (unknown)
    gender: str | None = None
    unionid: str | None = None
    follows: tuple[FollowRecord, ...] = ()
    #: ``follows`` lists every follower: other active relations of the contact have ended
    complete: bool = False


@dataclass
class ContactUpsertStats:
    """What one upsert changed (zero everywhere when nothing changed)."""

    customers_created: int = 0
    customers_updated: int = 0
    customers_merged: int = 0
    identities_created: int = 0
    relations_created: int = 0
    relations_updated: int = 0
    relations_ended: int = 0
    tags_added: int = 0
    tags_removed: int = 0
    #: follows of staff unknown here (skipped) and tag ids unknown here (skipped)
    unknown_staff: int = 0
    unknown_tags: int = 0

    def add(self, other: ContactUpsertStats) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class _Resolution:
    customer_of: dict[str, int] = field(default_factory=dict)  # external_userid → customer id
    created: set[int] = field(default_factory=set)


def among(session: Session, column, values: Iterable[Any]):
    """``column IN values`` — on PostgreSQL as ``= ANY(array)``: one parameter instead of one per value,
    which spares the driver re-parsing a statement with thousands of placeholders on every page."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _merge_records(records: Iterable[ContactRecord]) -> list[ContactRecord]:
    """One record per contact: a batch page lists a contact once per follower."""
    merged: dict[str, ContactRecord] = {}
    for record in records:
        previous = merged.get(record.external_userid)
        if previous is None:
            merged[record.external_userid] = record
            continue
        follows = {f.staff_userid: f for f in previous.follows}
        follows.update({f.staff_userid: f for f in record.follows})
        merged[record.external_userid] = ContactRecord(
            external_userid=record.external_userid, name=record.name or previous.name,
            gender=record.gender or previous.gender, unionid=record.unionid or previous.unionid,
            follows=tuple(follows.values()), complete=record.complete or previous.complete)
    return list(merged.values())


def _identity_map(session: Session, corp_id: int, kind: str, values: Sequence[str]) -> dict[str, int]:
    if not values:
        return {}
    rows = session.execute(select(Identity.value, Identity.customer_id).where(
        Identity.corp_id == corp_id, Identity.kind == kind, among(session, Identity.value, values)))
    return dict(rows.all())


def _survivors(session: Session, customer_ids: set[int]) -> dict[int, int]:
    """Each id mapped to the customer it was (transitively) merged into, or itself."""
    result = {cid: cid for cid in customer_ids}
    pending = set(customer_ids)
    for _ in range(8):  # merge chains are short; the bound guards against a cycle in bad data
        if not pending:
            break
        rows = session.execute(select(Customer.id, Customer.merged_into_id).where(
            among(session, Customer.id, pending), Customer.merged_into_id.is_not(None))).all()
        step = dict(rows)
        pending = set()
        for origin, current in result.items():
            if current in step:
                result[origin] = step[current]
                pending.add(step[current])
    return result


def upsert_contacts(session: Session, corp_id: int, records: Iterable[ContactRecord], *, now: datetime
                    ) -> tuple[ContactUpsertStats, dict[str, int]]:
    """Write a page of contacts; returns the statistics and each external_userid's customer id."""
    stats = ContactUpsertStats()
    contacts = _merge_records(records)
    if not contacts:
        return stats, {}
    resolution = _resolve_customers(session, corp_id, contacts, now, stats)
    _update_customers(session, contacts, resolution, now, stats)
    _upsert_relations(session, corp_id, contacts, resolution.customer_of, now, stats)
    return stats, resolution.customer_of


def _resolve_customers(session: Session, corp_id: int, contacts: list[ContactRecord], now: datetime,
                       stats: ContactUpsertStats) -> _Resolution:
    by_external = _identity_map(session, corp_id, EXTERNAL, [c.external_userid for c in contacts])
    by_unionid = _identity_map(session, corp_id, UNIONID, [c.unionid for c in contacts if c.unionid])
    survivor = _survivors(session, set(by_external.values()) | set(by_unionid.values()))
    resolution = _Resolution()
    merges: dict[int, int] = {}
    missing: list[ContactRecord] = []
    for contact in contacts:
        known = survivor.get(by_external.get(contact.external_userid, -1))
        linked = survivor.get(by_unionid.get(contact.unionid or "", -1))
        if known is not None and linked is not None and known != linked:
            merges[known] = linked  # the unionid's customer is the one other channels know
        chosen = linked or known
        if chosen is None:
            missing.append(contact)
        else:
            resolution.customer_of[contact.external_userid] = chosen
    if missing:
        _create_customers(session, corp_id, missing, resolution, now)
    for loser, winner in merges.items():
        _merge_customer(session, loser, winner, now)
    stats.customers_merged += len(merges)
    identities = [(EXTERNAL, c.external_userid, resolution.customer_of[c.external_userid])
                  for c in contacts if c.external_userid not in by_external]
    identities += [(UNIONID, c.unionid, resolution.customer_of[c.external_userid])
                   for c in contacts if c.unionid and c.unionid not in by_unionid]
    stats.identities_created += _insert_identities(session, corp_id, identities, now)
    if resolution.created:
        _drop_lost_races(session, corp_id, missing, resolution)
    stats.customers_created += len(resolution.created)
    return resolution


def _create_customers(session: Session, corp_id: int, missing: list[ContactRecord], resolution: _Resolution,
                      now: datetime) -> None:
    staff_department = _staff_departments(session, corp_id, {
        min(c.follows, key=lambda f: f.added_at).staff_userid for c in missing if c.follows})
    rows = []
    for contact in missing:
        first = min(contact.follows, key=lambda f: f.added_at) if contact.follows else None
        rows.append({"corp_id": corp_id, "name": _clip(contact.name, 100), "gender": contact.gender,
                     "home_store_id": staff_department.get(first.staff_userid) if first else None,
                     "first_seen_at": first.added_at if first else now, "created_at": now, "updated_at": now})
    table = Customer.__table__
    if session.get_bind().dialect.name == "postgresql":
        # Ids drawn from the sequence first, so the rows can go in as arrays and still be matched to
        # their contacts (RETURNING of a set-based insert promises no order).
        ids = session.scalars(text("SELECT nextval(pg_get_serial_sequence('customer', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": len(rows)}).all()
        insert_rows(session, table, [{"id": customer_id, **row}
                                     for customer_id, row in zip(ids, rows, strict=True)])
    else:
        statement = dialect_insert(session, table).returning(table.c.id, sort_by_parameter_order=True)
        ids = session.scalars(statement, rows).all()
    for contact, customer_id in zip(missing, ids, strict=True):
        resolution.customer_of[contact.external_userid] = customer_id
        resolution.created.add(customer_id)


def _drop_lost_races(session: Session, corp_id: int, created: list[ContactRecord], resolution: _Resolution
                     ) -> None:
    """Another writer may have created the same contact meanwhile: its identity won, ours is removed."""
    winners = _identity_map(session, corp_id, EXTERNAL, [c.external_userid for c in created])
    orphans = []
    for contact in created:
        ours = resolution.customer_of[contact.external_userid]
        winner = winners.get(contact.external_userid, ours)
        if winner != ours:
            resolution.customer_of[contact.external_userid] = winner
            resolution.created.discard(ours)
            orphans.append(ours)
    if orphans:
        session.execute(delete(Customer).where(among(session, Customer.id, orphans)))


def _insert_identities(session: Session, corp_id: int, rows: list[tuple[str, str, int]],
                       now: datetime) -> int:
    if not rows:
        return 0
    return insert_ignoring_conflicts(session, Identity.__table__, ["corp_id", "kind", "value"], [
        {"corp_id": corp_id, "kind": kind, "value": value, "customer_id": customer_id, "created_at": now,
         "updated_at": now} for kind, value, customer_id in rows])


def insert_ignoring_conflicts(session: Session, table: Table, conflict: list[str],
                              rows: list[dict[str, Any]]) -> int:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING`` of ``rows`` (all with the same keys); returns how
    many were inserted (see ``insert_rows``)."""
    return insert_rows(session, table, rows, conflict=conflict)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]], *,
                conflict: list[str] | None = None) -> int:
    """Insert ``rows`` (all with the same keys), skipping those that hit the unique ``conflict``
    columns when given; returns how many were inserted.

    On PostgreSQL the rows travel as one array per column and go in with a single
    ``INSERT … SELECT * FROM unnest(…)``: one short statement per page instead of a statement per
    row (executemany) or a multi-row VALUES list with thousands of placeholders that the driver
    re-parses every time. SQLite takes an executemany (in-process, no round trips to save).
    """
    if not rows:
        return 0
    key = table.primary_key.columns.values()[0]
    statement = dialect_insert(session, table)
    if session.get_bind().dialect.name == "postgresql":
        names = list(rows[0])
        arrays = [bindparam(f"column_{index}", [row[name] for row in rows], type_=ARRAY(table.c[name].type))
                  for index, name in enumerate(names)]
        unnested = func.unnest(*arrays).table_valued(*names).render_derived()
        statement = statement.from_select(names, select(unnested))
        if conflict:
            statement = statement.on_conflict_do_nothing(index_elements=conflict)
        return len(session.execute(statement.returning(key)).all())
    if conflict:
        statement = statement.on_conflict_do_nothing(index_elements=conflict)
    return len(session.execute(statement.returning(key), rows).all())


def _merge_customer(session: Session, loser: int, winner: int, now: datetime) -> None:
    """Fold ``loser`` into ``winner``: identities move, relations move unless the winner already has
    one with that staff member, and reads of ``loser`` follow ``merged_into_id``."""
    session.execute(update(Identity).where(Identity.customer_id == loser)
                    .values(customer_id=winner, updated_at=now))
    taken = select(Relation.staff_id).where(Relation.customer_id == winner).scalar_subquery()
    session.execute(update(Relation).where(Relation.customer_id == loser, Relation.staff_id.not_in(taken))
                    .values(customer_id=winner, updated_at=now))
    session.execute(update(Customer).where(Customer.id == loser)
                    .values(merged_into_id=winner, updated_at=now))


def _update_customers(session: Session, contacts: list[ContactRecord], resolution: _Resolution, now: datetime,
                      stats: ContactUpsertStats) -> None:
    existing = {cid for cid in resolution.customer_of.values() if cid not in resolution.created}
    if not existing:
        return
    current = {row.id: row for row in session.execute(
        select(Customer.id, Customer.name, Customer.gender).where(among(session, Customer.id, existing)))}
    changes: dict[int, dict[str, object]] = {}
    for contact in contacts:
        customer_id = resolution.customer_of[contact.external_userid]
        row = current.get(customer_id)
        if row is None:
            continue
        name = _clip(contact.name, 100) or row.name
        gender = contact.gender or row.gender  # WeCom's "unknown" never erases what we know
        if (name, gender) != (row.name, row.gender):
            changes[customer_id] = {"b_id": customer_id, "b_name": name, "b_gender": gender}
    if changes:
        table = Customer.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id"))
                        .values(name=bindparam("b_name"), gender=bindparam("b_gender"), updated_at=now),
                        list(changes.values()))
    stats.customers_updated += len(changes)


def _staff_ids(session: Session, corp_id: int, userids: set[str]) -> dict[str, int]:
    if not userids:
        return {}
    rows = session.execute(select(Staff.userid, Staff.id).where(Staff.corp_id == corp_id,
                                                                 among(session, Staff.userid, userids)))
    return dict(rows.all())


def _staff_departments(session: Session, corp_id: int, userids: set[str]) -> dict[str, int | None]:
    if not userids:
        return {}
    rows = session.execute(select(Staff.userid, Staff.department_id).where(
        Staff.corp_id == corp_id, among(session, Staff.userid, userids)))
    return dict(rows.all())


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


_RELATION_FIELDS = ("external_userid", "remark", "add_way", "state", "status", "added_at", "ended_at")


def _upsert_relations(session: Session, corp_id: int, contacts: list[ContactRecord],
                      customer_of: dict[str, int], now: datetime, stats: ContactUpsertStats) -> None:
    staff = _staff_ids(session, corp_id, {f.staff_userid for c in contacts for f in c.follows})
    desired: dict[tuple[int, int], dict[str, object]] = {}
    desired_tags: dict[tuple[int, int], tuple[str, ...]] = {}
    for contact in contacts:
        customer_id = customer_of[contact.external_userid]
        for follow in contact.follows:
            staff_id = staff.get(follow.staff_userid)
            if staff_id is None:
                stats.unknown_staff += 1
                continue
            desired[(customer_id, staff_id)] = {
                "external_userid": contact.external_userid, "remark": _clip(follow.remark, 100),
                "add_way": follow.add_way, "state": _clip(follow.state, 64), "status": RelationStatus.active,
                "added_at": follow.added_at, "ended_at": None}
            desired_tags[(customer_id, staff_id)] = follow.tag_ids
    customer_ids = set(customer_of.values())
    existing = {(row.customer_id, row.staff_id): row for row in session.execute(
        select(Relation.id, Relation.customer_id, Relation.staff_id,
               *[getattr(Relation, name) for name in _RELATION_FIELDS])
        .where(Relation.corp_id == corp_id, among(session, Relation.customer_id, customer_ids)))}
    inserts, updates = [], []
    for key, values in desired.items():
        row = existing.get(key)
        if row is not None and row.status == RelationStatus.transferred and row.ended_at is None:
            # A hand-over in progress: WeCom lists the relation until the takeover; keep the mark.
            values = {**values, "status": RelationStatus.transferred}
        if row is None:
            inserts.append({"corp_id": corp_id, "customer_id": key[0], "staff_id": key[1], "created_at": now,
                            "updated_at": now, **values})
        elif any(getattr(row, name) != value for name, value in values.items()):
            updates.append({"b_id": row.id, **{f"b_{name}": value for name, value in values.items()}})
    complete = {customer_of[c.external_userid] for c in contacts if c.complete}
    ended = [row.id for key, row in existing.items()
             if key[0] in complete and key not in desired and row.status == RelationStatus.active]
    if inserts:
        stats.relations_created += insert_ignoring_conflicts(
            session, Relation.__table__, ["corp_id", "staff_id", "customer_id"], inserts)
    if updates:
        table = Relation.__table__
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            updated_at=now, **{name: bindparam(f"b_{name}") for name in _RELATION_FIELDS}), updates)
        stats.relations_updated += len(updates)
    stats.relations_ended += end_relations(session, ended, now)
    _sync_relation_tags(session, corp_id, desired_tags, now, stats)


def end_relations(session: Session, relation_ids: Sequence[int], now: datetime,
                  status: RelationStatus = ENDED_STATUS) -> int:
    """Mark active relations as ended (a status set by a callback is kept)."""
    if not relation_ids:
        return 0
    result = session.execute(update(Relation).where(among(session, Relation.id, relation_ids),
                                                    Relation.status == RelationStatus.active)
                             .values(status=status, ended_at=now, updated_at=now))
    return max(result.rowcount, 0)


def active_relations_of_staff(session: Session, corp_id: int, staff_id: int) -> dict[str, int]:
    """external_userid → relation id of the staff member's active WeCom relations."""
    rows = session.execute(select(Relation.external_userid, Relation.id).where(
        Relation.corp_id == corp_id, Relation.staff_id == staff_id, Relation.status == RelationStatus.active,
        Relation.external_userid.is_not(None)))
    return dict(rows.all())


def _sync_relation_tags(session: Session, corp_id: int, desired_tags: dict[tuple[int, int], tuple[str, ...]],
                        now: datetime, stats: ContactUpsertStats) -> None:
    """Make each relation's WeCom tags exactly the listed ones; tags without a WeCom id are untouched."""
    if not desired_tags:
        return
    relation_id = {(row.customer_id, row.staff_id): row.id for row in session.execute(
        select(Relation.id, Relation.customer_id, Relation.staff_id).where(
            Relation.corp_id == corp_id,
            among(session, Relation.customer_id, {key[0] for key in desired_tags})))}
    wanted_ids = {tag for tags in desired_tags.values() for tag in tags}
    local_tag = {}
    if wanted_ids:
        local_tag = dict(session.execute(select(Tag.wecom_tag_id, Tag.id).where(
            Tag.corp_id == corp_id, among(session, Tag.wecom_tag_id, wanted_ids))).all())
    desired: set[tuple[int, int]] = set()
    for key, tags in desired_tags.items():
        rid = relation_id.get(key)
        if rid is None:
            continue
        for tag in tags:
            if tag in local_tag:
                desired.add((rid, local_tag[tag]))
            else:
                stats.unknown_tags += 1
    relations = [relation_id[key] for key in desired_tags if key in relation_id]
    existing = {(row.relation_id, row.tag_id): row.id for row in session.execute(
        select(RelationTag.id, RelationTag.relation_id, RelationTag.tag_id)
        .join(Tag, and_(Tag.id == RelationTag.tag_id, Tag.wecom_tag_id.is_not(None)))
        .where(among(session, RelationTag.relation_id, relations)))}
    additions = desired - existing.keys()
    removals = [existing[key] for key in existing.keys() - desired]
    if additions:
        stats.tags_added += insert_ignoring_conflicts(
            session, RelationTag.__table__, ["relation_id", "tag_id"],
            [{"corp_id": corp_id, "relation_id": rid, "tag_id": tid, "tagged_at": now}
             for rid, tid in additions])
    if removals:
        session.execute(delete(RelationTag).where(among(session, RelationTag.id, removals)))
        stats.tags_removed += len(removals)


def end_contact_relations(session: Session, corp_id: int, external_userid: str, now: datetime) -> int:
    """End every active relation with ``external_userid`` (the contact no longer exists upstream)."""
    ids = session.scalars(select(Relation.id).where(
        Relation.corp_id == corp_id, Relation.external_userid == external_userid,
        Relation.status == RelationStatus.active)).all()
    return end_relations(session, list(ids), now)
