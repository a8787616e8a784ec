"""The pool checks its connections without a round trip per request (no pre-ping), and
still no request fails when PostgreSQL drops them: a restart, or an operator's
`pg_terminate_backend`, which is what a restart does to each backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.app import create_app
from server.db import Base, driver_rows, in_transaction, make_engine, make_sessionmaker
from server.wallet.ledger import invariant_violations
from tests.server.api import buy_card, open_shop, sign_up

pytestmark = pytest.mark.postgres


@pytest.fixture
def named(postgres_url) -> Iterator[tuple[Engine, str]]:
    """An engine whose connections carry a name of their own, to find them by."""
    name = f"tp-{uuid.uuid4().hex[:12]}"
    engine = make_engine(f"{postgres_url}&application_name={name}")
    Base.metadata.create_all(engine)
    yield engine, name
    with Session(engine) as session:
        assert invariant_violations(session) == []
    engine.dispose()


def terminate_connections(postgres_url: str, name: str) -> int:
    """End every backend of the engine named `name`, as a restart would; how many."""
    admin = make_engine(postgres_url)
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
            connection.commit()
            while connection.execute(  # until they are gone (a transaction sees one snapshot)
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name},
            ).scalar_one():
                connection.commit()
        return int(ended)
    finally:
        admin.dispose()


def test_no_request_fails_after_the_database_dropped_every_connection(
    named, postgres_url, settings
):
    engine, name = named
    with TestClient(create_app(settings, engine=engine)) as client:
        shop = open_shop(client)
        customer = sign_up(client, "customer")
        card = buy_card(customer, shop, 1000).json()
        assert shop.redeem(100, card_id=card["id"]).status_code == 200
        assert terminate_connections(postgres_url, name) >= 1
        assert shop.redeem(100, card_id=card["id"]).status_code == 200
        assert customer.get(f"/api/v1/gift-cards/{card['id']}").json()["balance"]["minor"] == 800
        assert terminate_connections(postgres_url, name) >= 1
        assert customer.get("/api/v1/me/gift-cards").status_code == 200


def test_work_whose_connection_dies_on_a_driver_statement_runs_again_once(named):
    engine, _ = named
    sessions = make_sessionmaker(engine)
    runs = []
    end_this_backend = text("SELECT pg_terminate_backend(pg_backend_pid())")

    def work(session: Session) -> int:
        runs.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        if len(runs) == 1:  # the server goes away under a statement sent on the driver
            driver_rows(session, end_this_backend, {})
        return len(runs)

    assert in_transaction(sessions, work) == 2
    assert runs[0] != runs[1]


def test_work_whose_connection_dies_midway_runs_again_once(named):
    engine, _ = named
    sessions = make_sessionmaker(engine)
    runs = []

    def work(session: Session) -> int:
        runs.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        if len(runs) == 1:  # the server goes away in the middle of the first run
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return len(runs)

    assert in_transaction(sessions, work) == 2
    assert runs[0] != runs[1]  # the second run had a new connection
