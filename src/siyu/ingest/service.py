"""Ingest: sources and their write keys, and the durable acceptance of a request.

The request path does as little as it can while staying durable: authenticate the write key (from a
5-second in-process memory, else one indexed read), check the payload (``payload``), then INSERT the
raw batch and enqueue ``ingest.expand_batch`` in one transaction, which the edge commits before it
answers 200. Expanding a batch into events and customers is the job's work (``expansion``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.ingest import repository
from siyu.ingest.keys import MISS, SourceEntry, hash_write_key, new_write_key, remembered_keys
from siyu.ingest.payload import Accepted
from siyu.ingest.schemas import SourceCreate, SourceUpdate
from siyu.kit.clock import Clock
from siyu.kit.errors import Forbidden, NotFound, Unauthorized
from siyu.kit.jobs import enqueue
from siyu.kit.tenancy import Principal
from siyu.models.event import IngestSource

EXPAND_JOB = "ingest.expand_batch"


class InvalidWriteKey(Unauthorized):
    code = "invalid_write_key"


class SourceDisabled(Forbidden):
    code = "source_disabled"


# -- sources (console and API) ---------------------------------------------------------------------


def get_source(session: Session, principal: Principal, source_id: int) -> IngestSource:
    source = repository.get_source(session, principal, source_id)
    if source is None:
        raise NotFound("ingest.error.source_not_found")
    return source


def create_source(session: Session, principal: Principal, data: SourceCreate) -> tuple[IngestSource, str]:
    """A new enabled source; returns it with its write key, which is never retrievable again."""
    secret, key_hash, prefix = new_write_key()
    source = IngestSource(corp_id=principal.corp_id, name=data.name.strip(), kind=data.kind.value,
                          write_key_hash=key_hash, write_key_prefix=prefix, enabled=True)
    session.add(source)
    session.flush()
    return source, secret


def update_source(session: Session, principal: Principal, source_id: int, data: SourceUpdate) -> IngestSource:
    """Rename, disable or enable a source. A disabled source's key is refused at once in this process
    and within the key memory's lifetime (seconds) in every other."""
    source = get_source(session, principal, source_id)
    if data.name is not None:
        source.name = data.name.strip()
    if data.enabled is not None:
        source.enabled = data.enabled
    session.flush()
    remembered_keys.forget(source.write_key_hash)
    return source


def rotate_key(session: Session, principal: Principal, source_id: int) -> tuple[IngestSource, str]:
    """Replace a source's write key (the old one stops working); returns the new key, shown once."""
    source = get_source(session, principal, source_id)
    old_hash = source.write_key_hash
    secret, key_hash, prefix = new_write_key()
    source.write_key_hash, source.write_key_prefix = key_hash, prefix
    session.flush()
    remembered_keys.forget(old_hash)
    return source, secret


# -- the request path ------------------------------------------------------------------------------


def remembered_source(write_key: str, clock: Clock) -> SourceEntry | None | object:
    """The source of ``write_key`` if this process looked it up in the last seconds, else ``MISS``."""
    return remembered_keys.get(hash_write_key(write_key), clock)


def look_up_source(session: Session, write_key: str, clock: Clock) -> SourceEntry | None:
    """Read the source of ``write_key`` (``None``: no such key) and remember it for a few seconds."""
    key_hash = hash_write_key(write_key)
    row = repository.source_by_key_hash(session, key_hash)
    entry = SourceEntry(*row) if row else None
    remembered_keys.put(key_hash, entry, clock)
    return entry


def check_source(entry: SourceEntry | None | object) -> SourceEntry:
    """The source a request writes to, or 401 (unknown key) / 403 (disabled source)."""
    if entry is None or entry is MISS or not isinstance(entry, SourceEntry):
        raise InvalidWriteKey("ingest.error.invalid_write_key")
    if not entry.enabled:
        raise SourceDisabled("ingest.error.source_disabled")
    return entry


def accept_batch(session: Session, source: SourceEntry, accepted: Accepted, clock: Clock) -> int:
    """Store the raw batch and enqueue its expansion in the caller's transaction; returns its id.
    Once the caller commits, the events are durable: the 200 may be sent."""
    now = clock.now()
    batch_id = repository.insert_batch(session, {
        "corp_id": source.corp_id, "source_id": source.source_id, "endpoint": accepted.endpoint,
        "body": accepted.body, "event_count": accepted.message_count, "status": "received",
        "error": None, "received_at": now, "processed_at": None})
    enqueue(session, EXPAND_JOB, {"batch_id": batch_id}, corp_id=source.corp_id, clock=clock)
    return batch_id
