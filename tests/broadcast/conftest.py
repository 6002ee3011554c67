"""A brand whose WeCom side lives in the emulator: corp A of ``make_brand`` (three staff, six served
customers, two walk-ins) mirrored into the emulator corp and connected to it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from siyu.emulator.wecom.entities import ExternalContact, Follow, Member
from siyu.kit.jobs import Worker
from siyu.models import Corp, Relation, Staff
from siyu.policy.settings import save
from tests.factories import BrandFixture
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401
from tests.integrations.wecom.conftest import WeComEmulator, wecom_emulator, wecom_emulator_factory  # noqa: F401


@dataclass
class WiredBrand:
    brand: BrandFixture
    emulator: WeComEmulator
    #: external_userid per siyu customer id (served customers only)
    external: dict[int, str]
    userid: dict[int, str]

    @property
    def corp_id(self) -> int:
        return self.brand.corp_id

    @property
    def wecom_corp(self):
        return self.emulator.state.corps[self.emulator.corp_id]


def mirror(session, emulator: WeComEmulator, corp_id: int) -> tuple[dict[int, str], dict[int, str]]:
    """WeCom's side of siyu's corp: members for staff, customers with follows for relations."""
    staff = {s.id: s.userid for s in session.scalars(select(Staff).where(Staff.corp_id == corp_id))}
    external: dict[int, str] = {}
    with emulator.state.lock:
        corp = emulator.state.corps[emulator.corp_id]
        for userid in staff.values():
            corp.members[userid] = Member(userid=userid, name=userid, department=[1], main_department=1)
        for relation in session.scalars(select(Relation).where(Relation.corp_id == corp_id)):
            contact = corp.customers.setdefault(relation.external_userid, ExternalContact(
                external_userid=relation.external_userid, name=f"客户{relation.customer_id}"))
            userid = staff[relation.staff_id]
            contact.follows[userid] = Follow(userid=userid, createtime=int(relation.added_at.timestamp()))
            corp.link(relation.external_userid, userid)
            external[relation.customer_id] = relation.external_userid
    return external, staff


@pytest.fixture
def wired(database, brand, wecom_emulator, settings) -> WiredBrand:
    corp_a = brand[0]
    with database.session() as session:
        corp = session.get(Corp, corp_a.corp_id)
        wecom_emulator.connect(session, corp=corp, secret_key=settings.secret_key)
        external, userid = mirror(session, wecom_emulator, corp_a.corp_id)
        save(session, corp_a.corp_id, wecom_quota_rule="daily", marketing_cap=5, marketing_period="week",
             moments_per_day=3, quiet_start="22:00", quiet_end="08:00", opt_out_keywords=["退订"],
             blacklist_tag_id=None, deferral_days=7)
    wecom_emulator.state.corps[wecom_emulator.corp_id].quota_rule = "daily"
    return WiredBrand(corp_a, wecom_emulator, external, userid)


@pytest.fixture
def worker(database, clock, process_secret_key) -> Worker:
    from siyu.kit.jobs import load_handler_modules

    load_handler_modules()
    return Worker(database, clock=clock, worker_id="broadcast-worker", lease_seconds=30)


def drain(worker: Worker, clock=None, rounds: int = 60) -> int:
    """Run due jobs until none is left, letting ``clock`` (if given) run through short backoffs
    (the write-ahead delivery of WeCom tasks waits one 2 s backoff); returns how many ran."""
    ran, idle = 0, 0
    for _ in range(rounds):
        claimed = worker.run_once()
        ran += claimed
        if claimed:
            idle = 0
            continue
        idle += 1
        if clock is None or idle > 3:
            return ran
        clock.advance(2)
    raise AssertionError("jobs kept coming")
