"""What a merge moves — identities, relations, orders, events, tags, tag history, group memberships,
traits — recorded id by id, and how an undo (a split) moves exactly that back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from siyu.identity import manual
from siyu.kit.errors import Conflict
from siyu.kit.tenancy import Principal
from siyu.models import (
    Customer,
    CustomerMerge,
    CustomerTag,
    CustomerTrait,
    Event,
    GroupChat,
    GroupChatMember,
    Identity,
    Order,
    Relation,
    Role,
    Tag,
    TagGroup,
    TagHistory,
)
from tests.identity.helpers import claim, make_customer, resolve
from tests.test_tenancy import snapshot

PHONE = "13800138000"


@dataclass
class Pair:
    """An older customer ``x`` known by phone with a full history, a newer ``y`` known by unionid."""

    corp_id: int
    x: int
    y: int
    rows: dict[str, int]
    admin: Principal


@pytest.fixture
def pair(database, clock, brand) -> Pair:
    corp = brand[0]
    s1, s2, _ = corp.staff_ids
    now = clock.now()
    x = make_customer(database, corp.corp_id, ("phone", PHONE), name="旧客户")
    y = make_customer(database, corp.corp_id, ("unionid", "u1"))
    with database.session() as session:
        session.get(Customer, x).home_store_id = corp.store_ids[0]
        group = TagGroup(corp_id=corp.corp_id, name="偏好")
        chat = GroupChat(corp_id=corp.corp_id, chat_id="wr-1")
        session.add_all([group, chat])
        session.flush()
        tags = [Tag(corp_id=corp.corp_id, group_id=group.id, name=name) for name in ("水果", "零食")]
        session.add_all(tags)
        session.flush()
        rows = {
            "x_relation_s1": Relation(corp_id=corp.corp_id, staff_id=s1, customer_id=x, added_at=now),
            "x_relation_s2": Relation(corp_id=corp.corp_id, staff_id=s2, customer_id=x, added_at=now),
            "y_relation_s1": Relation(corp_id=corp.corp_id, staff_id=s1, customer_id=y, added_at=now),
            "x_order": Order(corp_id=corp.corp_id, customer_id=x, platform="pos", order_no="X1",
                             amount=Decimal("100.00"), paid_at=now - timedelta(days=3)),
            "y_order": Order(corp_id=corp.corp_id, customer_id=y, platform="pos", order_no="Y1",
                             amount=Decimal("50.00"), paid_at=now - timedelta(days=1)),
            "x_event": Event(corp_id=corp.corp_id, customer_id=x, message_id="m-x", type="track", name="view",
                             timestamp=now, received_at=now),
            "x_tag_fruit": CustomerTag(corp_id=corp.corp_id, customer_id=x, tag_id=tags[0].id, source="manual",
                                       tagged_at=now),
            "x_tag_snack": CustomerTag(corp_id=corp.corp_id, customer_id=x, tag_id=tags[1].id, source="manual",
                                       tagged_at=now),
            "y_tag_fruit": CustomerTag(corp_id=corp.corp_id, customer_id=y, tag_id=tags[0].id, source="rule",
                                       tagged_at=now),
            "x_tag_history": TagHistory(corp_id=corp.corp_id, customer_id=x, tag_id=tags[1].id, action="add",
                                        source="manual", at=now),
            "x_member": GroupChatMember(corp_id=corp.corp_id, group_chat_id=chat.id, member_userid="wm-x",
                                        customer_id=x),
        }
        session.add_all(rows.values())
        session.add(CustomerTrait(corp_id=corp.corp_id, customer_id=x, order_count=1, updated_at=now))
        session.flush()
        ids = {name: row.id for name, row in rows.items()}
        ids["x_phone"] = session.scalar(select(Identity.id).where(Identity.customer_id == x))
    admin = Principal(user_id=corp.users["admin"], corp_id=corp.corp_id, role=Role.admin)
    return Pair(corp.corp_id, x, y, ids, admin)


def _merge(database, clock, pair: Pair) -> CustomerMerge:
    outcome = resolve(database, pair.corp_id, clock, claim(("unionid", "u1"), ("phone", PHONE)), reason="order")
    assert outcome.customer_ids == [pair.y]
    with database.session() as session:
        return session.scalars(select(CustomerMerge).where(CustomerMerge.id == outcome.merge_ids[0])).one()


def _owner(database, model, row_id) -> int:
    with database.session() as session:
        return session.get(model, row_id).customer_id


def test_a_merge_moves_every_row_of_the_merged_customer_and_records_each_id(database, clock, pair):
    # when a claim links the two
    merge = _merge(database, clock, pair)

    # then the newer unionid holder survives and the record lists exactly what moved and what stayed
    r = pair.rows
    assert (merge.survivor_id, merge.merged_id, merge.reason) == (pair.y, pair.x, "order")
    assert merge.moved == {
        "identity": [r["x_phone"]],
        "relation": [r["x_relation_s2"]],
        "relation:kept": [r["x_relation_s1"]],  # y already follows s1: y's relation is the one kept
        "customer_order": [r["x_order"]],
        "event": [r["x_event"]],
        "customer_tag": [r["x_tag_snack"]],
        "customer_tag:kept": [r["x_tag_fruit"]],  # y already has 水果
        "tag_history": [r["x_tag_history"]],
        "group_chat_member": [r["x_member"]],
        "customer:filled": ["name", "home_store_id"],
    }
    assert (_owner(database, Order, r["x_order"]), _owner(database, Relation, r["x_relation_s1"])) == (pair.y, pair.x)
    with database.session() as session:
        survivor = session.get(Customer, pair.y)
        assert (survivor.name, session.get(Customer, pair.x).merged_into_id) == ("旧客户", pair.y)
        # the merged customer's traits are gone, the survivor's count both orders
        assert session.get(CustomerTrait, pair.x) is None
        assert session.get(CustomerTrait, pair.y).order_count == 2


def test_an_undo_moves_back_exactly_what_the_merge_moved(database, clock, pair, brand):
    # given the merge, then a new order and a new identity on the survivor
    merge = _merge(database, clock, pair)
    with database.session() as session:
        later = Order(corp_id=pair.corp_id, customer_id=pair.y, platform="pos", order_no="Y2",
                      amount=Decimal("20.00"), paid_at=clock.now())
        session.add(later)
        session.flush()
        later_id = later.id
    resolve(database, pair.corp_id, clock, claim(("unionid", "u1"), ("openid", "o-new")))
    clock.advance(timedelta(hours=1))

    # when an admin undoes the merge
    with database.session() as session:
        manual.undo_merge(session, pair.admin, pair.y, merge.id, clock=clock)

    # then every listed row is back on the merged customer and what came later stays on the survivor
    r = pair.rows
    for model, name in [(Identity, "x_phone"), (Relation, "x_relation_s2"), (Relation, "x_relation_s1"),
                        (Order, "x_order"), (Event, "x_event"), (CustomerTag, "x_tag_snack"),
                        (CustomerTag, "x_tag_fruit"), (TagHistory, "x_tag_history"), (GroupChatMember, "x_member")]:
        assert _owner(database, model, r[name]) == pair.x, name
    assert _owner(database, Order, later_id) == pair.y and _owner(database, Order, r["y_order"]) == pair.y
    with database.session() as session:
        assert session.scalar(select(Identity.customer_id).where(Identity.value == "o-new")) == pair.y
        x, y = session.get(Customer, pair.x), session.get(Customer, pair.y)
        assert (x.merged_into_id, x.name, y.name, y.home_store_id) == (None, "旧客户", None, None)
        undone = session.get(CustomerMerge, merge.id)
        assert (undone.undone_at, undone.undone_by_user_id) == (clock.now(), pair.admin.user_id)
        assert (session.get(CustomerTrait, pair.x).order_count, session.get(CustomerTrait, pair.y).order_count) == (1, 2)


def test_an_undo_done_twice_is_refused_and_changes_nothing(database, clock, pair):
    merge = _merge(database, clock, pair)
    with database.session() as session:
        manual.undo_merge(session, pair.admin, pair.x, merge.id, clock=clock)
    before = snapshot(database)

    with database.session() as session, pytest.raises(Conflict) as refused:
        manual.undo_merge(session, pair.admin, pair.y, merge.id, clock=clock)

    assert refused.value.message_key == "error.merge_already_undone"
    assert snapshot(database) == before


def test_an_undo_is_refused_while_a_later_merge_of_the_survivor_stands(database, clock, pair):
    # given x merged into y, then y merged into z by an operator
    first = _merge(database, clock, pair)
    z = make_customer(database, pair.corp_id, ("user_id", "U1"))
    with database.session() as session:
        second_id = manual.merge_manually(session, pair.admin, z, pair.y, note="同一会员", clock=clock).id
    before = snapshot(database)

    # when the first merge is undone while the second stands
    with database.session() as session, pytest.raises(Conflict) as refused:
        manual.undo_merge(session, pair.admin, pair.y, first.id, clock=clock)

    # then it is refused, naming the later merge, and nothing changed
    assert (refused.value.message_key, refused.value.params["later_merge_id"]) == ("error.merge_has_later_merge",
                                                                                  second_id)
    assert snapshot(database) == before

    # and once the later merge is undone, the first can be
    with database.session() as session:
        manual.undo_merge(session, pair.admin, z, second_id, clock=clock)
        manual.undo_merge(session, pair.admin, pair.y, first.id, clock=clock)
    assert _owner(database, Order, pair.rows["x_order"]) == pair.x


def test_a_manual_merge_into_a_merged_away_id_goes_to_the_final_survivor(database, clock, pair):
    # given x merged into y
    _merge(database, clock, pair)
    other = make_customer(database, pair.corp_id, ("openid", "o9"))

    # when an operator merges another customer "into x"
    with database.session() as session:
        merge = manual.merge_manually(session, pair.admin, pair.x, other, note=None, clock=clock)
        survivor_id = merge.survivor_id

    # then it goes into y, the survivor x resolves to
    assert survivor_id == pair.y
    assert _owner(database, Identity, _identity_id(database, "o9")) == pair.y


def _identity_id(database, value) -> int:
    with database.session() as session:
        return session.scalar(select(Identity.id).where(Identity.value == value))


def test_a_manual_merge_that_would_break_a_cap_is_refused_and_changes_nothing(database, clock, pair):
    other = make_customer(database, pair.corp_id, ("unionid", "u2"))
    before = snapshot(database)

    with database.session() as session, pytest.raises(Conflict) as refused:
        manual.merge_manually(session, pair.admin, pair.y, other, note=None, clock=clock)

    assert (refused.value.message_key, refused.value.field, refused.value.params["kind"]) == (
        "error.merge_exceeds_cap", "merged_id", "unionid")
    assert snapshot(database) == before


def _customer_with_order(database, corp_id, clock, pair: tuple[str, str], order_no: str) -> tuple[int, int]:
    customer = make_customer(database, corp_id, pair)
    with database.session() as session:
        order = Order(corp_id=corp_id, customer_id=customer, platform="pos", order_no=order_no,
                      amount=Decimal("10.00"), paid_at=clock.now())
        session.add(order)
        session.flush()
        return customer, order.id


def test_merges_of_one_batch_each_record_their_own_rows_and_chains_keep_their_order(database, clock, brand):
    # given two unrelated pairs of customers, and a chain of three, each customer with one order
    corp_id = brand[0].corp_id
    a1, a1_order = _customer_with_order(database, corp_id, clock, ("phone", "13900000001"), "A1")
    b1, b1_order = _customer_with_order(database, corp_id, clock, ("member_no", "M1"), "B1")
    a2, a2_order = _customer_with_order(database, corp_id, clock, ("phone", "13900000002"), "A2")
    b2, b2_order = _customer_with_order(database, corp_id, clock, ("member_no", "M2"), "B2")
    x, x_order = _customer_with_order(database, corp_id, clock, ("phone", "13900000003"), "X")
    y, y_order = _customer_with_order(database, corp_id, clock, ("member_no", "M3"), "Y")
    z, _ = _customer_with_order(database, corp_id, clock, ("unionid", "u3"), "Z")

    # when one batch links each pair, then y into x, then x into z
    outcome = resolve(database, corp_id, clock,
                      claim(("phone", "13900000001"), ("member_no", "M1")),
                      claim(("phone", "13900000002"), ("member_no", "M2")),
                      claim(("phone", "13900000003"), ("member_no", "M3")),
                      claim(("unionid", "u3"), ("phone", "13900000003")))

    # then every merge lists exactly its merged customer's rows — x's merge carries y's order too
    assert outcome.customer_ids == [a1, a2, z, z]
    with database.session() as session:
        records = session.scalars(select(CustomerMerge).where(CustomerMerge.id.in_(outcome.merge_ids))
                                  .order_by(CustomerMerge.id)).all()
        moved = {(m.survivor_id, m.merged_id): m.moved["customer_order"] for m in records}
    assert moved == {(a1, b1): [b1_order], (a2, b2): [b2_order], (x, y): [y_order],
                     (z, x): sorted([x_order, y_order])}
    assert [_owner(database, Order, o) for o in (a1_order, b1_order, a2_order, b2_order, x_order, y_order)] == [
        a1, a1, a2, a2, z, z]
