"""Signed links to the public H5 order-binding form: ``/h5/bind/<token>``.

The token carries the corp, the customer and an expiry, signed with HMAC-SHA256 under the
installation's secret key, so the page needs no login and a customer cannot bind orders to someone
else by editing the link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from siyu.kit.errors import Forbidden

LINK_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class LinkClaims:
    corp_id: int
    customer_id: int
    expires_at: datetime


def _signature(body: str, secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), f"h5-bind:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def make_token(corp_id: int, customer_id: int, now: datetime, secret_key: str) -> tuple[str, datetime]:
    expires_at = now + LINK_LIFETIME
    body = f"{corp_id}.{customer_id}.{int(expires_at.timestamp())}"
    return f"{body}.{_signature(body, secret_key)}", expires_at


def read_token(token: str, now: datetime, secret_key: str) -> LinkClaims:
    """The link's claims; ``Forbidden`` when forged, malformed or expired."""
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        raise Forbidden("acquisition.error.link_invalid")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _signature(body, secret_key)):
        raise Forbidden("acquisition.error.link_invalid")
    expires_at = datetime.fromtimestamp(int(parts[2]), UTC)
    if expires_at <= now:
        raise Forbidden("acquisition.error.link_expired")
    return LinkClaims(int(parts[0]), int(parts[1]), expires_at)
