"""WeCom red packets (企业红包) as the merchant payment API serves them: ``sendworkwxredpack`` and
``queryworkwxredpack`` under ``/mmpaymkttransfers/`` — XML in, XML out, signed with the merchant key.

This follows WeChat Pay's v2 conventions, which the red-packet API uses: every field of the body
except ``sign`` sorted by name, ``k=v`` joined with ``&``, ``&key=<merchant key>`` appended, MD5,
upper-case hex. ``mch_billno`` is the merchant's idempotency key: sending a bill number again returns
the first result instead of paying twice. Business failures answer ``return_code`` SUCCESS with
``result_code`` FAIL and an ``err_code`` (``SIGNERROR``, ``NOTENOUGH`` when the merchant's balance is
short, ``PARAM_ERROR``, ``NOT_FOUND`` for an unknown bill). A simulated merchant is opened with
``POST /simulate/payment/merchants``; ``GET /simulate/payment/merchants/{mch_id}`` shows its balance
and the packets sent.

Not simulated: the ``workwx_sign`` second signature, certificates (the real API needs the merchant's
client certificate) and the conversion of external contacts to openids.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from siyu.emulator.wecom.errors import SimulationError

router = APIRouter()
DEFAULT_BALANCE = 1_000_000  # fen
MAX_AMOUNT = 20_000


@dataclass
class Merchant:
    mch_id: str
    key: str
    balance: int
    #: mch_billno → the packet
    packets: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class PaymentState:
    merchants: dict[str, Merchant] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _payments(request: Request) -> PaymentState:
    state = getattr(request.app.state, "payments", None)
    if state is None:
        state = request.app.state.payments = PaymentState()
    return state


def sign(fields: dict[str, str], key: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{text}&key={key}".encode()).hexdigest().upper()


def _xml(fields: dict[str, Any]) -> Response:
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return Response(f"<xml>{body}</xml>", media_type="application/xml")


def _fail(code: str, text: str, **extra: Any) -> Response:
    return _xml({"return_code": "SUCCESS", "return_msg": "OK", "result_code": "FAIL", "err_code": code,
                 "err_code_des": text, **extra})


def _parse(raw: bytes) -> dict[str, str] | None:
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        return None
    return {child.tag: (child.text or "") for child in root}


def _authenticated(state: PaymentState, fields: dict[str, str]) -> Merchant | Response:
    merchant = state.merchants.get(fields.get("mch_id", ""))
    if merchant is None:
        return _fail("PARAM_ERROR", "mch_id unknown")
    if fields.get("sign") != sign(fields, merchant.key):
        return _fail("SIGNERROR", "signature invalid")
    return merchant


async def _signed(request: Request, handle: Callable[[Merchant, dict[str, str]], Response]) -> Response:
    """Parse the XML body, check the merchant's signature, then ``handle`` it under the lock."""
    fields = _parse(await request.body())
    if fields is None:
        return _xml({"return_code": "FAIL", "return_msg": "XML format error"})
    state = _payments(request)
    with state.lock:
        merchant = _authenticated(state, fields)
        if isinstance(merchant, Response):
            return merchant
        return handle(merchant, fields)


@router.post("/mmpaymkttransfers/sendworkwxredpack")
async def send_red_packet(request: Request) -> Response:
    return await _signed(request, _send)


def _send(merchant: Merchant, fields: dict[str, str]) -> Response:
    bill_no = fields.get("mch_billno", "")
    if not bill_no or len(bill_no) > 28:
        return _fail("PARAM_ERROR", "mch_billno is required, at most 28 characters")
    earlier = merchant.packets.get(bill_no)
    if earlier is not None:
        return _xml({"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_billno": bill_no,
                     "send_listid": earlier["send_listid"], "total_amount": earlier["total_amount"]})
    try:
        amount = int(fields.get("total_amount", ""))
    except ValueError:
        return _fail("PARAM_ERROR", "total_amount must be an integer (fen)")
    if not 1 <= amount <= MAX_AMOUNT or not fields.get("re_openid"):
        return _fail("PARAM_ERROR", f"total_amount is 1..{MAX_AMOUNT} fen and re_openid is required")
    if amount > merchant.balance:
        return _fail("NOTENOUGH", "balance not enough", mch_billno=bill_no)
    merchant.balance -= amount
    packet = {"mch_billno": bill_no, "send_listid": secrets.token_hex(14), "total_amount": amount,
              "re_openid": fields["re_openid"], "status": "SENT", "act_name": fields.get("act_name", "")}
    merchant.packets[bill_no] = packet
    return _xml({"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_billno": bill_no,
                 "send_listid": packet["send_listid"], "total_amount": amount})


@router.post("/mmpaymkttransfers/queryworkwxredpack")
async def query_red_packet(request: Request) -> Response:
    return await _signed(request, _query)


def _query(merchant: Merchant, fields: dict[str, str]) -> Response:
    packet = merchant.packets.get(fields.get("mch_billno", ""))
    if packet is None:
        return _fail("NOT_FOUND", "no such bill")
    return _xml({"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_billno": packet["mch_billno"],
                 "detail_id": packet["send_listid"], "status": packet["status"],
                 "total_amount": packet["total_amount"]})


@router.post("/simulate/payment/merchants")
def open_merchant(request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    state = _payments(request)
    balance = int(body.get("balance", DEFAULT_BALANCE))
    if balance < 0:
        raise SimulationError(422, "balance must not be negative")
    with state.lock:
        merchant = Merchant(mch_id=str(body.get("mch_id") or f"1{secrets.randbelow(10**9):09d}"),
                            key=secrets.token_hex(16), balance=balance)
        state.merchants[merchant.mch_id] = merchant
        return {"mch_id": merchant.mch_id, "key": merchant.key, "balance": merchant.balance}


@router.get("/simulate/payment/merchants/{mch_id}")
def merchant_status(mch_id: str, request: Request) -> dict:
    state = _payments(request)
    with state.lock:
        merchant = state.merchants.get(mch_id)
        if merchant is None:
            raise SimulationError(404, f"no merchant {mch_id!r}")
        return {"mch_id": mch_id, "balance": merchant.balance, "packets": list(merchant.packets.values())}
