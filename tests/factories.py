"""Small hand-made populations for tests: a corp with hq → branch → two stores, staff, customers,
orders, and one console user per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy.orm import Session

from siyu.kit.security import hash_password
from siyu.models import (
    Corp,
    Customer,
    Department,
    DepartmentKind,
    Identity,
    Order,
    Relation,
    Role,
    Staff,
    User,
)

PASSWORD = "correct-horse-42"


@lru_cache
def _password_hash(password: str) -> str:
    """One real argon2 hash per password and test run: hashing is slow on purpose (~0.2 s)."""
    return hash_password(password)


@dataclass
class BrandFixture:
    corp_id: int
    slug: str
    hq_id: int
    branch_id: int
    store_ids: list[int]
    staff_ids: list[int]
    customer_ids: list[int]
    order_ids: list[int]
    users: dict[str, int] = field(default_factory=dict)
    #: customers served by each staff id
    served: dict[int, list[int]] = field(default_factory=dict)

    def login(self, role: str) -> str:
        return f"{role}@{self.slug}"


def _department(session: Session, corp_id: int, kind: DepartmentKind, name: str, parent: Department | None):
    department = Department(corp_id=corp_id, kind=kind, name=name, parent_id=parent.id if parent else None,
                            path="/")
    session.add(department)
    session.flush()
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    return department


def make_brand(session: Session, slug: str, name: str) -> BrandFixture:
    """hq ─ branch ─ store 1 (staff s1, s2) / store 2 (staff s3); each staff serves 2 customers;
    one customer per store has only a home store and no relation."""
    corp = Corp(slug=slug, name=name)
    session.add(corp)
    session.flush()
    hq = _department(session, corp.id, DepartmentKind.hq, f"{name}总部", None)
    branch = _department(session, corp.id, DepartmentKind.branch, f"{name}华东分公司", hq)
    stores = [_department(session, corp.id, DepartmentKind.store, f"{name}门店{i}", branch) for i in (1, 2)]
    staff_list = []
    for index, store in zip((1, 2, 3), (stores[0], stores[0], stores[1]), strict=True):
        staff = Staff(corp_id=corp.id, userid=f"{slug}-s{index}", name=f"导购{index}", department_id=store.id,
                      mobile=f"1380000000{index}")
        session.add(staff)
        staff_list.append(staff)
    session.flush()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    customers, orders, served = [], [], {}
    for staff in staff_list:
        served[staff.id] = []
        for n in range(2):
            customer = Customer(corp_id=corp.id, name=f"{slug}客户{staff.userid}-{n}",
                                phone=f"139{staff.id:04d}{n:04d}", home_store_id=staff.department_id)
            session.add(customer)
            session.flush()
            session.add(Relation(corp_id=corp.id, staff_id=staff.id, customer_id=customer.id,
                                 external_userid=f"wm{slug}{customer.id}", added_at=now))
            session.add(Identity(corp_id=corp.id, customer_id=customer.id, kind="phone", value=customer.phone))
            order = Order(corp_id=corp.id, customer_id=customer.id, platform="pos", shop=slug,
                          order_no=f"{slug}-{customer.id}", store_id=staff.department_id, staff_id=staff.id,
                          amount=Decimal("88.50"), paid_at=now + timedelta(days=n), category="水果")
            session.add(order)
            session.flush()
            customers.append(customer.id)
            orders.append(order.id)
            served[staff.id].append(customer.id)
    for store in stores:
        walk_in = Customer(corp_id=corp.id, name=f"{slug}散客{store.id}", home_store_id=store.id)
        session.add(walk_in)
        session.flush()
        customers.append(walk_in.id)
    users = {}
    for role, department_id, staff_id in (
        (Role.admin, None, None), (Role.hq_operator, None, None), (Role.auditor, None, None),
        (Role.store_manager, stores[0].id, None), (Role.staff, None, staff_list[2].id),
    ):
        user = User(corp_id=corp.id, username=role.value, display_name=f"{name}{role.value}",
                    password_hash=_password_hash(PASSWORD), role=role, department_id=department_id,
                    staff_id=staff_id)
        session.add(user)
        session.flush()
        users[role.value] = user.id
    return BrandFixture(corp.id, slug, hq.id, branch.id, [s.id for s in stores], [s.id for s in staff_list],
                        customers, orders, users, served)


def login(client, brand: BrandFixture, role: str, password: str = PASSWORD):
    """Log ``client`` into the console as ``role`` of ``brand``; returns the response."""
    token = csrf_token(client)
    return client.post("/login", data={"username": brand.login(role), "password": password,
                                       "csrf_token": token, "next": "/"}, follow_redirects=False)


def csrf_token(client) -> str:
    """The session's CSRF token, read from the login form (rendered for any session)."""
    import re

    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "login page has no CSRF token"
    return match.group(1)


def api_token(client, brand: BrandFixture, role: str) -> dict[str, str]:
    """Authorization headers with a fresh API token for ``role`` of ``brand``."""
    from fastapi.testclient import TestClient

    with TestClient(client.app) as other:
        response = login(other, brand, role)
        assert response.status_code == 303, response.text
        csrf = csrf_token(other)
        created = other.post("/api/v1/auth/tokens", json={"name": "test"}, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}

