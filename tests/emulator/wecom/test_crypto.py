"""The emulator's WXBizMsgCrypt against every published vector (reference §4.5) and wechatpy."""

from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from siyu.emulator.wecom.crypto import CallbackCrypto, CallbackCryptoError, signature

# V1 — official doc vector (DOC 90968).
V1_TOKEN = "QDG6eK"
V1_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
V1_CORP = "wx5823bf96d3bd56c7"
V1_ECHOSTR_QUOTED = ("P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZ"
                     "XvnaqQ%3D%3D")
V1_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZ"
    "fJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAV"
    "GUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3"
    "KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
V1_MESSAGE = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)

# V3 — wechatpy's tests/test_crypto.py.
V3_TOKEN = "123456"
V3_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
V3_CORP = "wx49f0ab532d5d035a"
V3_ECHOSTR = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
V3_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283"
    "dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPw"
    "BiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54"
    "SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp9"
    "1eBdCRxthuL0="
)
V3_PLAIN = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
    "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
)
V3_EXPECTED_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnA"
    "tObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyK"
    "QmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ"
    "39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)


def test_v1_key_and_iv_match_the_published_hex():
    crypto = CallbackCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    assert crypto.key.hex() == "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760"
    assert crypto.iv.hex() == "8d69989bbaabe67328014c194631ad07"


def test_v1_url_verification_echoes_the_plaintext():
    crypto = CallbackCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    echostr = unquote(V1_ECHOSTR_QUOTED)
    assert signature(V1_TOKEN, "1409659589", "263014780", echostr) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert crypto.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
                             echostr) == "1616140317555161061"


def test_v1_message_signature_and_decryption():
    crypto = CallbackCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    assert crypto.sign("1409659813", "1372623149", V1_ENCRYPT) == "477715d11cdb4164915debcba66cb864d751f3e6"
    parts = crypto.decrypt_parts(V1_ENCRYPT)
    assert parts.random_prefix == b"0960688932c47ef1"
    assert parts.receive_id == "wx5823bf96d3bd56c7"
    assert len(parts.message.encode()) == 284
    assert parts.message == V1_MESSAGE
    assert crypto.decrypt_envelope("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149",
                                   V1_ENCRYPT) == V1_MESSAGE


def test_v1_reencryption_with_the_same_prefix_reproduces_the_ciphertext():
    crypto = CallbackCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    assert crypto.encrypt(V1_MESSAGE, random_prefix=b"0960688932c47ef1") == V1_ENCRYPT


def test_v3_url_verification_and_a_wrong_nonce_fails():
    crypto = CallbackCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    assert crypto.verify_url("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425",
                             V3_ECHOSTR) == "5927782489442352469"
    with pytest.raises(CallbackCryptoError):
        crypto.verify_url("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", V3_ECHOSTR)


def test_v3_decryption():
    crypto = CallbackCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    message = crypto.decrypt_envelope("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294",
                                      V3_ENCRYPT)
    assert "<Content><![CDATA[test]]></Content>" in message
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in message
    assert "<AgentID>1</AgentID>" in message and "<MsgId>4363689963896700987</MsgId>" in message


def test_v3_deterministic_encryption_and_signature():
    crypto = CallbackCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    encrypted = crypto.encrypt(V3_PLAIN, random_prefix=b"1234567890123456")
    assert encrypted == V3_EXPECTED_ENCRYPT
    assert crypto.sign("1411525903", "461056294", encrypted) == "407518b7649e86ef23978113f92d27afa9296533"


def test_receive_id_mismatch_is_refused():
    crypto = CallbackCrypto(V1_TOKEN, V1_KEY, "wwsomeothercorp")
    with pytest.raises(CallbackCryptoError, match="receive id"):
        crypto.decrypt(V1_ENCRYPT)


def test_padding_fills_to_32_byte_blocks_including_a_full_block():
    crypto = CallbackCrypto(V1_TOKEN, V1_KEY, "c" * 12)
    # 16 random + 4 length + 0 message + 12 receive id = 32 bytes: already aligned → a full pad block.
    assert len(base64.b64decode(crypto.encrypt(""))) == 64
    assert crypto.decrypt(crypto.encrypt("")) == ""


def test_emulator_envelope_is_decrypted_by_wechatpy():
    ours = CallbackCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    body, msg_signature = ours.envelope("<xml><Event><![CDATA[测试]]></Event></xml>", "1700000000", "42")
    theirs = WeChatCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    assert theirs.decrypt_message(body, msg_signature, "1700000000", "42") == \
        "<xml><Event><![CDATA[测试]]></Event></xml>"
    with pytest.raises(InvalidSignatureException):
        theirs.decrypt_message(body, msg_signature, "1700000001", "42")


def test_wechatpy_encryption_is_decrypted_by_the_emulator():
    theirs = WeChatCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    reply = theirs.encrypt_message("<xml><Content>你好</Content></xml>", "998877", "1700000000")
    parsed = xmltodict.parse(reply)["xml"]
    ours = CallbackCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    assert ours.decrypt_envelope(parsed["MsgSignature"], parsed["TimeStamp"], parsed["Nonce"],
                                 parsed["Encrypt"]) == "<xml><Content>你好</Content></xml>"
    echostr = ours.encrypt("5927782489442352469")
    echo = theirs.check_signature(ours.sign("1", "2", echostr), "1", "2", echostr)
    assert echo in ("5927782489442352469", b"5927782489442352469")
