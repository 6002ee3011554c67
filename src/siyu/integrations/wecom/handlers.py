"""The ``wecom.handle_callback`` job: one stored callback → domain changes.

The callback endpoint stored the decrypted event in the inbox and enqueued this job in the same
transaction. Here the event is parsed again and dispatched to the domain services (customer
contacts, tags, group chats, organisation). Events that carry only an id (a tag was created, a
group's owner changed) are completed by reading WeCom through ``WeComReader``.

Handling is idempotent — the domain services guard every change by its time — so an operator may
replay a callback from the console. A failing event is retried by the job queue; on its last attempt
(or at once, when retrying cannot help) the domain changes are rolled back to a savepoint and the
callback is marked ``failed`` with the error, ready for a replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from siyu.customer import contacts
from siyu.group import service as group_service
from siyu.integrations.wecom.events import (
    CallbackEvent,
    ContactDepartmentChanged,
    ContactMemberChanged,
    ExternalChatChanged,
    ExternalContactChanged,
    ExternalTagChanged,
    parse_event,
)
from siyu.integrations.wecom.reader import WeComReader, reader_for_corp
from siyu.kit.jobs import JobContext, PermanentJobError, job_handler
from siyu.models.customer import RelationStatus
from siyu.models.job import Job
from siyu.models.wecom import CallbackStatus
from siyu.org import wecom_events as org_events
from siyu.tag import service as tag_service
from siyu.wecom import repository
from siyu.wecom.service import HANDLE_CALLBACK_JOB

log = structlog.get_logger("siyu.wecom.handlers")

MAX_ATTEMPTS = 5
DELETE_BY_TRANSFER = "DELETE_BY_TRANSFER"


class Handling:
    """What one handler needs: the session, the corp, the event's key and time, and WeCom."""

    def __init__(self, session: Session, corp_id: int, event_key: str | None, at: datetime,
                 reader: Callable[[], WeComReader]) -> None:
        self.session = session
        self.corp_id = corp_id
        self.event_key = event_key
        self.at = at
        self._reader_factory = reader
        self._reader: WeComReader | None = None

    @property
    def wecom(self) -> WeComReader:
        """WeCom's API, opened on first use (most events never need it)."""
        if self._reader is None:
            self._reader = self._reader_factory()
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def _external_contact(h: Handling, event: ExternalContactChanged) -> str:
    change = event.change_type
    ids = dict(userid=event.userid, external_userid=event.external_userid)
    if change in ("add_external_contact", "add_half_external_contact"):
        added = contacts.record_customer_added(
            h.session, h.corp_id, **ids, added_at=h.at, state=event.state, welcome_code=event.welcome_code,
            half=change == "add_half_external_contact", source_key=h.event_key)
        return f"relation {added.relation_id} active" if added else "older than the relation's end; unchanged"
    if change == "edit_external_contact":
        contacts.record_contact_edited(h.session, h.corp_id, **ids, at=h.at, source_key=h.event_key)
        return "contact refresh enqueued"
    if change in ("del_external_contact", "del_follow_user"):
        if change == "del_follow_user":
            status = RelationStatus.deleted_by_customer
        elif event.source == DELETE_BY_TRANSFER:
            status = RelationStatus.transferred
        else:
            status = RelationStatus.deleted_by_staff
        ended = contacts.record_contact_ended(h.session, h.corp_id, **ids, at=h.at, status=status)
        return f"relation {ended.relation_id} {status.value}" if ended else "no active relation; unchanged"
    if change == "transfer_fail":
        failed = contacts.record_transfer_failed(
            h.session, h.corp_id, takeover_userid=event.userid, external_userid=event.external_userid,
            reason=event.fail_reason, at=h.at, source_key=h.event_key)
        if failed is None:
            return "unknown customer; unchanged"
        return f"transfer failed ({event.fail_reason}); restored {list(failed.restored_relation_ids)}"
    return f"ignored change type {change}"


def _external_chat(h: Handling, event: ExternalChatChanged) -> str:
    change, chat_id = event.change_type, event.chat_id
    if change == "dismiss":
        group = group_service.record_group_dismissed(h.session, h.corp_id, chat_id, h.at)
        return "group dismissed" if group else "unknown group; unchanged"
    if change == "update" and event.members and event.update_detail in ("add_member", "del_member"):
        if event.update_detail == "add_member":
            joined = group_service.record_members_joined(h.session, h.corp_id, chat_id, list(event.members),
                                                         event.join_scene, h.at)
            return f"joined: {', '.join(joined) or 'none new'}"
        left = group_service.record_members_left(h.session, h.corp_id, chat_id, list(event.members),
                                                 event.quit_scene, h.at)
        return f"left: {', '.join(left) or 'none present'}"
    if change in ("create", "update"):
        # Creation, owner/name/notice changes, and member changes without a member list: the event
        # does not say what the group looks like now, WeCom does.
        if change == "create":
            group_service.record_group_created(h.session, h.corp_id, chat_id, h.at)
        group_service.apply_group_snapshot(h.session, h.corp_id, h.wecom.group_chat(chat_id), h.at)
        return f"group {change}{' ' + event.update_detail if event.update_detail else ''} applied from WeCom"
    return f"ignored change type {change}"


