"""QR downloads of channel codes (segno) and the printable poster / package card.

The QR encodes the contact way's ``qr_code`` as WeCom returned it. (WeCom's ``qr_code`` is the URL of
its own QR image; a print shop may use that image directly — the encoded URL opens it.) The poster is
an SVG page (A6 proportions) with the brand's name, the code's name, the operator's text and the QR,
ready to print or to hand to a package-card printer.
"""

from __future__ import annotations

import io
from html import escape

import segno

from siyu.kit.errors import Conflict
from siyu.models.acquisition import ChannelCode


def _qr(code: ChannelCode) -> segno.QRCode:
    if not code.qr_code:
        raise Conflict("acquisition.error.qr_not_ready", field="qr_code")
    return segno.make(code.qr_code, error="m")


def png(code: ChannelCode, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    _qr(code).save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def svg(code: ChannelCode, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    _qr(code).save(buffer, kind="svg", scale=scale, border=2, xmldecl=True)
    return buffer.getvalue()


def poster(code: ChannelCode, *, brand: str, headline: str, note: str) -> str:
    """A printable SVG: brand, headline, the QR and a note (e.g. 扫码添加专属顾问，领取红包)."""
    qr_uri = _qr(code).svg_data_uri(scale=8, border=2)
    lines = [escape(line) for line in note.splitlines()[:4]]
    notes = "".join(f'<text x="300" y="{730 + 36 * i}" font-size="24" text-anchor="middle" fill="#475467">{line}</text>'
                    for i, line in enumerate(lines))
    subtitle = escape(" · ".join(p for p in (code.platform, code.shop) if p)) if code.kind == "package_card" else ""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="900" viewBox="0 0 600 900" '
        'font-family="WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif">'
        '<rect width="600" height="900" fill="#ffffff"/><rect width="600" height="140" fill="#0f6e63"/>'
        f'<text x="300" y="88" font-size="40" text-anchor="middle" fill="#ffffff">{escape(brand)}</text>'
        f'<text x="300" y="210" font-size="34" text-anchor="middle" fill="#101828">{escape(headline)}</text>'
        f'<text x="300" y="252" font-size="22" text-anchor="middle" fill="#667085">{subtitle}</text>'
        f'<image x="140" y="280" width="320" height="320" href="{qr_uri}"/>'
        f'<text x="300" y="660" font-size="26" text-anchor="middle" fill="#0f6e63">{escape(code.name)}</text>'
        f"{notes}</svg>")
