"""siyu's callback crypto against the published vectors (reference §4.5) and wechatpy 1.8.18."""

from __future__ import annotations

import base64

import pytest
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from siyu.integrations.wecom.crypto import (
    DecryptionFailed,
    MalformedEnvelope,
    ReceiveIdMismatch,
    SignatureMismatch,
    WeComCrypto,
    parse_xml,
    signature,
)

# V1 — the official document's vector (DOC 90968).
V1_TOKEN, V1_KEY, V1_CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
V1_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
V1_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUa"
    "x5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)
V1_MESSAGE = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
)

# V3 — wechatpy's test vectors.
V3_TOKEN, V3_KEY, V3_CORP = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
V3_ECHOSTR = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
V3_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6y"
    "dJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/T"
    "ywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5"
    "t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
V3_PLAINTEXT = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
    "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
)
V3_ENCRYPTED = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesE"
    "l5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsD"
    "f03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nT"
    "YjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)

EVENT = (
    "<xml><ToUserName><![CDATA[ww0123456789abcdef]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
    "<CreateTime>1767600000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
    "<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmAbCdEf0123456789AAAA]]></ExternalUserID>"
    "<State><![CDATA[门店-上海-扫码]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>"
)
CORP, TOKEN, KEY = "ww0123456789abcdef", "Tok3nForTests", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_v1_message_signature_is_the_published_one():
    # Given the official vector's token, timestamp, nonce and Encrypt
    # When the signature is computed
    result = signature(V1_TOKEN, "1409659813", "1372623149", V1_ENCRYPT)
    # Then it is the msg_signature of the published request
    assert result == "477715d11cdb4164915debcba66cb864d751f3e6"


def test_v1_url_verification_returns_the_echo_plaintext():
    crypto = WeComCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    echo = crypto.verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", V1_ECHOSTR)
    assert echo == "1616140317555161061"


def test_v1_message_decrypts_to_the_published_xml():
    crypto = WeComCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    body = f"<xml><ToUserName><![CDATA[{V1_CORP}]]></ToUserName><Encrypt><![CDATA[{V1_ENCRYPT}]]></Encrypt></xml>"
    message = crypto.decrypt_message(body, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149")
    assert message == V1_MESSAGE
    assert len(message.encode()) == 284


def test_v1_decryption_refuses_another_receive_id():
    crypto = WeComCrypto(V1_TOKEN, V1_KEY, "wx0000000000000000")
    with pytest.raises(ReceiveIdMismatch):
        crypto.decrypt(V1_ENCRYPT)


def test_v3_url_verification_and_a_wrong_nonce():
    crypto = WeComCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    signed = ("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780")
    assert crypto.verify_url(signed[0], signed[1], "437374425", V3_ECHOSTR) == "5927782489442352469"
    with pytest.raises(SignatureMismatch):
        crypto.verify_url(signed[0], signed[1], "437374424", V3_ECHOSTR)


def test_v3_message_decrypts():
    crypto = WeComCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    body = f"<xml><Encrypt><![CDATA[{V3_ENCRYPT}]]></Encrypt></xml>"
    message = xmltodict.parse(crypto.decrypt_message(body, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
                                                     "1411525903", "461056294"))["xml"]
    assert (message["Content"], message["FromUserName"], message["AgentID"], message["MsgId"]) == (
        "test", "messense", "1", "4363689963896700987")


def test_v3_deterministic_encryption_vector():
    # Given the published random prefix, nonce and timestamp
    crypto = WeComCrypto(V3_TOKEN, V3_KEY, V3_CORP)
    # When the plaintext is encrypted into a reply envelope
    envelope = xmltodict.parse(crypto.encrypt_message(V3_PLAINTEXT, "461056294", "1411525903",
                                                      random_prefix=b"1234567890123456"))["xml"]
    # Then ciphertext and signature are byte for byte the published ones
    assert envelope["Encrypt"] == V3_ENCRYPTED
    assert envelope["MsgSignature"] == "407518b7649e86ef23978113f92d27afa9296533"
    assert (envelope["TimeStamp"], envelope["Nonce"]) == ("1411525903", "461056294")


def test_tampered_and_truncated_ciphertexts_are_refused():
    crypto = WeComCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    raw = bytearray(base64.b64decode(V1_ENCRYPT))
    raw[-1] ^= 0xFF  # the last block decrypts to garbage padding
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(base64.b64encode(bytes(raw)).decode())
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(V1_ENCRYPT[:20])
    with pytest.raises(DecryptionFailed):
        crypto.decrypt("not base64 at all!")


def test_signature_mismatch_is_detected_before_decryption():
    crypto = WeComCrypto(V1_TOKEN, V1_KEY, V1_CORP)
    body = f"<xml><Encrypt><![CDATA[{V1_ENCRYPT}]]></Encrypt></xml>"
    with pytest.raises(SignatureMismatch):
        crypto.decrypt_message(body, "0" * 40, "1409659813", "1372623149")


def test_an_encoding_aes_key_must_be_43_characters():
    with pytest.raises(ValueError, match="43"):
        WeComCrypto(V1_TOKEN, V1_KEY[:-1], V1_CORP)


def test_xml_with_a_document_type_is_refused():
    with pytest.raises(MalformedEnvelope):
        parse_xml('<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>')
    with pytest.raises(MalformedEnvelope):
        parse_xml("<xml><Encrypt>")


def test_what_siyu_encrypts_wechatpy_decrypts():
    # Given an event encrypted by siyu (Chinese text included)
    ours = WeComCrypto(TOKEN, KEY, CORP)
    envelope = ours.encrypt_message(EVENT, "918273", "1767600000")
    fields = xmltodict.parse(envelope)["xml"]
    # When wechatpy checks and decrypts it
    plain = WeChatCrypto(TOKEN, KEY, CORP).decrypt_message(envelope, fields["MsgSignature"], "1767600000", "918273")
    # Then it reads the same event
    assert plain == EVENT


def test_what_wechatpy_encrypts_siyu_decrypts():
    envelope = WeChatCrypto(TOKEN, KEY, CORP).encrypt_message(EVENT, "55511", "1767600001")
    fields = xmltodict.parse(envelope)["xml"]
    plain = WeComCrypto(TOKEN, KEY, CORP).decrypt_message(envelope, fields["MsgSignature"], "1767600001", "55511")
    assert plain == EVENT


def test_url_verification_interoperates_both_ways():
    ours, theirs = WeComCrypto(TOKEN, KEY, CORP), WeChatCrypto(TOKEN, KEY, CORP)
    echostr = ours.encrypt("8364012947561029384")
    assert theirs.check_signature(ours.sign("1767600002", "77", echostr), "1767600002", "77", echostr) \
        == "8364012947561029384"
    wechatpy_echo = xmltodict.parse(theirs.encrypt_message("1029384756", "78", "1767600003"))["xml"]
    assert ours.verify_url(wechatpy_echo["MsgSignature"], "1767600003", "78", wechatpy_echo["Encrypt"]) == "1029384756"


def test_wechatpy_refuses_what_siyu_encrypted_for_another_corp_and_with_another_token():
    envelope = WeComCrypto(TOKEN, KEY, "wwsomebodyelse").encrypt_message(EVENT, "1", "1767600004")
    fields = xmltodict.parse(envelope)["xml"]
    with pytest.raises(InvalidCorpIdException):
        WeChatCrypto(TOKEN, KEY, CORP).decrypt_message(envelope, fields["MsgSignature"], "1767600004", "1")
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto("AnotherToken", KEY, "wwsomebodyelse").decrypt_message(envelope, fields["MsgSignature"],
                                                                            "1767600004", "1")
