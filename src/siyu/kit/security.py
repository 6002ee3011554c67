"""Passwords (argon2), API tokens, CSRF tokens and encryption of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache
from urllib.parse import urlparse

from cryptography.fernet import Fernet, InvalidToken
from pwdlib import PasswordHash

TOKEN_PREFIX = "siyu_"


@lru_cache
def _password_hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _password_hasher().verify(password, password_hash)
    except Exception:  # noqa: BLE001 — a malformed hash is simply not a match
        return False


#: A real hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH: list[str] = []


def verify_password_for_missing_user(password: str) -> None:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
    verify_password(password, _DUMMY_HASH[0])


def new_api_token() -> tuple[str, str, str]:
    """A fresh token: (the secret shown once, its SHA-256 to store, a short prefix to display)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_api_token(secret), secret[: len(TOKEN_PREFIX) + 6]


def hash_api_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def safe_redirect_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default``, so a ``?next=`` parameter cannot
    turn the login into an open redirect. Browsers read ``\\`` as ``/`` and drop tabs and line
    breaks inside URLs, so ``/\\evil.example`` or ``/<TAB>/evil.example`` lead off-site as well."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(character) < 0x20 or ord(character) == 0x7F for character in target):
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc:
        return default
    return target


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


@lru_cache
def _fernet(secret_key: str) -> Fernet:
    derived = hashlib.sha256(("siyu-secrets-at-rest:" + secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(plaintext: str, secret_key: str | None = None) -> str:
    """Encrypt a provider secret (WeCom app secret, AES key) for storage."""
    from siyu.kit.settings import get_settings

    return _fernet(secret_key or get_settings().secret_key).encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str, secret_key: str | None = None) -> str:
    from siyu.kit.settings import get_settings

    try:
        return _fernet(secret_key or get_settings().secret_key).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured SIYU_SECRET_KEY") from exc
