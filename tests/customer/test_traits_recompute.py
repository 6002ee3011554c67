"""The full recompute writes only what changed: new customers inserted, changed rows updated,
unchanged rows left alone (their ``updated_at`` kept), merged customers' rows dropped."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from siyu.customer.traits import recompute_corp
from siyu.models import Customer
from siyu.models.trait import CustomerTrait
from tests.customer.trait_population import add_customer, add_order, make_trait_corp


def _traits(session) -> dict[int, tuple]:
    return {t.customer_id: (t.order_count, t.total_spend, t.refund_total, t.lifecycle_stage, t.updated_at)
            for t in session.scalars(select(CustomerTrait))}


def test_a_second_recompute_writes_only_the_changes(database, clock):
    # given a corp recomputed once: two buyers and a prospect
    start = clock.now()
    with database.session() as session:
        corp = make_trait_corp(session)
        steady, refunded, prospect = (add_customer(session, corp.corp_id) for _ in range(3))
        add_order(session, corp.corp_id, steady, start - timedelta(days=5), "20.00")
        add_order(session, corp.corp_id, refunded, start - timedelta(days=6), "30.00")
        recompute_corp(session, corp.corp_id)
    # when an hour later one buyer had an old order refunded (which moves no score), a new customer
    # arrived, the prospect was merged into the steady buyer, and the corp is recomputed
    clock.advance(timedelta(hours=1))
    later = clock.now()
    with database.session() as session:
        add_order(session, corp.corp_id, refunded, start - timedelta(days=9), "12.50", status="refunded",
                  refund_amount="12.50")
        newcomer = add_customer(session, corp.corp_id)
        session.get(Customer, prospect).merged_into_id = steady
        session.flush()
        recompute_corp(session, corp.corp_id)
    # then the refunded buyer's row changed, the newcomer got one, the steady buyer kept its time and
    # the merged prospect lost its row
    with database.session() as session:
        assert _traits(session) == {
            steady: (1, Decimal("20.00"), Decimal("0.00"), "new", start),
            refunded: (1, Decimal("30.00"), Decimal("12.50"), "new", later),
            newcomer: (0, Decimal("0.00"), Decimal("0.00"), "prospect", later),
        }
