from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.db import Base, make_engine
from server.migrate import upgrade


def test_migrations_build_exactly_the_models_schema(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            tables = set(inspect(connection).get_table_names())
        assert diff == []
        assert {"businesses", "branches", "products"} <= tables
    finally:
        engine.dispose()


def test_migrating_twice_changes_nothing(database_url):
    engine = make_engine(database_url)
    try:
        for _ in range(2):
            with engine.begin() as connection:
                upgrade(database_url, connection)
    finally:
        engine.dispose()
