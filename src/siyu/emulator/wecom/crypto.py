"""WeCom callback cryptography (the WXBizMsgCrypt scheme), written independently for the emulator.

The algorithm (reference §4.4):

* ``AESKey = base64(EncodingAESKey + "=")`` (32 bytes, AES-256), ``IV = AESKey[:16]``;
* signature = lowercase hex SHA1 over the plain lexicographic sort of ``[token, timestamp, nonce, encrypt]``;
* plaintext = 16 random bytes || 4-byte big-endian length || message (UTF-8) || receive id;
* PKCS#7 padding to a 32-byte block (1..32 pad bytes), AES-256-CBC without further padding, base64.

The emulator encrypts what it sends and decrypts what a test hands it; it never shares code with the
production client (``siyu.integrations.wecom``) so a misunderstanding cannot hide in both.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK_SIZE = 32
RANDOM_PREFIX_LENGTH = 16
_ALPHANUMERIC = string.ascii_letters + string.digits


class CallbackCryptoError(ValueError):
    """A signature, padding, layout or receive-id check failed."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """SHA1 over the sorted concatenation, as WeCom computes ``msg_signature``."""
    joined = "".join(sorted([token, str(timestamp), str(nonce), encrypted]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def new_encoding_aes_key() -> str:
    """A fresh 43-character alphanumeric EncodingAESKey (what the admin console generates)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(43))


def new_callback_token() -> str:
    """A fresh callback Token (≤ 32 alphanumeric characters)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16))


def _pad(data: bytes) -> bytes:
    count = PAD_BLOCK_SIZE - (len(data) % PAD_BLOCK_SIZE)
    return data + bytes([count]) * count


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CallbackCryptoError("empty plaintext")
    count = data[-1]
    if not 1 <= count <= PAD_BLOCK_SIZE or len(data) < count:
        raise CallbackCryptoError("bad padding")
    return data[:-count]


@dataclass(frozen=True)
class DecryptedMessage:
    """The parts of a decrypted plaintext."""

    random_prefix: bytes
    message: str
    receive_id: str


class CallbackCrypto:
    """Signs, encrypts and decrypts callback payloads for one (token, EncodingAESKey, receive id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise CallbackCryptoError("EncodingAESKey must be 43 characters")
        self.token = token
        self.receive_id = receive_id
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise CallbackCryptoError("EncodingAESKey does not decode to 32 bytes")
        self.iv = self.key[:16]

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """``msg_signature`` for these values."""
        return signature(self.token, timestamp, nonce, encrypted)

    def encrypt(self, message: str, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext of ``message``; ``random_prefix`` fixes the 16 random bytes (test vectors)."""
        prefix = random_prefix if random_prefix is not None else secrets.token_hex(8).encode("ascii")
        if len(prefix) != RANDOM_PREFIX_LENGTH:
            raise CallbackCryptoError("random prefix must be 16 bytes")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()
        cipher = encryptor.update(_pad(plain)) + encryptor.finalize()
        return base64.b64encode(cipher).decode("ascii")

    def decrypt_parts(self, encrypted: str) -> DecryptedMessage:
        """Decrypt without checking the receive id."""
        try:
            cipher = base64.b64decode(encrypted)
        except ValueError as error:
            raise CallbackCryptoError("ciphertext is not base64") from error
        if not cipher or len(cipher) % 16:
            raise CallbackCryptoError("ciphertext length is not a multiple of the AES block")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).decryptor()
        plain = _unpad(decryptor.update(cipher) + decryptor.finalize())
        if len(plain) < RANDOM_PREFIX_LENGTH + 4:
            raise CallbackCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CallbackCryptoError("declared length exceeds plaintext")
        return DecryptedMessage(
            random_prefix=plain[:16],
            message=plain[20 : 20 + length].decode("utf-8"),
            receive_id=plain[20 + length :].decode("utf-8"),
        )

    def decrypt(self, encrypted: str) -> str:
        """Decrypt and check that the receive id is ours (official error -40005 otherwise)."""
        parts = self.decrypt_parts(encrypted)
        if parts.receive_id != self.receive_id:
            raise CallbackCryptoError(f"receive id {parts.receive_id!r} is not {self.receive_id!r}")
        return parts.message

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The GET URL-verification step: check the signature, return the echo plaintext."""
        if self.sign(timestamp, nonce, echostr) != msg_signature:
            raise CallbackCryptoError("signature mismatch")
        return self.decrypt(echostr)

    def decrypt_envelope(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Check the signature of a POSTed ``Encrypt`` value and decrypt it."""
        if self.sign(timestamp, nonce, encrypted) != msg_signature:
            raise CallbackCryptoError("signature mismatch")
        return self.decrypt(encrypted)

    def envelope(self, message: str, timestamp: str, nonce: str, agent_id: str = "",
                 random_prefix: bytes | None = None) -> tuple[str, str]:
        """The POST body WeCom sends and its ``msg_signature``: ``(xml, msg_signature)``."""
        encrypted = self.encrypt(message, random_prefix)
        body = (
            "<xml>"
            f"<ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{agent_id}]]></AgentID>"
            "</xml>"
        )
        return body, self.sign(timestamp, nonce, encrypted)
