"""Customers and their follow relations: the full pass over ``batch/get_by_user``, the per-staff
reconciliation through ``externalcontact/list``, and the refresh of one contact.

* Full pass: the follow users in chunks of 100, each chunk paged by WeCom's cursor; every
  ``rows_per_commit`` rows become one unit whose checkpoint is (chunk, cursor).
* Reconciliation (both kinds): for each follow user, compare WeCom's list of their customers with
  the active relations here — relations WeCom no longer lists end, customers not yet known are
  fetched with ``externalcontact/get``. This is what an incremental sync does for customers: O(staff)
  list calls plus one call per new customer. Edits of remarks and tags on known relations arrive
  through callbacks (``wecom.refresh_external_contact``) or the next full sync.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customer import contacts_bulk
from siyu.customer.contacts_bulk import ContactRecord, FollowRecord
from siyu.integrations.wecom import errors
from siyu.integrations.wecom.client import WeComClient
from siyu.integrations.wecom.errors import WeComApiError
from siyu.integrations.wecom.schemas import (
    BatchGetByUserRequest,
    ExternalContact,
    ExternalContactWithFollowInfo,
    FollowUser,
)
from siyu.integrations.wecom.sync_org import ensure_staff
from siyu.integrations.wecom.sync_runner import SyncRunner
from siyu.models.org import Staff

log = structlog.get_logger("siyu.wecom.sync")
CHUNK = 100
#: The tables a customer page writes (analysed as they grow, see ``SyncRunner.refresh_statistics``).
CUSTOMER_TABLES = ("customer", "identity", "relation", "relation_tag")
#: The customer does not exist (any more) in WeCom, or is not this member's customer.
GONE = frozenset({40096, errors.NOT_EXTERNAL_CONTACT})
_GENDERS = {1: "male", 2: "female"}


def from_timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _contact_fields(contact: ExternalContact) -> dict:
    return {"external_userid": contact.external_userid, "name": contact.name or None,
            "gender": _GENDERS.get(contact.gender), "unionid": contact.unionid or None}


def record_from_batch(item: ExternalContactWithFollowInfo) -> ContactRecord:
    """One row of ``batch/get_by_user``: the contact and one follower."""
    follow = item.follow_info
    return ContactRecord(**_contact_fields(item.external_contact), follows=(FollowRecord(
        staff_userid=follow.userid, added_at=from_timestamp(follow.createtime), remark=follow.remark or None,
        add_way=follow.add_way, state=follow.state or None, tag_ids=tuple(follow.tag_id)),))


def record_from_get(contact: ExternalContact, follow_users: list[FollowUser]) -> ContactRecord:
    """A contact with every follower (``externalcontact/get``, all cursor pages)."""
    follows = tuple(FollowRecord(
        staff_userid=f.userid, added_at=from_timestamp(f.createtime), remark=f.remark or None,
        add_way=f.add_way, state=f.state or None,
        tag_ids=tuple(t.tag_id for t in f.tags if t.tag_id and t.type != 2))
        for f in follow_users)
    return ContactRecord(**_contact_fields(contact), follows=follows, complete=True)


def fetch_contact(client: WeComClient, external_userid: str) -> ContactRecord | None:
    """The contact with all its followers, or None when WeCom no longer knows it."""
    try:
        answer = client.get_external_contact(external_userid)
        follow_users = list(answer.follow_user)
        while answer.next_cursor:
            answer = client.get_external_contact(external_userid, answer.next_cursor)
            follow_users.extend(answer.follow_user)
    except WeComApiError as error:
        if error.errcode in GONE:
            return None
        raise
    return record_from_get(answer.external_contact, follow_users)


def write_contacts(session: Session, corp_id: int, records: list[ContactRecord], now: datetime, *,
                   ensure_followers: bool) -> dict[str, int]:
    """Upsert contacts (creating unknown followers first when asked); returns the counts."""
    if ensure_followers:
        ensure_staff(session, corp_id, {f.staff_userid for r in records for f in r.follows}, now)
    stats, _ = contacts_bulk.upsert_contacts(session, corp_id, records, now=now)
    return stats.as_dict()


def refresh_contact(client: WeComClient, sessions, corp_id: int, external_userid: str, now: datetime
                    ) -> dict[str, int]:
    """Fetch one contact and bring its customer, identities, relations and tags up to date. A contact
    WeCom no longer knows has all its active relations ended."""
    record = fetch_contact(client, external_userid)
    with sessions() as session:
        if record is None:
            ended = contacts_bulk.end_contact_relations(session, corp_id, external_userid, now)
            return {"relations_ended": ended}
        return write_contacts(session, corp_id, [record], now, ensure_followers=True)


def run_customer_pages(runner: SyncRunner) -> None:
    """The full pass over every follow user's customers (resumes at the saved chunk and cursor)."""
    follow_users: list[str] = runner.checkpoint.get("follow_users", [])
    chunks = [follow_users[i:i + CHUNK] for i in range(0, len(follow_users), CHUNK)]
    chunk = int(runner.checkpoint.get("chunk", 0))
    cursor = str(runner.checkpoint.get("cursor", ""))
    resumed_cursor = bool(cursor)
    units, next_analysis = 0, 1
    while chunk < len(chunks):
        records, pages = [], 0
        while True:
            try:
                answer = runner.contact.batch_get_by_user(BatchGetByUserRequest(
                    userid_list=chunks[chunk], cursor=cursor or None, limit=runner.tuning.page_limit))
            except WeComApiError as error:
                if not (resumed_cursor and error.errcode == errors.INVALID_PARAMETER):
                    raise
                # A saved cursor WeCom no longer accepts: the chunk starts over (upserts are idempotent).
                log.warning("wecom.sync.cursor_expired", run=runner.run_id, chunk=chunk)
                cursor = ""
                resumed_cursor = False
                continue
            resumed_cursor = False
            records.extend(record_from_batch(item) for item in answer.external_contact_list)
            pages += 1
            cursor = answer.next_cursor
            if not cursor:
                chunk, cursor = chunk + 1, ""
                break
            if len(records) >= runner.tuning.rows_per_commit:
                break
        now = runner.clock.now()

        def write(session: Session, records=records, pages=pages) -> dict[str, int]:
            counts = write_contacts(session, runner.corp_id, records, now, ensure_followers=False)
            return {"pages": pages, "rows": len(records), **counts}

        runner.commit(write, checkpoint={"chunk": chunk, "cursor": cursor}, done=chunk, total=len(chunks))
        units += 1
        if units == next_analysis:
            # after 1, 4, 16, 64 … units: a handful of ANALYZEs however large the corp
            runner.refresh_statistics(CUSTOMER_TABLES)
            next_analysis *= 4


