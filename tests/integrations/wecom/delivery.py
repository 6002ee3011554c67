"""Helpers for callback tests: a corp's WeCom connection, and deliveries encrypted the way WeCom sends
them — by wechatpy's ``WeChatCrypto``, an implementation independent of siyu's."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import xmltodict
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from siyu.kit.security import encrypt_secret
from siyu.models import Job, WeComCallback, WeComConnection

WECOM_CORP = "ww0123456789abcdef"
TOKEN = "Tok3nForTests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
_nonces = itertools.count(100001)


def connect(session, corp_id: int, secret_key: str, *, wecom_corp_id: str = WECOM_CORP, token: str = TOKEN,
            aes_key: str = AES_KEY, contact_secret: str | None = None, api_base: str | None = None,
            at=None) -> WeComConnection:
    """Store a connection for ``corp_id`` with the callback Token and EncodingAESKey encrypted."""
    connection = WeComConnection(
        corp_id=corp_id, wecom_corp_id=wecom_corp_id, callback_token_encrypted=encrypt_secret(token, secret_key),
        encoding_aes_key_encrypted=encrypt_secret(aes_key, secret_key), api_base=api_base,
        contact_secret_encrypted=encrypt_secret(contact_secret, secret_key) if contact_secret else None)
    if at is not None:
        connection.created_at = connection.updated_at = at
    session.add(connection)
    session.flush()
    return connection


@dataclass(frozen=True)
class Delivery:
    """One HTTP request as WeCom would send it."""

    params: dict[str, str]
    body: str

    def post(self, client, corp_id: int):
        return client.post(f"/wecom/callback/{corp_id}", params=self.params, content=self.body.encode(),
                           headers={"Content-Type": "text/xml"})


def encrypted(xml: str, timestamp: int, *, nonce: str | None = None, token: str = TOKEN, aes_key: str = AES_KEY,
              receive_id: str = WECOM_CORP, agent_id: str = "") -> Delivery:
    """``xml`` in WeCom's POST envelope (ToUserName, AgentID, Encrypt) with its signed query."""
    nonce = nonce or str(next(_nonces))
    reply = xmltodict.parse(WeChatCrypto(token, aes_key, receive_id).encrypt_message(xml, nonce, str(timestamp)))
    fields = reply["xml"]
    body = (f"<xml><ToUserName><![CDATA[{receive_id}]]></ToUserName><AgentID><![CDATA[{agent_id}]]></AgentID>"
            f"<Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>")
    return Delivery({"msg_signature": fields["MsgSignature"], "timestamp": str(timestamp), "nonce": nonce}, body)


def event(event_name: str, change_type: str | None, create_time: int, *, to_user: str = WECOM_CORP,
          **fields: str | int) -> str:
    """A decrypted callback as in reference §5: envelope, then the change's fields in order."""
    parts = [f"<ToUserName><![CDATA[{to_user}]]></ToUserName>", "<FromUserName><![CDATA[sys]]></FromUserName>",
             f"<CreateTime>{create_time}</CreateTime>", "<MsgType><![CDATA[event]]></MsgType>",
             f"<Event><![CDATA[{event_name}]]></Event>"]
    if change_type is not None:
        parts.append(f"<ChangeType><![CDATA[{change_type}]]></ChangeType>")
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        elif value.startswith("<"):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "\n".join(parts) + "</xml>"


def callbacks(session) -> list[WeComCallback]:
    return list(session.scalars(select(WeComCallback).order_by(WeComCallback.id)))


def job_count(session, name: str = "wecom.handle_callback") -> int:
    return session.scalar(select(func.count()).select_from(Job).where(Job.name == name))
