"""Customer groups for operators: the 20/80 sales view, the join/quit timeline, loss alerts, and the
API's tenancy."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from siyu.group import service as group_service
from siyu.models import Customer, Order, Relation, RelationStatus
from tests.factories import api_token


def _group_with_buyers(database, corp_id: int, clock) -> int:
    """Ten customer members; two of them bring 800 of the 1000 sold; one member left."""
    with database.session() as session:
        customers = [Customer(corp_id=corp_id, name=f"群友{i}") for i in range(11)]
        session.add_all(customers)
        session.flush()
        for customer in customers:
            session.add(_identity(corp_id, customer.id))
        session.flush()
        ids = [f"wm{c.id:06d}" for c in customers]
        group_service.record_members_joined(session, corp_id, "wrGroup", ids, 3, clock.now())
        group_service.record_members_left(session, corp_id, "wrGroup", [ids[10]], 0, clock.now() + timedelta(hours=1))
        for customer, amount in zip(customers, [500, 300, 40, 40, 40, 30, 20, 10, 10, 10, 999], strict=True):
            session.add(Order(corp_id=corp_id, customer_id=customer.id, platform="pos", order_no=f"g{customer.id}",
                              amount=Decimal(amount), paid_at=clock.now()))
        return group_service.record_group_created(session, corp_id, "wrGroup", clock.now()).id


def _identity(corp_id: int, customer_id: int):
    from siyu.models import Identity

    return Identity(corp_id=corp_id, customer_id=customer_id, kind="wecom_external_userid",
                    value=f"wm{customer_id:06d}")


def test_the_top_fifth_of_members_and_their_share_of_sales(client, brand, database, clock):
    group_id = _group_with_buyers(database, brand[0].corp_id, clock)
    headers = api_token(client, brand[0], "hq_operator")
    found = client.get(f"/api/v1/groups/{group_id}/sales-concentration", headers=headers).json()
    # The member who left (999 spent) is not counted
    assert (found["members"], found["buyers"], Decimal(found["total_sales"])) == (10, 10, Decimal("1000"))
    assert (found["top_members"], found["top_share"]) == (2, 0.8)
    assert [Decimal(r["sales"]) for r in found["ranking"][:3]] == [Decimal("500"), Decimal("300"), Decimal("40")]
    timeline = client.get(f"/api/v1/groups/{group_id}/timeline", headers=headers).json()
    assert (timeline[0]["change"], timeline[0]["scene"]) == ("left", 0)
    assert sorted({(e["change"], e["scene"]) for e in timeline}) == [("joined", 3), ("left", 0)]
    assert len(timeline) == 12
    # Another corp and a store manager do not see it
    assert client.get(f"/api/v1/groups/{group_id}/timeline", headers=api_token(client, brand[1], "admin")
                      ).status_code == 404
    assert client.get("/api/v1/groups", headers=api_token(client, brand[0], "store_manager")).status_code == 403


def test_loss_alerts_list_both_sides_of_a_deleted_contact(client, brand, database, clock):
    corp = brand[0]
    with database.session() as session:
        relations = session.query(Relation).filter(Relation.corp_id == corp.corp_id).order_by(Relation.id).all()
        relations[0].status, relations[0].ended_at = RelationStatus.deleted_by_customer, clock.now()
        relations[1].status, relations[1].ended_at = RelationStatus.deleted_by_staff, clock.now() - timedelta(days=1)
        relations[2].status, relations[2].ended_at = RelationStatus.deleted_by_staff, clock.now() - timedelta(days=9)
        relations[3].status, relations[3].ended_at = RelationStatus.transferred, clock.now()
        expected = [(relations[0].id, "deleted_by_customer"), (relations[1].id, "deleted_by_staff")]
    alerts = client.get("/api/v1/loss-alerts", headers=api_token(client, corp, "admin")).json()
    assert [(a["relation_id"], a["status"]) for a in alerts] == expected
    assert client.get("/api/v1/loss-alerts", headers=api_token(client, brand[1], "admin")).json() == []
