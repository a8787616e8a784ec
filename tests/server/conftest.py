"""Server fixtures: every test runs on SQLite and on a real PostgreSQL, each on a
database of its own: a SQLite file, or a PostgreSQL schema (emptied and reused by the next
test, or made fresh for a test that needs an empty one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server import models as _models  # noqa: F401 - registers every table
from server.app import create_app
from server.db import Base, make_engine, make_sessionmaker
from server.settings import Settings, normalise_database_url
from server.wallet.ledger import invariant_violations
from tests.conftest import IN_CI
from tests.server.api import open_shop, sign_up
from tests.server.mailbox import mail, notify_settings, push, sink  # noqa: F401 - fixtures

POSTGRES_URL = os.environ.get("TILLPOINT_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("TILLPOINT_TEST_REDIS_URL", "")


def redis_env() -> dict[str, str]:
    """Settings for the test Redis (`python3 dev.py test` starts it and sets
    TILLPOINT_TEST_REDIS_URL), under a key prefix of this test's own. Every key the server
    writes expires, so nothing needs cleaning up."""
    if not REDIS_URL:
        reason = "TILLPOINT_TEST_REDIS_URL is not set: tests of state shared through Redis"
        if IN_CI:
            pytest.fail(reason + " must run in CI")
        pytest.skip(reason + " are skipped (`python3 dev.py test` starts Redis and sets it)")
    return {"TILLPOINT_REDIS_URL": REDIS_URL, "TILLPOINT_REDIS_PREFIX": f"t{uuid.uuid4().hex}:"}


def _postgres_url() -> str:
    if POSTGRES_URL:
        return normalise_database_url(POSTGRES_URL)
    reason = "TILLPOINT_TEST_POSTGRES_URL is not set: the PostgreSQL half of the server suite"
    if IN_CI:
        pytest.fail(reason + " must run in CI")
    pytest.skip(reason + " is skipped (`python3 dev.py test` starts PostgreSQL and sets it)")


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A URL whose connections see only a new, empty schema, dropped afterwards."""
    base = _postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class SchemaPool:
    """PostgreSQL schemas holding every table, lent to one test at a time and emptied
    after it: making the tables costs PostgreSQL about 2 s, and dropping them 1 s more,
    where emptying them costs 0.1 s. Each test gets a new engine on its schema (the server
    keeps caches per engine). Each test process keeps its own schemas; all are dropped when
    the process ends."""

    def __init__(self) -> None:
        self.idle: list[str] = []
        self.schemas: list[str] = []

    def take(self) -> Engine:
        if self.idle:
            return make_engine(self.idle.pop())
        base = _postgres_url()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        _execute(base, f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        separator = "&" if "?" in base else "?"
        engine = make_engine(f"{base}{separator}options=-csearch_path%3D{schema}")
        Base.metadata.create_all(engine)
        return engine

    def give_back(self, engine: Engine) -> None:
        """Empty the tables and restart the sequences, as new; a schema that cannot be
        emptied (a test left a lock behind) is not lent again."""
        try:
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(table.delete())
                sequences = connection.scalars(
                    text(
                        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
                    )
                ).all()
                for sequence in sequences:
                    connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        except Exception:
            return
        finally:
            engine.dispose()
        self.idle.append(url_of(engine))

    def close(self) -> None:
        for schema in self.schemas:
            _execute(_postgres_url(), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _execute(url: str, statement: str) -> None:
    admin = make_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def schema_pool() -> Iterator[SchemaPool]:
    pool = SchemaPool()
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_kind(request) -> str:
    """Every server test runs twice: on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(request, database_kind, tmp_path) -> Iterator[str]:
    """A URL to an empty database of its own: a SQLite file, or a fresh PostgreSQL schema
    (for a test that migrates it or hands it to a server it starts)."""
    if "engine" in request.fixturenames:
        pytest.fail("`database_url` is another, empty database: use `url_of(engine)` instead")
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url


def url_of(engine: Engine) -> str:
    """The URL the `engine` fixture's database is reached at, for a command run on it."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def redis_settings() -> dict[str, str]:
    """The test Redis's URL and a fresh key prefix, as `Settings` fields."""
    env = redis_env()
    return {"redis_url": env["TILLPOINT_REDIS_URL"], "redis_prefix": env["TILLPOINT_REDIS_PREFIX"]}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """For what only PostgreSQL can show (many writers at once)."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def engine(database_kind, tmp_path, schema_pool) -> Iterator[Engine]:
    """A database of the test's own with every table, checked after the test: the ledger
    must still balance."""
    if database_kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
        Base.metadata.create_all(engine)
    else:
        engine = schema_pool.take()
    yield engine
    with Session(engine) as session:
        assert invariant_violations(session) == [], "the ledger no longer balances"
    if database_kind == "sqlite":
        engine.dispose()
    else:
        schema_pool.give_back(engine)


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # Cheap password hashing: the suite signs up hundreds of users.
    return Settings(
        data_dir=tmp_path / "data",
        argon2_time_cost=1,
        argon2_memory_kib=64,
        billing_interval_seconds=0,  # the tests run billing themselves, on their own dates
        notifications_interval_seconds=0,  # and notification rounds, when they want one
        webhooks_interval_seconds=0,  # and webhook rounds
    )


@pytest.fixture
def client(settings, engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


@pytest.fixture
def shop(client):
    """A vendor with a business (GBP) and a cashier."""
    return open_shop(client)


@pytest.fixture
def customer(client):
    return sign_up(client, "customer")
