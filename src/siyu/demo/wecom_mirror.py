"""Connect the seeded demo brand to the WeCom emulator.

The emulator keeps its state in memory, so at every start the demo loads WeCom's side of the brand
from siyu's database — departments, members, customers with their follow info, one contact way per
store — with secrets derived from ``SIYU_SECRET_KEY`` so the stored connection stays valid across
restarts. siyu's connection points at the mounted emulator and the emulator posts its callbacks to
siyu's callback URL; a population simulator then brings a steady flow of new customers.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Callable

import structlog
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.kit.clock import get_clock
from siyu.kit.db import Database
from siyu.kit.settings import Settings
from siyu.models import (
    Corp,
    Customer,
    Department,
    DepartmentKind,
    Identity,
    Relation,
    RelationStatus,
    Role,
    Staff,
    User,
)
from siyu.seed.generator import DEMO_CORP_SLUG

log = structlog.get_logger("siyu.demo")

#: The emulated WeCom corp id of the demo brand ("ww" + 16 hex digits, like a real one).
DEMO_WECOM_CORP_ID = "ww5869616e67756f"
#: WeCom's root department; every other department is offset so ids never collide with it.
ROOT_DEPARTMENT = 1
DEPARTMENT_OFFSET = 1000


def derived_secret(secret_key: str, purpose: str, length: int) -> str:
    """A stable alphanumeric secret for ``purpose`` (WeCom secrets and keys are [A-Za-z0-9])."""
    alphabet = string.ascii_letters + string.digits
    digest = b""
    counter = 0
    while len(digest) < length:
        digest += hmac.new(secret_key.encode(), f"{purpose}:{counter}".encode(), hashlib.sha256).digest()
        counter += 1
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:length])


def _wecom_department_id(department: Department) -> int:
    return ROOT_DEPARTMENT if department.kind == DepartmentKind.hq else DEPARTMENT_OFFSET + department.id


def connect_demo_brand(app: FastAPI, settings: Settings, database: Database, *,
                       population_per_minute: float) -> Callable[[], None] | None:
    """Mirror the brand into the emulator, store siyu's connection, start the population.
    Returns the function that stops it all."""
    from siyu.emulator.wecom.app import close_emulator, get_simulator
    from siyu.emulator.wecom.population import PopulationSimulator

    emulator_app = app.state.emulator_app
    simulator = get_simulator(emulator_app)
    # The mirror reads, then writes: on SQLite take the write lock up front (the embedded worker writes too).
    with database.session(immediate=True) as session:
        corp = session.scalars(select(Corp).where(Corp.slug == DEMO_CORP_SLUG)).one_or_none()
        if corp is None:
            log.warning("demo.no_brand", slug=DEMO_CORP_SLUG)
            return lambda: close_emulator(emulator_app)
        base = settings.public_base_url.rstrip("/")
        secrets = {purpose: derived_secret(settings.secret_key, purpose, length) for purpose, length in
                   (("contact", 43), ("address_book", 43), ("agent", 43), ("token", 24), ("aes", 43))}
        simulator.create_corp(
            DEMO_WECOM_CORP_ID, corp.name, callback_url=f"{base}/wecom/callback/{corp.id}",
            callback_token=secrets["token"], encoding_aes_key=secrets["aes"],
            contact_secret=secrets["contact"], address_book_secret=secrets["address_book"],
            agent_secret=secrets["agent"])
        counts = _mirror(session, simulator.state, corp.id)
        from siyu.demo.channel_codes import adopt_demo_codes  # issue 8: the stores' ways become channel codes

        counts["channel_codes"] = adopt_demo_codes(session, corp.id, simulator.state, DEMO_WECOM_CORP_ID)
        from siyu.demo.domains import seed_demo_domains  # after the codes: the welcome journey names one

        counts |= seed_demo_domains(session, corp.id, get_clock(), language=settings.default_language)
        _save_connection(session, corp, settings, secrets, api_base=f"{base}/wecom-emulator/cgi-bin/")
    log.info("demo.wecom_connected", corp=DEMO_WECOM_CORP_ID, **counts)
    population = PopulationSimulator(simulator, DEMO_WECOM_CORP_ID, events_per_minute=population_per_minute)
    emulator_app.state.populations[DEMO_WECOM_CORP_ID] = population
    population.start()

    def stop() -> None:
        close_emulator(emulator_app)

    return stop


def _mirror(session: Session, state, corp_id: int) -> dict[str, int]:
    """Load WeCom's side of the brand into the emulator's state."""
    from siyu.emulator.wecom.entities import ContactWay, ExternalContact, Follow, Member
    from siyu.emulator.wecom.entities import Department as WeComDepartment

    departments = list(session.scalars(select(Department).where(Department.corp_id == corp_id)))
    by_id = {department.id: department for department in departments}
    staff = list(session.scalars(select(Staff).where(Staff.corp_id == corp_id)))
    userid_of = {member.id: member.userid for member in staff}
    with state.lock:
        wecom_corp = state.corps[DEMO_WECOM_CORP_ID]
        now = state.now_int()
        for department in departments:
            wecom_id = _wecom_department_id(department)
            department.wecom_id = wecom_id
            if wecom_id == ROOT_DEPARTMENT:
                continue
            parent = by_id.get(department.parent_id)
            wecom_corp.departments[wecom_id] = WeComDepartment(
                id=wecom_id, name=department.name, parentid=_wecom_department_id(parent) if parent else 1)
        for member in staff:
            department = by_id.get(member.department_id)
            wecom_department = _wecom_department_id(department) if department else ROOT_DEPARTMENT
            wecom_corp.members[member.userid] = Member(
                userid=member.userid, name=member.name, department=[wecom_department],
                main_department=wecom_department, mobile=member.mobile or "",
                status=1 if member.status == "active" else 5)
        contacts = _external_contacts(session, corp_id)
        for external_userid, name, unionid in contacts:
            wecom_corp.customers[external_userid] = ExternalContact(
                external_userid=external_userid, name=name or "微信用户", unionid=unionid or "")
        relations = session.execute(
            select(Relation.external_userid, Relation.staff_id, Relation.added_at, Relation.state,
                   Relation.remark, Relation.add_way)
            .where(Relation.corp_id == corp_id, Relation.status == RelationStatus.active,
                   Relation.external_userid.is_not(None))
        ).all()
        for external_userid, staff_id, added_at, state_value, remark, add_way in relations:
            contact = wecom_corp.customers.get(external_userid)
            userid = userid_of.get(staff_id)
            if contact is None or userid is None:
                continue
            contact.follows[userid] = Follow(userid=userid, createtime=int(added_at.timestamp()),
                                             add_way=add_way or 1, state=state_value or "", remark=remark or "",
                                             oper_userid=external_userid)
            wecom_corp.link(external_userid, userid)
        ways = 0
        for department in departments:
            if department.kind != DepartmentKind.store:
                continue
            users = [member.userid for member in staff
                     if member.department_id == department.id and member.status == "active"][:100]
            if not users:
                continue
            config_id = hashlib.md5(f"{DEMO_WECOM_CORP_ID}:{department.id}".encode()).hexdigest()
            wecom_corp.contact_ways[config_id] = ContactWay(
                config_id=config_id, type=2, scene=2, create_time=now, remark=f"{department.name} 门店码",
                skip_verify=True, state=f"store_{department.id}", user=users,
                qr_code=f"https://wework.qpic.cn/wwpic/demo/{config_id}/0")
            ways += 1
    return {"departments": len(departments), "staff": len(staff), "customers": len(contacts),
            "relations": len(relations), "contact_ways": ways}


def _external_contacts(session: Session, corp_id: int) -> list[tuple[str, str | None, str | None]]:
    external = select(Identity.customer_id, Identity.value).where(
        Identity.corp_id == corp_id, Identity.kind == "wecom_external_userid").subquery()
    unionid = select(Identity.customer_id, Identity.value).where(
        Identity.corp_id == corp_id, Identity.kind == "unionid").subquery()
    rows = session.execute(
        select(external.c.value, Customer.name, unionid.c.value)
        .join(Customer, Customer.id == external.c.customer_id)
        .outerjoin(unionid, unionid.c.customer_id == Customer.id)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _save_connection(session: Session, corp: Corp, settings: Settings, secrets: dict[str, str], *,
                     api_base: str) -> None:
    from siyu.auth.service import principal_for_user
    from siyu.wecom import schemas, service

    admin = session.scalars(select(User).where(User.corp_id == corp.id, User.role == Role.admin)
                            .order_by(User.id)).first()
    if admin is None:
        return
    update = schemas.ConnectionUpdate(
        wecom_corp_id=DEMO_WECOM_CORP_ID, agent_id=1000002, contact_secret=secrets["contact"],
        address_book_secret=secrets["address_book"], callback_token=secrets["token"],
        encoding_aes_key=secrets["aes"], api_base=api_base)
    service.save_connection(session, principal_for_user(session, admin), update, get_clock(), settings.secret_key)
