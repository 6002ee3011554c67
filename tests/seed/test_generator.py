"""``run_seed``: the whole brand in one go, idempotency, determinism and refused scales."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from siyu.kit.db import Database
from siyu.kit.errors import InvalidInput
from siyu.kit.migrate import upgrade
from siyu.kit.settings import get_settings
from siyu.models import Corp, Customer, Department, Identity, Order, Relation, Role, Staff, User
from siyu.seed.generator import (
    DEMO_ADMIN_PASSWORD,
    DEMO_ADMIN_USERNAME,
    DEMO_CORP_SLUG,
    ScaleNeedsPostgres,
    run_seed,
)
from tests.factories import csrf_token
from tests.seed.conftest import SEED


def _count(session, model, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_tiny_seed_writes_the_whole_brand(database, seeded):
    # given a tiny seed of the demo brand (see the fixture)
    # then the corp, its tree, staff, console users, customers and orders exist in the planned numbers
    with database.session() as session:
        corp = session.scalars(select(Corp)).one()
        assert (corp.slug, corp.name, corp.timezone) == (DEMO_CORP_SLUG, "鲜果时光", "Asia/Shanghai")
        kinds = session.execute(select(Department.kind, func.count()).group_by(Department.kind)).all()
        assert sorted((kind.value, n) for kind, n in kinds) == [("branch", 3), ("hq", 1), ("store", 6)]
        assert _count(session, Staff) == 12
        assert _count(session, Customer) == 200
        assert _count(session, Order) == 1_200
        roles = session.execute(select(User.username, User.role)).all()
        assert sorted(roles) == [("admin", Role.admin), ("auditor", Role.auditor), ("guide", Role.staff),
                                 ("manager", Role.store_manager), ("operator", Role.hq_operator)]
        counts = {"customer": 200, "identity": _count(session, Identity),
                  "relation": _count(session, Relation), "customer_order": 1_200, "event": 3_000}
    assert seeded.report.created is True
    assert seeded.report.corp_id == corp.id
    assert seeded.report.counts == counts


def test_seeding_reports_a_line_per_table_with_its_rate(seeded):
    # given a seed without a terminal (the fixture forces non-interactive output)
    # then every bulk table got one summary line with its row count and rate, and the logins are printed
    table_lines = {line.split()[1]: line for line in seeded.lines
                   if line.startswith("  ") and "rows/s" in line}
    assert set(table_lines) == {"organisation", "customer", "identity", "relation", "customer_order", "event"}
    assert "1,200 rows" in table_lines["customer_order"]
    assert "3,000 rows" in table_lines["event"]
    assert "200 rows" in table_lines["customer"]
    assert seeded.lines[-1] == ("  console users: admin@xianguo, operator@xianguo, manager@xianguo, "
                                f"auditor@xianguo, guide@xianguo / password {DEMO_ADMIN_PASSWORD}")


def test_a_second_run_finds_the_brand_and_adds_nothing(database, seeded):
    # given a seeded brand
    # when the seed runs again (as ``siyu demo`` does on every start)
    lines: list[str] = []
    report = run_seed(database, scale="tiny", corp_slug=None, seed=SEED, echo=lines.append, interactive=False)
    # then it reports the existing brand and writes nothing
    assert report.created is False
    assert report.corp_id == seeded.report.corp_id
    assert report.counts == seeded.report.counts
    assert lines == ["brand xianguo already exists (200 customers, 1,200 orders, 3,000 events); nothing to do"]
    with database.session() as session:
        assert _count(session, Corp) == 1
        assert _count(session, Customer) == 200
        assert _count(session, Order) == 1_200
        assert _count(session, Staff) == 12


def test_the_same_seed_generates_the_same_brand(database, clock, seeded):
    # given the demo brand seeded with SEED
    # when a second corp is generated with the same seed and clock
    other = run_seed(database, scale="tiny", corp_slug="twin", seed=SEED, echo=lambda _: None,
                     interactive=False)
    # then both corps hold identical people and orders (ids aside)
    def snapshot(corp_id):
        with database.session() as session:
            people = session.execute(select(Customer.name, Customer.phone, Customer.city, Customer.birthday)
                                     .where(Customer.corp_id == corp_id).order_by(Customer.id)).all()
            orders = session.execute(select(Order.platform, Order.order_no, Order.amount, Order.paid_at)
                                     .where(Order.corp_id == corp_id).order_by(Order.id)).all()
        return people, orders

    assert other.created is True
    assert snapshot(other.corp_id) == snapshot(seeded.report.corp_id)


def test_a_different_seed_generates_different_people(database, clock, seeded):
    # given the demo brand seeded with SEED
    # when another corp is generated with another seed
    other = run_seed(database, scale="tiny", corp_slug="other", seed=SEED + 1, echo=lambda _: None,
                     interactive=False)

    # then its customers are other people
    def people(corp_id):
        with database.session() as session:
            return session.execute(select(Customer.name, Customer.phone).where(Customer.corp_id == corp_id)
                                   .order_by(Customer.id)).all()

    assert len(people(other.corp_id)) == 200
    assert people(other.corp_id) != people(seeded.report.corp_id)


def test_the_printed_demo_login_opens_the_console(client, seeded):
    # given the seeded brand
    # when the admin logs in with the credentials ``siyu demo`` prints
    response = client.post("/login", data={"username": DEMO_ADMIN_USERNAME, "password": DEMO_ADMIN_PASSWORD,
                                           "csrf_token": csrf_token(client), "next": "/"},
                           follow_redirects=False)
    # then the console lets them in
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_bench_scale_is_refused_on_sqlite_before_anything_is_written(tmp_path, clock):
    # given an embedded SQLite database
    url = f"sqlite:///{tmp_path}/embedded.db"
    upgrade(url)
    database = Database(url)
    lines: list[str] = []
    try:
        # when the bench scale (1 M customers) is requested
        with pytest.raises(ScaleNeedsPostgres) as refused:
            run_seed(database, scale="bench", corp_slug=None, seed=SEED, echo=lines.append, interactive=False)
        # then it is refused with a message naming PostgreSQL, and nothing was written
        assert refused.value.message("en") == (
            "Scale bench (1,000,000 customers, 10,000,000 orders) needs PostgreSQL: point SIYU_DATABASE_URL "
            "at a PostgreSQL database and try again; nothing was written")
        assert lines == []
        with database.session() as session:
            assert _count(session, Corp) == 0
            assert _count(session, Customer) == 0
    finally:
        database.dispose()


def test_the_cli_refuses_bench_on_sqlite_without_creating_the_database(tmp_path, monkeypatch):
    # given SIYU_DATABASE_URL pointing at a SQLite file that does not exist yet
    from siyu.cli import app

    target = tmp_path / "var" / "siyu.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", f"sqlite:///{target}")
    get_settings.cache_clear()
    try:
        # when ``siyu seed --scale bench`` runs
        result = CliRunner().invoke(app, ["seed", "--scale", "bench"])
    finally:
        get_settings.cache_clear()
    # then it exits with the refusal and neither migrated nor created the database
    assert result.exit_code == 1
    assert "PostgreSQL" in result.output
    assert not target.exists()


def test_an_unknown_scale_is_refused(database, clock):
    with pytest.raises(InvalidInput) as refused:
        run_seed(database, scale="huge", corp_slug=None, seed=SEED, echo=lambda _: None, interactive=False)
    assert refused.value.message("en") == "Unknown scale huge (choose one of: tiny, demo, bench)"
    with database.session() as session:
        assert _count(session, Corp) == 0


def test_two_seeds_racing_for_the_brand_create_it_once(database, clock):
    # given two processes starting the demo at the same moment (threads with their own connections)
    results: dict[str, object] = {}

    def start(name: str) -> None:
        try:
            results[name] = run_seed(database, scale="tiny", corp_slug=None, seed=SEED, echo=lambda _: None,
                                     interactive=False)
        except Exception as error:  # noqa: BLE001 — the assertion below shows what went wrong
            results[name] = error

    threads = [threading.Thread(target=start, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then one created the brand and the other waited for it and found it
    assert sorted(getattr(result, "created", result) for result in results.values()) == [False, True]
    with database.session() as session:
        assert _count(session, Corp) == 1
        assert _count(session, Customer) == 200
