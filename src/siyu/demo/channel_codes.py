"""Channel codes of the demo brand, so the console's acquisition pages fill up while the population
simulator scans.

Every store's contact way that the mirror loads into the emulator becomes a channel code (its
``state`` is the way's); two package cards (Taobao, JD) are added once. The emulator forgets its state
at every start, so the contact ways of siyu's other live codes are put back into it with their
current rotation — as the real WeCom would have kept them.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.acquisition import service as acquisition
from siyu.kit.clock import get_clock
from siyu.kit.tenancy import Principal
from siyu.models import ChannelCode, Department, DepartmentKind, Role, Staff, StaffStatus

WELCOME = "您好，欢迎来到{name}！发送订单号和收货手机后四位，领取专属红包～"
PACKAGE_CARDS = (("淘宝包裹卡", "taobao", "官方旗舰店"), ("京东包裹卡", "jd", "京东自营店"))


def _principal(corp_id: int) -> Principal:
    return Principal(user_id=0, corp_id=corp_id, role=Role.admin, username="demo")


def adopt_demo_codes(session: Session, corp_id: int, state, wecom_corp_id: str) -> int:
    """Create the demo's codes if missing and load their contact ways into the emulator's corp.
    Returns how many codes are live."""
    with state.lock:
        return _adopt(session, corp_id, state, state.corps[wecom_corp_id])


def _adopt(session: Session, corp_id: int, state, wecom_corp) -> int:
    from siyu.emulator.wecom.entities import ContactWay

    clock = get_clock()
    principal = _principal(corp_id)
    known = {code.state: code for code in session.scalars(select(ChannelCode).where(ChannelCode.corp_id == corp_id))}
    stores = {f"store_{d.id}": d for d in session.scalars(select(Department).where(
        Department.corp_id == corp_id, Department.kind == DepartmentKind.store))}
    staff_by_userid = {s.userid: s for s in session.scalars(select(Staff).where(
        Staff.corp_id == corp_id, Staff.status == StaffStatus.active))}
    for way in list(wecom_corp.contact_ways.values()):
        store = stores.get(way.state)
        if store is None or way.state in known:
            continue
        members = [acquisition.MemberDraft(staff_id=staff_by_userid[u].id) for u in way.user if u in staff_by_userid]
        if not members:
            continue
        code = acquisition.create_code(session, principal, clock, acquisition.CodeDraft(
            name=f"{store.name}门店码", members=members, welcome_text=WELCOME.format(name=store.name),
            remark_template="{code}{date}"))
        code.state, code.config_id, code.qr_code, code.status = way.state, way.config_id, way.qr_code, "active"
        known[code.state] = code
    for name, platform, shop in PACKAGE_CARDS:
        if any(c.kind == "package_card" and c.platform == platform for c in known.values()):
            continue
        members = [acquisition.MemberDraft(staff_id=s.id, weight=w) for s, w in
                   zip(list(staff_by_userid.values())[:3], (3, 2, 1), strict=False)]
        if not members:
            break
        code = acquisition.create_code(session, principal, clock, acquisition.CodeDraft(
            name=name, members=members, routing="weighted", kind="package_card", platform=platform, shop=shop,
            card_cost=Decimal("0.35"), welcome_text=WELCOME.format(name=shop)))
        code.config_id = hashlib.md5(f"{corp_id}:{code.state}".encode()).hexdigest()
        code.qr_code, code.status = f"https://wework.qpic.cn/wwpic/demo/{code.config_id}/0", "active"
        known[code.state] = code
    session.flush()
    live = [code for code in known.values() if code.status == "active" and code.config_id]
    for code in live:
        if code.config_id not in wecom_corp.contact_ways:
            wecom_corp.contact_ways[code.config_id] = ContactWay(
                config_id=code.config_id, type=2, scene=2, create_time=state.now_int(), remark=code.name[:30],
                skip_verify=code.skip_verify, state=code.state, user=list(code.rotation), qr_code=code.qr_code or "")
    return len(live)