def _staff_id(session: Session, corp_id: int, userid: str) -> int | None:
    return session.scalars(select(Staff.id).where(Staff.corp_id == corp_id,
                                                  Staff.userid == userid)).one_or_none()


def run_relation_reconciliation(runner: SyncRunner) -> None:
    """For each follow user after the saved one: end vanished relations, fetch unknown customers."""
    follow_users: list[str] = runner.checkpoint.get("follow_users", [])
    last = runner.checkpoint.get("last_userid")
    pending = [u for u in follow_users if last is None or u > last]
    done = len(follow_users) - len(pending)
    for userid in pending:
        try:
            listed = set(runner.contact.list_external_contacts(userid).external_userid)
        except WeComApiError as error:
            if error.errcode not in (errors.NOT_EXTERNAL_CONTACT, errors.INVALID_USERID, 60111):
                raise
            listed = set()  # 84061: no customers; 60111/40003: the member is gone
        with runner.sessions() as session:
            staff_id = _staff_id(session, runner.corp_id, userid)
            known = (contacts_bulk.active_relations_of_staff(session, runner.corp_id, staff_id)
                     if staff_id else {})
        gone = [relation_id for external_userid, relation_id in known.items()
                if external_userid not in listed]
        fetched = [fetch_contact(runner.contact, external_userid)
                   for external_userid in sorted(listed - known.keys())]
        records = [record for record in fetched if record is not None]
        now = runner.clock.now()

        def write(session: Session, gone=gone, records=records) -> dict[str, int]:
            counts = write_contacts(session, runner.corp_id, records, now, ensure_followers=True)
            counts["relations_ended"] += contacts_bulk.end_relations(session, gone, now)
            counts["contacts_fetched"] = len(records)
            return counts

        done += 1
        runner.commit(write, checkpoint={"last_userid": userid}, done=done, total=len(follow_users))
