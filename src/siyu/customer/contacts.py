"""One WeCom contact (外部联系人) as siyu's domain sees it: a customer, its ``wecom_external_userid``
identity and its relation to a staff member.

The callback handlers call these services; the contact refresh job (``wecom.refresh_external_contact``)
fills in the name, remark and tags that callbacks do not carry.

Events may arrive late, twice (an operator replay) or out of order, so every change is guarded by the
relation's own times: an add older than the relation's end does not revive it, an end older than the
relation's (re-)add does not end it, and applying the same event again changes nothing.

Relations in status ``transferred`` with no ``ended_at`` are hand-overs still waiting for WeCom
(set by the transfer feature); ``transfer_fail`` gives them back to their staff member. A relation
WeCom removed because a transfer completed (``DELETE_BY_TRANSFER``) is ``transferred`` and ended.

Later features subscribe to what happens here through the hook lists ``on_customer_added`` (the
welcome message needs the ``welcome_code``), ``on_customer_lost`` and ``on_transfer_failed``. Hooks
run inside the handler's transaction: a hook that raises makes the whole event fail and retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.customer import contact_repository as repository
from siyu.kit.jobs import enqueue
from siyu.models.customer import Customer, IdentityKind, Relation, RelationStatus
from siyu.org.wecom_events import ensure_staff

REFRESH_JOB = "wecom.refresh_external_contact"


@dataclass(frozen=True)
class CustomerAdded:
    """A customer added a staff member (or the staff member added them)."""

    corp_id: int
    customer_id: int
    relation_id: int
    staff_id: int
    userid: str
    external_userid: str
    added_at: datetime
    #: the contact way's ``state`` (channel attribution), if any
    state: str | None
    #: WeCom's one-use, 20-second code for sending the welcome message, if any
    welcome_code: str | None
    #: the customer added the staff member who has not confirmed yet (add_half_external_contact)
    half: bool
    #: True when this created the customer (a first contact with the brand)
    new_customer: bool


@dataclass(frozen=True)
class ContactEnded:
    """A relation ended: the staff member deleted the customer, or the customer deleted them."""

    corp_id: int
    customer_id: int
    relation_id: int
    staff_id: int
    status: RelationStatus
    ended_at: datetime


@dataclass(frozen=True)
class TransferFailed:
    """WeCom could not hand the customer over; the relations listed stay with their staff."""

    corp_id: int
    customer_id: int
    takeover_userid: str
    reason: str | None
    restored_relation_ids: tuple[int, ...]


on_customer_added: list[Callable[[Session, CustomerAdded], None]] = []
on_customer_lost: list[Callable[[Session, ContactEnded], None]] = []
on_transfer_failed: list[Callable[[Session, TransferFailed], None]] = []


def _enqueue_refresh(session: Session, corp_id: int, external_userid: str, source_key: str | None) -> None:
    # Keyed by the triggering event, so handling that event again does not ask WeCom twice.
    key = f"{REFRESH_JOB}:{source_key}" if source_key else None
    enqueue(session, REFRESH_JOB, {"corp_id": corp_id, "external_userid": external_userid}, key=key,
            corp_id=corp_id)


def _customer_of(session: Session, corp_id: int, external_userid: str, at: datetime) -> tuple[Customer, bool]:
    """The customer behind ``external_userid``, created with the identity when new."""
    kind = IdentityKind.wecom_external_userid.value
    customer = repository.customer_by_identity(session, corp_id, kind, external_userid)
    if customer is not None:
        if customer.first_seen_at is None or customer.first_seen_at > at:
            customer.first_seen_at = at
        return customer, False
    customer = Customer(corp_id=corp_id, first_seen_at=at)
    session.add(customer)
    session.flush()
    if repository.insert_identity(session, corp_id, customer.id, kind, external_userid, at):
        return customer, True
    # A concurrent handler created this contact and committed first: use theirs.
    session.delete(customer)
    session.flush()
    existing = repository.customer_by_identity(session, corp_id, kind, external_userid)
    if existing is None:
        raise LookupError(f"identity {external_userid} vanished while being created")
    return existing, False


def record_customer_added(session: Session, corp_id: int, *, userid: str, external_userid: str,
                          added_at: datetime, state: str | None = None, welcome_code: str | None = None,
                          add_way: int | None = None, half: bool = False,
                          source_key: str | None = None) -> CustomerAdded | None:
    """add_external_contact / add_half_external_contact: the customer, its identity and an active
    relation with ``state``, ``add_way`` and ``added_at``. Returns None when the event is older than
    the relation's end (a late delivery must not revive a deleted friend)."""
    staff = ensure_staff(session, corp_id, userid, added_at)
    customer, new_customer = _customer_of(session, corp_id, external_userid, added_at)
    inserted = repository.insert_relation_if_absent(session, dict(
        corp_id=corp_id, staff_id=staff.id, customer_id=customer.id, external_userid=external_userid,
        state=state, add_way=add_way, status=RelationStatus.active, added_at=added_at,
        created_at=added_at, updated_at=added_at))
    relation = repository.relation(session, corp_id, staff.id, customer.id)
    if relation is None:
        raise LookupError(f"relation of {userid} and {external_userid} vanished while being created")
    activated = inserted
    if not inserted:
        if relation.ended_at is None:
            relation.state = relation.state or state
            relation.add_way = relation.add_way if relation.add_way is not None else add_way
            relation.external_userid = external_userid
        elif added_at > relation.ended_at:
            relation.status, relation.ended_at, relation.added_at = RelationStatus.active, None, added_at
            relation.state, relation.add_way, relation.external_userid = state, add_way, external_userid
            activated = True
        else:
            return None
    session.flush()
    _enqueue_refresh(session, corp_id, external_userid, source_key)
    added = CustomerAdded(corp_id, customer.id, relation.id, staff.id, userid, external_userid,
                          relation.added_at, relation.state, welcome_code, half, new_customer)
    # A welcome code is worth passing on even for a known relation (half-added, then confirmed).
    if activated or welcome_code:
        for hook in on_customer_added:
            hook(session, added)
    return added


