"""Write keys: how they are made and hashed, and the short-lived in-process memory of which source a
key belongs to, so the ingest hot path does not read ``ingest_source`` on every request.

The database stays the truth: an entry lives ``ttl_seconds`` (5 s), so a source disabled by another
process is refused within seconds; a source disabled in this process is forgotten at once."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
from dataclasses import dataclass

from siyu.kit.clock import Clock

WRITE_KEY_PREFIX = "sk_"
#: characters of the key kept in clear to tell keys apart in the console
DISPLAY_PREFIX_LENGTH = 10


def new_write_key() -> tuple[str, str, str]:
    """A fresh key: (the secret shown once, its SHA-256 to store, the prefix to display)."""
    secret = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
    return secret, hash_write_key(secret), secret[:DISPLAY_PREFIX_LENGTH]


def hash_write_key(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def write_key_from_authorization(header: str | None) -> str | None:
    """The key of ``Authorization: Basic base64("<key>:")`` (the SDKs' form); a key sent as the
    password with an empty user name is accepted too."""
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user or password or None


@dataclass(frozen=True)
class SourceEntry:
    """What the hot path needs to know about the source behind a key."""

    source_id: int
    corp_id: int
    enabled: bool


_MISS = object()


class WriteKeyCache:
    """key hash → ``SourceEntry`` (or ``None`` for an unknown key), each for ``ttl_seconds``."""

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, SourceEntry | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str, clock: Clock) -> SourceEntry | None | object:
        """The remembered entry, or ``MISS`` when there is none or it expired."""
        found = self._entries.get(key_hash)
        if found is None or found[0] <= clock.monotonic_seconds():
            return _MISS
        return found[1]

    def put(self, key_hash: str, entry: SourceEntry | None, clock: Clock) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                # Unknown keys are remembered too (a misconfigured client retries a lot); a flood of
                # random keys must not grow memory without bound.
                self._entries.clear()
            self._entries[key_hash] = (clock.monotonic_seconds() + self.ttl_seconds, entry)

    def forget(self, key_hash: str) -> None:
        with self._lock:
            self._entries.pop(key_hash, None)


MISS = _MISS

#: The process's memory of write keys (shared by every app and thread of the process).
remembered_keys = WriteKeyCache()
