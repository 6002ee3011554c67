"""Test harness: the whole suite runs on SQLite or PostgreSQL (``SIYU_TEST_DATABASE_URL``).

The schema is built once per session through the real Alembic migrations; every test starts from
empty tables.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from siyu.kit.clock import TestClock, set_clock
from siyu.kit.db import Base, Database
from siyu.kit.migrate import upgrade
from siyu.kit.settings import Settings

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"


def _create_postgres_database(base_url: str) -> tuple[str, str]:
    name = f"siyu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + f"/{name}", name


def _drop_postgres_database(base_url: str, name: str) -> None:
    admin = create_engine(base_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url():
    requested = os.environ.get("SIYU_TEST_DATABASE_URL", "sqlite")
    if requested.startswith("postgresql"):
        requested = requested.replace("postgresql://", "postgresql+psycopg://", 1)
        url, name = _create_postgres_database(requested)
        upgrade(url)
        yield url
        _drop_postgres_database(requested, name)
    else:
        folder = tempfile.mkdtemp(prefix="siyu-test-")
        url = f"sqlite:///{folder}/siyu.db"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def _session_database(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def _empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.is_sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                connection.exec_driver_sql(f'DELETE FROM "{table}"')
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        else:
            connection.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")


@pytest.fixture
def database(_session_database):
    _empty_tables(_session_database)
    yield _session_database


@pytest.fixture
def is_postgres(database) -> bool:
    return not database.is_sqlite


@pytest.fixture
def clock():
    test_clock = TestClock()
    set_clock(test_clock)
    yield test_clock
    from siyu.kit.clock import Clock

    set_clock(Clock())


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret", login_max_failures=5,
                    job_lease_seconds=2.0, worker_idle_seconds=0.05)


@pytest.fixture
def app(settings, database, clock):
    from siyu.app import create_app

    return create_app(settings, database, clock)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture
def brand(database):
    """Two corps with a full organisation each (see ``factories.make_brand``)."""
    from tests.factories import make_brand

    with database.session() as session:
        corp_a = make_brand(session, "alpha", "甲品牌")
        corp_b = make_brand(session, "beta", "乙品牌")
    return corp_a, corp_b
