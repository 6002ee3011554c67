"""The WeCom / WeChat Pay adapter of the red-packet payment port: 企业红包 through the merchant API
(``mmpaymkttransfers/sendworkwxredpack`` and ``queryworkwxredpack``), XML signed with the merchant key
(MD5 of the sorted fields and ``&key=``). The base URL is the budget's ``pay_api_base`` — the emulator
in the demo and tests, ``https://api.mch.weixin.qq.com/`` in production (which also needs the
merchant's client certificate on the HTTP client and the ``workwx_sign``; not done here yet).
"""

from __future__ import annotations

import hashlib
import secrets
import xml.etree.ElementTree as ElementTree

import httpx

from siyu.kit.security import decrypt_secret
from siyu.kit.settings import get_settings
from siyu.models.red_packet import RedPacketBudget
from siyu.red_packet.payment import Payment, PaymentResult, PaymentUnknown, register_adapter

PRODUCTION_BASE = "https://api.mch.weixin.qq.com/"


def sign(fields: dict[str, str], key: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{text}&key={key}".encode()).hexdigest().upper()


def _xml(fields: dict[str, str]) -> str:
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


class WeComPayAdapter:
    def __init__(self, base_url: str, mch_id: str, key: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.mch_id, self._key, self._timeout = mch_id, key, timeout

    def _post(self, path: str, fields: dict[str, str]) -> dict[str, str]:
        fields = {**fields, "mch_id": self.mch_id, "nonce_str": secrets.token_hex(16)}
        fields["sign"] = sign(fields, self._key)
        try:
            response = httpx.post(self.base_url + path, content=_xml(fields).encode(),
                                  headers={"Content-Type": "application/xml"}, timeout=self._timeout)
        except httpx.TransportError as error:
            raise PaymentUnknown(f"{path}: {error!r}") from error
        if response.status_code >= 500:
            raise PaymentUnknown(f"{path}: HTTP {response.status_code}")
        root = ElementTree.fromstring(response.content)
        return {child.tag: (child.text or "") for child in root}

    def pay(self, payment: Payment) -> PaymentResult:
        answer = self._post("mmpaymkttransfers/sendworkwxredpack", {
            "mch_billno": payment.bill_no, "total_amount": str(payment.amount), "re_openid": payment.recipient,
            "act_name": payment.act_name, "wishing": payment.wishing})
        if answer.get("return_code") != "SUCCESS":
            return PaymentResult(paid=False, error=answer.get("return_msg") or "FAIL")
        if answer.get("result_code") != "SUCCESS":
            return PaymentResult(paid=False, error=answer.get("err_code") or "FAIL")
        return PaymentResult(paid=True, reference=answer.get("send_listid"))

    def query(self, bill_no: str) -> PaymentResult | None:
        answer = self._post("mmpaymkttransfers/queryworkwxredpack", {"mch_billno": bill_no})
        if answer.get("err_code") == "NOT_FOUND":
            return None
        if answer.get("result_code") != "SUCCESS":
            return PaymentResult(paid=False, error=answer.get("err_code") or "FAIL")
        return PaymentResult(paid=answer.get("status") in ("SENT", "RECEIVED"), reference=answer.get("detail_id"),
                             error=None if answer.get("status") in ("SENT", "RECEIVED") else answer.get("status"))


def _adapter(budget: RedPacketBudget) -> WeComPayAdapter:
    key = decrypt_secret(budget.mch_key_encrypted or "", get_settings().secret_key)
    return WeComPayAdapter(budget.pay_api_base or PRODUCTION_BASE, budget.mch_id or "", key)


register_adapter("wecom_pay", _adapter)