def record_contact_edited(session: Session, corp_id: int, *, userid: str, external_userid: str, at: datetime,
                          source_key: str | None = None) -> Relation | None:
    """edit_external_contact: the remark or corp tags changed in WeCom. Callbacks do not say what
    changed, so the contact is refreshed from WeCom. Returns the relation, None when unknown."""
    staff = ensure_staff(session, corp_id, userid, at)
    customer = repository.customer_by_identity(session, corp_id, IdentityKind.wecom_external_userid.value,
                                               external_userid)
    relation = repository.relation(session, corp_id, staff.id, customer.id) if customer else None
    _enqueue_refresh(session, corp_id, external_userid, source_key)
    return relation


def record_contact_ended(session: Session, corp_id: int, *, userid: str, external_userid: str, at: datetime,
                         status: RelationStatus) -> ContactEnded | None:
    """del_external_contact (``deleted_by_staff``, or ``transferred`` when a transfer removed it) and
    del_follow_user (``deleted_by_customer`` — a lost customer). None when nothing changed: the
    relation is unknown, already ended, or was (re-)added after ``at``."""
    staff = ensure_staff(session, corp_id, userid, at)
    customer = repository.customer_by_identity(session, corp_id, IdentityKind.wecom_external_userid.value,
                                               external_userid)
    relation = repository.relation(session, corp_id, staff.id, customer.id) if customer else None
    if relation is None or relation.ended_at is not None or relation.added_at > at:
        return None
    relation.status, relation.ended_at = status, at
    session.flush()
    ended = ContactEnded(corp_id, relation.customer_id, relation.id, staff.id, status, at)
    if status == RelationStatus.deleted_by_customer:
        for hook in on_customer_lost:
            hook(session, ended)
    return ended


def record_transfer_failed(session: Session, corp_id: int, *, takeover_userid: str, external_userid: str,
                           reason: str | None, at: datetime,
                           source_key: str | None = None) -> TransferFailed | None:
    """transfer_fail: the customer refused, or the taking-over member is full. Pending hand-overs
    of the customer go back to active; the contact is refreshed to learn who follows it now."""
    customer = repository.customer_by_identity(session, corp_id, IdentityKind.wecom_external_userid.value,
                                               external_userid)
    if customer is None:
        return None
    restored = []
    for relation in repository.pending_transfers(session, corp_id, customer.id):
        relation.status = RelationStatus.active
        restored.append(relation.id)
    session.flush()
    _enqueue_refresh(session, corp_id, external_userid, source_key)
    failed = TransferFailed(corp_id, customer.id, takeover_userid, reason, tuple(restored))
    for hook in on_transfer_failed:
        hook(session, failed)
    return failed
