"""Rows of customers, their identities and their WeCom relations to shopping guides, per chunk.

Each chunk draws from its own ``random.Random`` seeded by (seed, phase, chunk), so a chunk's rows
do not depend on how other chunks were generated and the whole brand is reproducible for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from siyu.models import IdentityKind, RelationStatus
from siyu.seed.brand import BrandLayout
from siyu.seed.names import NameSource, PhoneNumbers, external_userid, member_number, unionid
from siyu.seed.plan import CustomerPlan
from siyu.seed.scales import Window

CUSTOMER_COLUMNS = ("id", "corp_id", "name", "gender", "phone", "city", "birthday", "home_store_id",
                    "first_seen_at", "created_at", "updated_at")
IDENTITY_COLUMNS = ("corp_id", "customer_id", "kind", "value", "created_at", "updated_at")
RELATION_COLUMNS = ("corp_id", "staff_id", "customer_id", "external_userid", "remark", "add_way", "state",
                    "status", "added_at", "ended_at", "created_at", "updated_at")

#: WeCom ``add_way`` codes: 1 scanned a QR code, 2 searched the mobile number, 3 shared card,
#: 4 group chat, 16 acquisition link; weighted by how stores actually gain friends.
ADD_WAYS = (1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 16, 16)
#: WeCom ``add_way`` 202: assigned by an administrator (离职继承 hands customers to a colleague).
ADD_WAY_ASSIGNED = 202
ONLINE_STATES = ("mini_order", "live_room", "mp_menu", "fission")
#: share of dormant customers who delete their shopping guide (lost customers), and of active ones
LOST_WHEN_DORMANT = 0.45
LOST_WHEN_ACTIVE = 0.03
DELETED_BY_STAFF = 0.005


class PopulationBuilder:
    """Builds the rows of customers ``start … stop − 1``, one table at a time so each table's
    generation time can be measured on its own."""

    def __init__(self, *, corp_id: int, seed: int, plan: CustomerPlan, brand: BrandLayout, window: Window,
                 names: NameSource, phones: PhoneNumbers) -> None:
        self.corp_id, self.seed, self.plan, self.brand = corp_id, seed, plan, brand
        self.window, self.names, self.phones = window, names, phones
        self.days = window.days
        self.origin = window.start_utc

    def moment(self, day: int, rng: random.Random, *, first_hour: int = 8, last_hour: int = 22) -> datetime:
        """A local daytime moment on window day ``day`` (negative days lie before the window)."""
        seconds = rng.randrange(first_hour * 3600, (last_hour + 1) * 3600)
        return self.origin + timedelta(days=day, seconds=seconds)

    def _rng(self, table: str, chunk: int) -> random.Random:
        return random.Random(f"{self.seed}:{table}:{chunk}")

    def customers(self, chunk: int, start: int, ids: list[int]) -> list[tuple]:
        """Customer rows (``CUSTOMER_COLUMNS``) for the customers given database ``ids``."""
        rng = self._rng("customer", chunk)
        plan, stores, corp_id, end_year = self.plan, self.brand.stores, self.corp_id, self.window.end.year
        rows = []
        for offset, customer_id in enumerate(ids):
            index = start + offset
            store = stores[plan.store[index]]
            name, gender = self.names.person(rng)
            first_seen = self.moment(plan.joined[index], rng)
            birthday = None
            if rng.random() < 0.8:
                age = min(70, max(18, int(rng.gauss(36, 10))))
                birthday = datetime(end_year - age, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365))
            phone = self.phones.customer(index)
            rows.append((customer_id, corp_id, name, gender, phone, store.city, birthday, store.id,
                         first_seen, first_seen, first_seen))
        return rows

    def identities(self, chunk: int, start: int,
                   customers: list[tuple]) -> tuple[list[tuple], list[str | None]]:
        """Identity rows of ``customers`` and, aligned with them, each one's WeCom external userid."""
        rng = self._rng("identity", chunk)
        plan, corp_id = self.plan, self.corp_id
        rows: list[tuple] = []
        wecom_ids: list[str | None] = []
        for offset, customer in enumerate(customers):
            index = start + offset
            customer_id, phone, first_seen = customer[0], customer[4], customer[8]
            rows.append((corp_id, customer_id, IdentityKind.phone.value, phone, first_seen, first_seen))
            if rng.random() < 0.55:
                rows.append((corp_id, customer_id, IdentityKind.member_no.value, member_number(index),
                             first_seen, first_seen))
            has_wecom = plan.guide[index] >= 0
            if rng.random() < (0.45 if has_wecom else 0.08):
                rows.append((corp_id, customer_id, IdentityKind.unionid.value, unionid(rng), first_seen,
                             first_seen))
            wecom_id = None
            if has_wecom:
                wecom_id = external_userid(rng)
                rows.append((corp_id, customer_id, IdentityKind.wecom_external_userid.value, wecom_id,
                             first_seen, first_seen))
            wecom_ids.append(wecom_id)
        return rows, wecom_ids

    def relations(self, chunk: int, start: int, customers: list[tuple],
                  wecom_ids: list[str | None]) -> list[tuple]:
        """Relation rows between ``customers`` and their shopping guides."""
        rng = self._rng("relation", chunk)
        stores = self.brand.stores
        rows: list[tuple] = []
        for offset, (customer, wecom_id) in enumerate(zip(customers, wecom_ids, strict=True)):
            if wecom_id is None:
                continue
            index = start + offset
            name, phone = customer[2], customer[4]
            remark = f"{name} {phone[-4:]}" if rng.random() < 0.6 else None
            store_code = stores[self.plan.store[index]].code
            rows.extend(self._relations(rng, index, customer[0], wecom_id, remark, store_code))
        return rows

    def _relations(self, rng: random.Random, index: int, customer_id: int, wecom_id: str, remark: str | None,
                   store_code: str) -> Iterator[tuple]:
        plan, brand, days = self.plan, self.brand, self.days
        added_day = min(days - 1, plan.joined[index] + int(rng.expovariate(1 / 3)))
        guide = brand.serving_staff(plan.guide[index], added_day)
        add_way = rng.choice(ADD_WAYS)
        state = (f"store_qr_{store_code}" if add_way == 1
                 else rng.choice(ONLINE_STATES) if add_way == 16 else None)
        related = {guide}
        added_at = self.moment(added_day, rng)
        resigned = brand.staff[guide].resigned_day
        if resigned is not None:
            # the guide left after adding the customer: the relation was handed to their successor
            handed_at = self.origin + timedelta(days=resigned, hours=10)
            yield self._relation(guide, customer_id, wecom_id, remark, add_way, state,
                                 RelationStatus.transferred, added_at, handed_at)
            guide = brand.serving_staff(guide, resigned)
            related.add(guide)
            add_way, state, added_at, added_day = ADD_WAY_ASSIGNED, None, handed_at, resigned
        status, ended_at = self._ending(rng, index, added_day)
        yield self._relation(guide, customer_id, wecom_id, remark, add_way, state, status, added_at, ended_at)
        second = plan.second_guide[index]
        second_day = added_day + 10 + int(rng.expovariate(1 / 60))
        if second >= 0 and second_day < days and ended_at is None:
            second = brand.serving_staff(second, second_day)
            # a second guide about to resign is left out rather than handed over a second time
            if second not in related and brand.staff[second].resigned_day is None:
                yield self._relation(second, customer_id, wecom_id, None, rng.choice(ADD_WAYS), None,
                                     RelationStatus.active, self.moment(second_day, rng), None)

    def _ending(self, rng: random.Random, index: int,
                added_day: int) -> tuple[RelationStatus, datetime | None]:
        """Whether (and when) the customer or the guide ended the relation."""
        days, dormant_from = self.days, self.plan.dormant_from[index]
        draw = rng.random()
        if dormant_from < days and draw < LOST_WHEN_DORMANT:
            day = dormant_from + int(rng.random() * 60)
            status = RelationStatus.deleted_by_customer
        elif draw < LOST_WHEN_ACTIVE:
            day = added_day + 1 + int(rng.random() * max(1, days - added_day))
            status = RelationStatus.deleted_by_customer
        elif draw < LOST_WHEN_ACTIVE + DELETED_BY_STAFF:
            day = added_day + 1 + int(rng.random() * max(1, days - added_day))
            status = RelationStatus.deleted_by_staff
        else:
            return RelationStatus.active, None
        day = max(added_day + 1, day)
        if day >= days:
            return RelationStatus.active, None
        return status, self.moment(day, rng, first_hour=0, last_hour=23)

    def _relation(self, staff_index: int, customer_id: int, wecom_id: str, remark: str | None, add_way: int,
                  state: str | None, status: RelationStatus, added_at: datetime,
                  ended_at: datetime | None) -> tuple:
        return (self.corp_id, self.brand.staff[staff_index].id, customer_id, wecom_id, remark, add_way, state,
                status.value, added_at, ended_at, added_at, ended_at or added_at)
