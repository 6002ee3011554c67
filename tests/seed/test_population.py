"""The generated people: Chinese names, unique mobiles, identities and WeCom relations."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from siyu.models import (
    Customer,
    Department,
    DepartmentKind,
    Identity,
    Relation,
    RelationStatus,
    Staff,
    StaffStatus,
)

CHINESE_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def test_customers_and_staff_have_chinese_names_and_mobiles(database, seeded):
    with database.session() as session:
        customers = session.execute(select(Customer.name, Customer.phone, Customer.gender)).all()
        staff = session.execute(select(Staff.name, Staff.mobile, Staff.userid)).all()
    assert len(customers) == 200
    assert [name for name, _, _ in customers if not CHINESE_NAME.match(name)] == []
    assert [phone for _, phone, _ in customers if not MOBILE.match(phone)] == []
    assert {gender for _, _, gender in customers} <= {"male", "female", None}
    assert [name for name, _, _ in staff if not CHINESE_NAME.match(name)] == []
    assert [mobile for _, mobile, _ in staff if not MOBILE.match(mobile)] == []
    assert sorted(userid for _, _, userid in staff) == [f"XG{n:05d}" for n in range(1, 13)]


def test_mobile_numbers_are_unique_across_customers_and_staff(database, seeded):
    with database.session() as session:
        numbers = list(session.scalars(select(Customer.phone))) + list(session.scalars(select(Staff.mobile)))
    assert len(numbers) == 212
    assert len(set(numbers)) == 212


def test_every_customer_lives_in_the_city_of_their_home_store(database, seeded):
    with database.session() as session:
        homes = session.execute(select(Customer.city, Department.city, Department.kind)
                                .join(Department, Department.id == Customer.home_store_id)).all()
        stores = session.execute(select(Department.name, Department.city).where(
            Department.kind == DepartmentKind.store).order_by(Department.id)).all()
    assert len(homes) == 200
    assert all(customer_city == store_city and kind == DepartmentKind.store
               for customer_city, store_city, kind in homes)
    assert stores[0] == ("上海徐家汇店", "上海")
    assert all(name.startswith(city) and name.endswith("店") for name, city in stores)


def test_identities_are_unique_and_every_customer_has_a_phone_identity(database, seeded):
    with database.session() as session:
        identities = session.execute(select(Identity.customer_id, Identity.kind, Identity.value)).all()
        phones = dict(session.execute(select(Customer.id, Customer.phone)).all())
    assert len({(kind, value) for _, kind, value in identities}) == len(identities)
    phone_identities = {customer_id: value for customer_id, kind, value in identities if kind == "phone"}
    assert phone_identities == phones
    wecom = [value for _, kind, value in identities if kind == "wecom_external_userid"]
    assert all(value.startswith("wm") and len(value) == 32 for value in wecom)
    unionids = [value for _, kind, value in identities if kind == "unionid"]
    assert all(value.startswith("o") and len(value) == 28 for value in unionids)
    assert {kind for _, kind, _ in identities} == {"phone", "wecom_external_userid", "unionid", "member_no"}


def test_relations_link_wecom_friends_to_staff_of_their_home_store(database, seeded):
    with database.session() as session:
        relations = session.execute(
            select(Relation.customer_id, Relation.external_userid, Staff.department_id,
                   Customer.home_store_id)
            .join(Staff, Staff.id == Relation.staff_id)
            .join(Customer, Customer.id == Relation.customer_id)).all()
        wecom = dict(session.execute(select(Identity.customer_id, Identity.value).where(
            Identity.kind == "wecom_external_userid")).all())
    # every WeCom friend has a relation carrying their external userid, and nobody else has one
    assert {customer_id for customer_id, *_ in relations} == set(wecom)
    assert all(external_userid == wecom[customer_id] for customer_id, external_userid, _, _ in relations)
    assert all(staff_store == home_store for _, _, staff_store, home_store in relations)


def test_some_customers_deleted_their_guide_and_the_relation_ended_after_it_began(database, seeded):
    with database.session() as session:
        by_status = dict(session.execute(select(Relation.status, func.count()).group_by(Relation.status))
                         .all())
        ended = session.execute(select(Relation.added_at, Relation.ended_at, Relation.status)
                                .where(Relation.ended_at.is_not(None))).all()
        open_with_end = session.scalar(select(func.count()).select_from(Relation).where(
            Relation.status == RelationStatus.active, Relation.ended_at.is_not(None)))
    assert by_status[RelationStatus.active] > by_status[RelationStatus.deleted_by_customer] > 0
    assert all(added_at < ended_at for added_at, ended_at, _ in ended)
    assert open_with_end == 0


def test_customers_of_a_resigned_guide_were_handed_to_a_colleague(database, seeded):
    # given the staff member who resigned during the window
    with database.session() as session:
        leaver = session.scalars(select(Staff).where(Staff.status == StaffStatus.resigned)).one()
        handed = session.execute(select(Relation.customer_id, Relation.ended_at).where(
            Relation.staff_id == leaver.id)).all()
        inherited = session.execute(select(Relation.customer_id, Relation.added_at, Staff.department_id)
                                    .join(Staff, Staff.id == Relation.staff_id)
                                    .where(Relation.add_way == 202)).all()
        statuses = set(session.scalars(select(Relation.status).where(Relation.staff_id == leaver.id)))
    # then each of their relations ended as transferred when they left, and a colleague of the same store
    # took the customer over at that moment (WeCom add_way 202: assigned)
    assert handed
    assert statuses == {RelationStatus.transferred}
    assert all(ended_at == leaver.resigned_at for _, ended_at in handed)
    assert sorted(row[0] for row in inherited) == sorted(row[0] for row in handed)
    assert all(added_at == leaver.resigned_at and store == leaver.department_id
               for _, added_at, store in inherited)