def _external_tag(h: Handling, event: ExternalTagChanged) -> str:
    change = event.change_type
    if change == "delete":
        changes = tag_service.record_corp_tag_deleted(h.session, h.corp_id, event.tag_id, event.tag_type,
                                                      h.at)
        return f"deleted: {', '.join(changes.deleted) or 'nothing known'}"
    if change in ("create", "update", "shuffle"):
        if change == "shuffle":
            groups = h.wecom.corp_tag_groups(group_ids=[event.tag_id] if event.tag_id else None)
        elif event.tag_type == "tag_group":
            groups = h.wecom.corp_tag_groups(group_ids=[event.tag_id])
        else:
            groups = h.wecom.corp_tag_groups(tag_ids=[event.tag_id])
        changes = tag_service.apply_corp_tag_groups(h.session, h.corp_id, groups, h.at)
        return (f"created {len(changes.created)}, updated {len(changes.updated)}, "
                f"deleted {len(changes.deleted)}")
    return f"ignored change type {change}"


def _member(h: Handling, event: ContactMemberChanged) -> str:
    if event.change_type == "delete_user":
        staff = org_events.record_member_left(h.session, h.corp_id, event.userid, h.at)
        return f"staff {staff.id} resigned" if staff else "unknown staff; unchanged"
    if event.change_type in ("create_user", "update_user"):
        staff = org_events.record_member_changed(h.session, h.corp_id, org_events.MemberChange(
            userid=event.userid, new_userid=event.new_userid, name=event.name, departments=event.departments,
            main_department=event.main_department, mobile=event.mobile, status=event.status), h.at)
        return f"staff {staff.id} {staff.userid} saved"
    return f"ignored change type {event.change_type}"


def _department(h: Handling, event: ContactDepartmentChanged) -> str:
    if event.change_type == "delete_party":
        department = org_events.record_department_deleted(h.session, h.corp_id, event.department_id)
        if department is None:
            return "unknown department; unchanged"
        return f"department {department.id} unlinked from WeCom"
    if event.change_type in ("create_party", "update_party"):
        department = org_events.record_department_changed(h.session, h.corp_id, event.department_id,
                                                          name=event.name, parent_wecom_id=event.parent_id)
        return f"department {department.id} saved"
    return f"ignored change type {event.change_type}"


def dispatch(h: Handling, event: CallbackEvent) -> str:
    """Apply ``event``; returns a one-line outcome for the callback log."""
    if isinstance(event, ExternalContactChanged):
        return _external_contact(h, event)
    if isinstance(event, ExternalChatChanged):
        return _external_chat(h, event)
    if isinstance(event, ExternalTagChanged):
        return _external_tag(h, event)
    if isinstance(event, ContactMemberChanged):
        return _member(h, event)
    if isinstance(event, ContactDepartmentChanged):
        return _department(h, event)
    return f"ignored event {event.event or 'without a type'}"


def _is_permanent(error: Exception) -> bool:
    """Retrying cannot help: bad input, or WeCom refused for a reason other than load."""
    from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected

    if isinstance(error, PermanentJobError | WeComNotConnected | ValueError):
        return True
    return isinstance(error, WeComApiError) and not error.retryable


@job_handler(HANDLE_CALLBACK_JOB, max_attempts=MAX_ATTEMPTS)
def handle_callback(ctx: JobContext, callback_id: int) -> None:
    """Handle one inbox row (enqueued by the callback endpoint, or by a replay)."""
    session = ctx.session
    callback = repository.callback_for_handling(session, callback_id)
    if callback is None or callback.corp_id is None or callback.payload_xml is None or \
            callback.status in (CallbackStatus.rejected, CallbackStatus.duplicate):
        return
    event = parse_event(callback.payload_xml)
    at = event.happened_at if event.create_time else callback.received_at
    handling = Handling(session, callback.corp_id, callback.event_key, at,
                        lambda: reader_for_corp(session, callback.corp_id, ctx.clock))
    try:
        with session.begin_nested():
            outcome = dispatch(handling, event)
    except Exception as error:
        job = session.get(Job, ctx.job_id)
        last = _is_permanent(error) or job is None or ctx.attempt >= job.max_attempts
        log.warning("wecom.callback.handling_failed", callback=callback_id, error=repr(error),
                    last_attempt=last)
        if not last:
            raise
        repository.mark_callback(session, callback_id, CallbackStatus.failed, at=ctx.clock.now(),
                                 reason=f"{type(error).__name__}: {error}"[:2000])
        return
    finally:
        handling.close()
    repository.mark_callback(session, callback_id, CallbackStatus.handled, at=ctx.clock.now(), reason=outcome)
