"""Server fixtures: every test runs on SQLite and on a real PostgreSQL, each in a
schema of its own that is dropped afterwards."""

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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A URL to an empty database of its own: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url


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
def engine(database_url) -> Iterator[Engine]:
    """The database, checked after the test: the ledger must still balance."""
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    with Session(engine) as session:
        assert invariant_violations(session) == [], "the ledger no longer balances"
    engine.dispose()


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
