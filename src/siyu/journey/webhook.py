"""Delivering a journey's webhook calls: outbox messages of provider ``journey_webhook``.

Each call is a JSON POST signed with the node's secret: ``X-Siyu-Timestamp`` and
``X-Siyu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``, plus ``Idempotency-Key`` (the
same on every retry, so the receiver can drop repeats). 2xx is delivered; 408, 429, 5xx and network
errors are retried by the outbox with backoff; any other status refuses the call at once; a timeout
after the request was sent is an unknown outcome, resent after the backoff with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from typing import Any

import httpx
from sqlalchemy import select

from siyu.journey.actions import WEBHOOK_PROVIDER
from siyu.kit.jobs import JobContext
from siyu.kit.outbox import Deliverer, ProviderOutcomeUnknown, ProviderRefused, ProviderRetryable, register_deliverer
from siyu.kit.security import decrypt_secret
from siyu.models.job import OutboxMessage
from siyu.models.journey import JourneyVersion

SEALED_PREFIX = "sealed:"
_http: httpx.Client | None = None
_lock = threading.Lock()


def _client() -> httpx.Client:
    global _http
    with _lock:
        if _http is None:
            _http = httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
        return _http


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def open_secret(stored: str) -> str:
    return decrypt_secret(stored[len(SEALED_PREFIX):]) if stored.startswith(SEALED_PREFIX) else stored


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload
    definition = ctx.session.scalar(select(JourneyVersion.definition).where(
        JourneyVersion.id == payload["version_id"]))
    node = next((n for n in (definition or {}).get("nodes", []) if n.get("id") == payload["node"]), None)
    if node is None:
        raise ProviderRefused(f"webhook node {payload['node']!r} not found in its journey version")
    body = json.dumps(payload["body"], ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(ctx.clock.now().timestamp()))
    headers = {"Content-Type": "application/json", "X-Siyu-Timestamp": timestamp,
               "X-Siyu-Signature": sign(open_secret(node["secret"]), timestamp, body),
               "Idempotency-Key": message.idempotency_key}
    try:
        response = _client().post(node["url"], content=body, headers=headers)
    except httpx.ReadTimeout as exc:
        raise ProviderOutcomeUnknown(f"no answer from {node['url']}: {exc!r}") from exc
    except httpx.HTTPError as exc:
        raise ProviderRetryable(f"{node['url']}: {exc!r}") from exc
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise ProviderRetryable(f"{node['url']} answered {response.status_code}")
    if response.status_code >= 300:
        raise ProviderRefused(f"{node['url']} answered {response.status_code}: {response.text[:200]}")
    return {"status": response.status_code}


register_deliverer(WEBHOOK_PROVIDER, Deliverer(deliver=deliver))
