"""What the server checks when it starts and when /healthz is asked: the schema is the code's,
and several workers starting at once on a new database all start."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.app import create_app
from server.billing.defaults import DEFAULT_PRICES, ensure_prices
from server.billing.models import PriceItem
from server.db import make_engine, make_sessionmaker
from server.migrate import SchemaError, SchemaWatch, head_revision, upgrade


@pytest.mark.postgres
def test_workers_filling_a_new_price_list_at_once_all_start(postgres_url):
    upgrade(postgres_url)
    starting = 8
    at_once = threading.Barrier(starting)

    def start() -> None:
        engine = make_engine(postgres_url)
        try:
            with make_sessionmaker(engine)() as session:
                at_once.wait(timeout=30)
                ensure_prices(session, "GBP")
        finally:
            engine.dispose()

    with ThreadPoolExecutor(starting) as pool:
        for started in [pool.submit(start) for _ in range(starting)]:
            started.result(timeout=60)  # raised IntegrityError (UniqueViolation) before
    engine = make_engine(postgres_url)
    with make_sessionmaker(engine)() as session:
        codes = sorted(session.scalars(select(PriceItem.code)))
    engine.dispose()
    assert codes == sorted(code for code, *_ in DEFAULT_PRICES)


def test_a_behind_schema_is_named_with_both_revisions_and_what_to_run(database_url):
    upgrade(database_url, revision="0031")
    engine = make_engine(database_url)
    problem = SchemaWatch(engine).problem()
    engine.dispose()
    assert problem is not None
    assert not problem.code_is_older
    assert problem.detail == (
        f"the database is at 0031, this code needs {head_revision()}: "
        "run `tillpoint server migrate`"
    )


def test_a_never_migrated_database_says_to_migrate(database_url):
    engine = make_engine(database_url)
    problem = SchemaWatch(engine).problem()
    engine.dispose()
    assert problem is not None
    assert "has no tables" in problem.detail
    assert "`tillpoint server migrate`" in problem.detail


def test_a_database_newer_than_the_code_says_the_code_is_older(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    problem = SchemaWatch(engine).problem()
    engine.dispose()
    assert problem is not None
    assert problem.code_is_older
    assert "newer than this code" in problem.detail


def test_the_app_refuses_a_schema_behind_the_code(database_url, settings):
    upgrade(database_url, revision="0031")
    with pytest.raises(SchemaError, match="run `tillpoint server migrate`"):
        create_app(settings.model_copy(update={"database_url": database_url}))


def test_healthz_fails_with_the_reason_once_the_schema_falls_behind(database_url, settings):
    upgrade(database_url)
    app = create_app(settings.model_copy(update={"database_url": database_url}))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        # A newer release's migration is missing here: what the code needs is ahead of it.
        with app.state.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0031'")
        app.state.schema.forget()  # not the few seconds a probe would wait
        health = client.get("/healthz")
    app.state.engine.dispose()
    assert health.status_code == 503, health.text
    assert health.json()["type"].endswith("/schema-behind")
    assert "the database is at 0031" in health.json()["detail"]


def test_healthz_asks_the_database_for_its_schema_at_most_every_few_seconds(database_url, settings):
    upgrade(database_url)
    now = [0.0]
    engine = make_engine(database_url)
    watch = SchemaWatch(engine, every=5.0, clock=lambda: now[0])
    assert watch.problem() is None
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0031'")
    now[0] = 4.0
    assert watch.problem() is None  # what it saw a moment ago
    now[0] = 5.5
    assert watch.problem() is not None
    engine.dispose()


def test_healthz_stays_ok_while_an_upgrade_migrates_past_the_running_code(database_url, settings):
    upgrade(database_url)
    app = create_app(settings.model_copy(update={"database_url": database_url}))
    with TestClient(app) as client:
        with app.state.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        app.state.schema.forget()
        health = client.get("/healthz")
    app.state.engine.dispose()
    assert health.status_code == 200, health.text
