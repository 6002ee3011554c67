"""WeCom callback cryptography on siyu's side (the WXBizMsgCrypt scheme, reference §4.4).

* ``AESKey = base64decode(EncodingAESKey + "=")`` — 32 bytes, AES-256-CBC with ``IV = AESKey[:16]``;
* ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))`` in lowercase hex;
* plaintext = 16 random bytes ‖ 4-byte big-endian message length ‖ message (UTF-8) ‖ receive id;
* PKCS#7 padding to a block of **32** bytes (1..32 pad bytes), then base64.

The emulator carries its own implementation on purpose (STYLE rule 12); the published vectors and
wechatpy's ``WeChatCrypto`` keep both honest in the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK_SIZE = 32
RANDOM_PREFIX_LENGTH = 16
ENCODING_AES_KEY_LENGTH = 43
#: Callback bodies are a few kilobytes; anything far larger is not WeCom talking.
MAX_ENVELOPE_BYTES = 256 * 1024
_ALPHANUMERIC = string.ascii_letters + string.digits

REPLY_TEMPLATE = (
    "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
    "<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
)


class CallbackCryptoError(ValueError):
    """A callback failed a check. ``reason`` is a stable word stored in the callback log."""

    reason = "crypto_error"


class SignatureMismatch(CallbackCryptoError):
    reason = "bad_signature"


class DecryptionFailed(CallbackCryptoError):
    reason = "undecryptable"


class ReceiveIdMismatch(CallbackCryptoError):
    reason = "wrong_receive_id"


class MalformedEnvelope(CallbackCryptoError):
    reason = "malformed"


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """``msg_signature`` as WeCom computes it: SHA-1 over the sorted concatenation."""
    joined = "".join(sorted([token, str(timestamp), str(nonce), encrypted]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def parse_xml(text: str | bytes) -> ElementTree.Element:
    """Parse WeCom XML, refusing document types (entity expansion) and oversized input."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise MalformedEnvelope("callback body too large")
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise MalformedEnvelope("document type declarations are not accepted")
    try:
        return ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise MalformedEnvelope(f"not XML: {exc}") from exc


def envelope_encrypt_field(body: str | bytes) -> str:
    """The ``Encrypt`` text of a POSTed callback envelope."""
    root = parse_xml(body)
    encrypted = root.findtext("Encrypt")
    if not encrypted:
        raise MalformedEnvelope("the envelope has no Encrypt element")
    return encrypted.strip()


class WeComCrypto:
    """One corp's callback crypto: its Token, EncodingAESKey and the receive id (the CorpID)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
            raise ValueError("EncodingAESKey must be exactly 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        self.token = token
        self.receive_id = receive_id
        self._key = key
        self._iv = key[:16]

    # -- signatures --------------------------------------------------------------------------
    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def verify_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Raise ``SignatureMismatch`` unless ``msg_signature`` matches (compared in constant time)."""
        expected = self.sign(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode()):
            raise SignatureMismatch("msg_signature does not match")

    # -- AES -----------------------------------------------------------------------------------
    def encrypt(self, plaintext: str, random_prefix: bytes | None = None) -> str:
        """Encrypt ``plaintext`` for this receive id. ``random_prefix`` (16 bytes) only for vectors."""
        prefix = random_prefix if random_prefix is not None else "".join(
            secrets.choice(_ALPHANUMERIC) for _ in range(RANDOM_PREFIX_LENGTH)).encode()
        if len(prefix) != RANDOM_PREFIX_LENGTH:
            raise ValueError("the random prefix is 16 bytes")
        message = plaintext.encode("utf-8")
        raw = prefix + struct.pack(">I", len(message)) + message + self.receive_id.encode("utf-8")
        pad = PAD_BLOCK_SIZE - len(raw) % PAD_BLOCK_SIZE
        raw += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """Decrypt ``encrypted`` and check the receive id; the message as text."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptionFailed("not base64") from exc
        if not data or len(data) % 16:
            raise DecryptionFailed("ciphertext is not a whole number of AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        raw = decryptor.update(data) + decryptor.finalize()
        pad = raw[-1]
        if not 1 <= pad <= PAD_BLOCK_SIZE or raw[-pad:] != bytes([pad]) * pad:
            raise DecryptionFailed("bad padding")
        raw = raw[:-pad]
        if len(raw) < RANDOM_PREFIX_LENGTH + 4:
            raise DecryptionFailed("plaintext too short")
        (length,) = struct.unpack(">I", raw[RANDOM_PREFIX_LENGTH:RANDOM_PREFIX_LENGTH + 4])
        start = RANDOM_PREFIX_LENGTH + 4
        if start + length > len(raw):
            raise DecryptionFailed("message length exceeds the plaintext")
        message, receive_id = raw[start:start + length], raw[start + length:]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise ReceiveIdMismatch("the receive id is not this corp's")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecryptionFailed("message is not UTF-8") from exc

    # -- the protocol ----------------------------------------------------------------------------
    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET URL verification: the echostr plaintext to answer with."""
        self.verify_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(self, body: str | bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """A POSTed envelope → the decrypted event XML."""
        encrypted = envelope_encrypt_field(body)
        self.verify_signature(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def encrypt_message(self, plaintext: str, nonce: str, timestamp: str,
                        random_prefix: bytes | None = None) -> str:
        """An encrypted passive reply (or a test delivery): the ``<xml><Encrypt/>…`` envelope."""
        encrypted = self.encrypt(plaintext, random_prefix)
        return REPLY_TEMPLATE.format(encrypt=encrypted, signature=self.sign(timestamp, nonce, encrypted),
                                     timestamp=timestamp, nonce=nonce)
