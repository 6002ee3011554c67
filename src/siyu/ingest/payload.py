"""Reading an ingest request the way Segment's tracking API does: the body (gzip or not), its size
limits, the JSON, and the shape of every message — before anything is stored, so a refused request
leaves no trace and an accepted one can always be expanded later.

Limits: 500 KB for a request (after decompression) and 32 KB for one message, measured as compact
UTF-8 JSON — never more than what the SDKs measure, so nothing a client accepts is refused here.
Every refusal is a 400 whose ``field`` names the place (``batch[3].event``) and whose ``params`` carry
the limit and, inside a batch, the message's ``index``."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from siyu.kit.errors import SiyuError

EVENT_LIMIT = 32 * 1024
BATCH_LIMIT = 500 * 1024
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
ENDPOINTS = ("batch", *MESSAGE_TYPES)
#: column widths of ``event`` (and ``identity.value``): longer values are refused at the door
MAX_LENGTHS = {"messageId": 100, "userId": 128, "anonymousId": 128, "previousId": 128, "groupId": 128,
               "event": 200, "name": 200, "category": 200}
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
_TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt")


class PayloadTooLarge(SiyuError):
    status_code = 400
    code = "payload_too_large"


class MalformedPayload(SiyuError):
    status_code = 400
    code = "malformed_payload"


class InvalidMessage(SiyuError):
    status_code = 400
    code = "invalid_message"


def check_declared_length(content_length: str | None) -> None:
    """Refuse at once a body announced larger than a batch may be (before reading it)."""
    if content_length and content_length.isdigit() and int(content_length) > BATCH_LIMIT:
        raise PayloadTooLarge("ingest.error.batch_too_large", field="body", limit=BATCH_LIMIT,
                              size=int(content_length))


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    """The JSON bytes of a request: gunzipped when ``Content-Encoding: gzip``, never more than
    ``BATCH_LIMIT`` of them (a small gzip bomb must not fill memory)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        body = raw
    elif encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(raw, BATCH_LIMIT + 1)
        except zlib.error as exc:
            raise MalformedPayload("ingest.error.bad_gzip", field="body") from exc
        if len(body) <= BATCH_LIMIT and not inflater.eof:
            raise MalformedPayload("ingest.error.bad_gzip", field="body")
    else:
        raise MalformedPayload("ingest.error.unsupported_encoding", field="Content-Encoding",
                               encoding=encoding[:32])
    if len(body) > BATCH_LIMIT:
        raise PayloadTooLarge("ingest.error.batch_too_large", field="body", limit=BATCH_LIMIT,
                              **({"size": len(body)} if encoding == "identity" else {}))
    return body


def parse_document(body: bytes) -> dict[str, Any]:
    """The request's JSON object."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        raise MalformedPayload("ingest.error.malformed_json", field="body", reason=reason,
                               position=position) from exc
    if not isinstance(document, dict):
        raise MalformedPayload("ingest.error.not_an_object", field="body")
    return document


def write_key_in_body(document: dict[str, Any]) -> str | None:
    key = document.get("writeKey")
    return key if isinstance(key, str) and key else None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time as aware UTC (a time without offset is read as UTC); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def identifier(value: Any) -> str | None:
    """An id as the SDKs send it (a string, or a number they stringify); None when absent or blank."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def encoded_size(message: dict[str, Any]) -> int:
    return len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Accepted:
    """A request that passed every check: what to store and how many messages it carries."""

    endpoint: str
    body: bytes
    message_count: int


