"""Two transactions resolving the same person at the same time end with one customer: the unique
constraint on (corp, kind, value) decides, and the loser re-reads and joins the winner's customer.

On PostgreSQL both transactions are made to read "nobody holds this phone" before either writes
(a barrier after the first lookup), so the race really happens. SQLite serialises writers (each
resolution runs in a write transaction, as requests and jobs do), so there the two simply queue.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from siyu.identity import repository
from siyu.identity.service import Resolution, resolve_claims, survivor_of
from siyu.models import Customer, Identity
from tests.identity.helpers import claim, holders


def _race(database, monkeypatch, corp_id, clock, batches):
    """Resolve each batch in its own thread and transaction, all at once; returns their outcomes."""
    barrier = threading.Barrier(len(batches), timeout=30)
    first_lookup = threading.local()
    lookup = repository.owners

    def owners_then_wait(*args, **kwargs):
        found = lookup(*args, **kwargs)
        if not database.is_sqlite and not getattr(first_lookup, "done", False):
            first_lookup.done = True
            barrier.wait()  # every transaction has read before any writes
        return found

    monkeypatch.setattr(repository, "owners", owners_then_wait)

    def run(batch: list) -> Resolution:
        with database.session(immediate=True) as session:
            return resolve_claims(session, corp_id, batch, reason="test", clock=clock)

    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        # result() re-raises here whatever a thread raised
        return [future.result(timeout=60) for future in [pool.submit(run, batch) for batch in batches]]


def _customers(database, corp_id) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Customer).where(Customer.corp_id == corp_id))


@pytest.fixture
def corp(brand):
    return brand[0].corp_id


def test_two_transactions_claiming_one_phone_end_with_one_customer(database, monkeypatch, clock, corp):
    customers_before = _customers(database, corp)

    first, second = _race(database, monkeypatch, corp, clock, [
        [claim(("phone", "13800138000"), ("openid", "o1"))],
        [claim(("phone", "+86 138 0013 8000"), ("openid", "o2"))],
    ])

    # then one new customer holds the phone and both openids, and both transactions answered with it
    owned = holders(database, corp)
    customer = owned[("phone", "13800138000")]
    assert first.customer_ids == second.customer_ids == [customer]
    assert owned[("openid", "o1")] == owned[("openid", "o2")] == customer
    # the customer the losing transaction created for a moment is gone, not left empty or merged
    assert _customers(database, corp) == customers_before + 1
    _assert_raced(database, [first, second], 1)


def _assert_raced(database, outcomes, losers: int) -> None:
    """On PostgreSQL one transaction lost the race and folded its new customers into the winner's;
    on SQLite the second simply found the first's customers."""
    folded = sorted(len(outcome.redirects) for outcome in outcomes)
    assert folded == ([0, losers] if not database.is_sqlite else [0, 0])


def test_two_batches_racing_over_a_hundred_people_create_each_person_once(database, monkeypatch, clock, corp):
    phones = [f"1390000{n:04d}" for n in range(100)]
    customers_before = _customers(database, corp)

    outcomes = _race(database, monkeypatch, corp, clock, [
        [claim(("phone", phone), ("openid", f"a-{phone}")) for phone in phones],
        [claim(("openid", f"b-{phone}"), ("phone", phone)) for phone in reversed(phones)],
    ])
    first, second = (outcome.customer_ids for outcome in outcomes)
    _assert_raced(database, outcomes, 100)

    owned = holders(database, corp)
    expected = [owned[("phone", phone)] for phone in phones]
    with database.session() as session:
        assert [survivor_of(session, corp, c) for c in first] == expected
        assert [survivor_of(session, corp, c) for c in second] == list(reversed(expected))
        # every person is one customer holding all three identities, and nobody else was created
        held = session.execute(select(Identity.customer_id, func.count()).where(
            Identity.customer_id.in_(expected)).group_by(Identity.customer_id)).all()
    assert len(set(expected)) == 100 and dict(held) == {customer: 3 for customer in expected}
    assert _customers(database, corp) == customers_before + 100
