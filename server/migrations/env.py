"""Alembic environment: the URL comes from the config the caller builds (`server.migrate`)."""

from __future__ import annotations

from typing import Literal

from alembic import context
from sqlalchemy import engine_from_config, pool

from server import models as _models  # noqa: F401 - registers every table
from server.db import Base, UtcDateTime

config = context.config


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _render_item(kind: str, obj: object, _: object) -> str | Literal[False]:
    # Migrations hold the plain column type; UtcDateTime only adds Python-side handling.
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