def messages_of(endpoint: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a request (already validated): the batch items, or the body itself."""
    if endpoint == "batch":
        return document["batch"]
    return [document]


def _location(index: int | None, name: str | None = None) -> tuple[str, dict[str, int]]:
    base = f"batch[{index}]" if index is not None else ""
    field = f"{base}.{name}" if base and name else (name or base or "body")
    return field, ({"index": index} if index is not None else {})


def _refuse(key: str, index: int | None, name: str | None = None, **params: Any) -> InvalidMessage:
    field, where = _location(index, name)
    return InvalidMessage(key, field=field, **where, **params)


def validate_message(message: Any, index: int | None, endpoint_type: str | None) -> None:
    """Refuse a message that the expansion job could not store: wrong types, a missing id, a missing
    type-specific field (``event`` of a track, ``groupId`` of a group, ``previousId`` of an alias),
    an unreadable time or a value longer than its column."""
    if not isinstance(message, dict):
        raise _refuse("ingest.error.message_not_object", index)
    kind = endpoint_type or message.get("type")
    if kind is None:
        raise _refuse("ingest.error.missing_field", index, "type")
    if kind not in MESSAGE_TYPES:
        raise _refuse("ingest.error.unknown_type", index, "type", types=", ".join(MESSAGE_TYPES))
    for name, limit in MAX_LENGTHS.items():
        value = message.get(name)
        if value is None:
            continue
        if name in ("event", "name", "category"):
            if not isinstance(value, str):
                raise _refuse("ingest.error.not_a_string", index, name)
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _refuse("ingest.error.not_an_id", index, name)
        if len(str(value)) > limit:
            raise _refuse("ingest.error.too_long", index, name, limit=limit)
    for name in _OBJECT_FIELDS:
        if message.get(name) is not None and not isinstance(message[name], dict):
            raise _refuse("ingest.error.field_not_object", index, name)
    for name in _TIME_FIELDS:
        if message.get(name) is not None and parse_time(message[name]) is None:
            raise _refuse("ingest.error.bad_time", index, name)
    if kind == "alias":
        for name in ("previousId", "userId"):
            if identifier(message.get(name)) is None:
                raise _refuse("ingest.error.missing_field", index, name)
        return
    if identifier(message.get("userId")) is None and identifier(message.get("anonymousId")) is None:
        raise _refuse("ingest.error.missing_identity", index, "userId")
    if kind == "track" and not (isinstance(message.get("event"), str) and message["event"].strip()):
        raise _refuse("ingest.error.missing_field", index, "event")
    if kind == "group" and identifier(message.get("groupId")) is None:
        raise _refuse("ingest.error.missing_field", index, "groupId")


#: ``repr`` (C, fast) of a message is never more than this much shorter than its JSON: JSON spells
#: a control character in 6 bytes (\u0000) where ``repr`` needs 4 (\x00); everything else is as long.
_REPR_SLACK = 1.5


def _check_sizes(messages: list[Any], body_size: int, single: bool) -> None:
    # A body within the event limit cannot hold a message above it: skip re-encoding on the hot path.
    if body_size <= EVENT_LIMIT:
        return
    for index, message in enumerate(messages):
        content = {k: v for k, v in message.items() if k != "writeKey"} if single else message
        if len(repr(content).encode()) * _REPR_SLACK <= EVENT_LIMIT:
            continue  # far below the limit: the exact JSON size is not needed
        size = encoded_size(content)
        if size > EVENT_LIMIT:
            field, where = _location(None if single else index)
            raise PayloadTooLarge("ingest.error.event_too_large", field=field, limit=EVENT_LIMIT, size=size,
                                  **where)


def check_document(endpoint: str, document: dict[str, Any], body_size: int) -> int:
    """Validate a request of ``endpoint``; returns how many messages it carries."""
    common_time = document.get("sentAt")
    if common_time is not None and parse_time(common_time) is None:
        raise _refuse("ingest.error.bad_time", None, "sentAt")
    if endpoint != "batch":
        validate_message(document, None, endpoint)
        _check_sizes([document], body_size, single=True)
        return 1
    batch = document.get("batch")
    if batch is None:
        raise _refuse("ingest.error.missing_field", None, "batch")
    if not isinstance(batch, list) or not batch:
        raise _refuse("ingest.error.empty_batch", None, "batch")
    for name in ("context", "integrations"):
        if document.get(name) is not None and not isinstance(document[name], dict):
            raise _refuse("ingest.error.field_not_object", None, name)
    for index, message in enumerate(batch):
        validate_message(message, index, None)
    _check_sizes(batch, body_size, single=False)
    return len(batch)


def stored_body(document: dict[str, Any], body: bytes) -> bytes:
    """The body to keep: as received, less the write key (a secret is never stored in clear)."""
    if "writeKey" not in document:
        return body
    kept = {key: value for key, value in document.items() if key != "writeKey"}
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()


def accept(endpoint: str, document: dict[str, Any], body: bytes) -> Accepted:
    """Check a parsed request of ``endpoint``; the ``Accepted`` to store, or a 400 ``SiyuError``."""
    count = check_document(endpoint, document, len(body))
    return Accepted(endpoint, stored_body(document, body), count)
