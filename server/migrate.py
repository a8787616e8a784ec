"""Schema migrations (Alembic), run programmatically: `tillpoint server migrate`; and the
check that a database's schema is the one this code was written for (`SchemaWatch`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicCommandError
from sqlalchemy import Connection, Engine

__all__ = [
    "SchemaError",
    "SchemaMismatch",
    "SchemaWatch",
    "alembic_config",
    "head_revision",
    "schema_problem",
    "upgrade",
]

MIGRATE = "run `tillpoint server migrate`"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, connection: Connection | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, connection), revision)


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def head_revision() -> str:
    """The revision this code's migrations end at: the schema it needs."""
    head = _scripts().get_current_head()
    assert head is not None, "the migrations have one head"
    return head


class SchemaError(RuntimeError):
    """The database's schema is not the one this code needs; the message says what to do."""


@dataclass(frozen=True)
class SchemaMismatch:
    """How the database's schema differs from the code's, and what to do, in one sentence."""

    detail: str
    code_is_older: bool  # the database was migrated by a later release (an upgrade under way)


def schema_problem(connection: Connection) -> SchemaMismatch | None:
    """How the schema behind `connection` differs from the code's; None when it is the same."""
    revision = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if revision == head:
        return None
    if revision is None:
        return SchemaMismatch(f"the database has no tables: {MIGRATE}", code_is_older=False)
    try:
        known = _scripts().get_revision(revision) is not None
    except AlembicCommandError:
        known = False
    if not known:
        return SchemaMismatch(
            f"the database is at {revision}, newer than this code (which needs {head}): run "
            "the release that migrated it, or a newer one",
            code_is_older=True,
        )
    return SchemaMismatch(
        f"the database is at {revision}, this code needs {head}: {MIGRATE}", code_is_older=False
    )


class SchemaWatch:
    """Whether the database's schema is the code's, read again at most every `every`
    seconds: /healthz asks it on every probe, and a schema changes only by a migration."""

    def __init__(
        self, engine: Engine, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine, self._every, self._clock = engine, every, clock
        self._lock = threading.Lock()
        self._seen: tuple[float, SchemaMismatch | None] | None = None

    def problem(self) -> SchemaMismatch | None:
        with self._lock:
            if self._seen is not None and self._clock() - self._seen[0] < self._every:
                return self._seen[1]
        with self._engine.connect() as connection:
            found = schema_problem(connection)
        with self._lock:
            self._seen = (self._clock(), found)
        return found

    def forget(self) -> None:
        """Read the schema again at the next question."""
        with self._lock:
            self._seen = None

    def require(self) -> None:
        """Raise `SchemaError` unless the schema is the code's."""
        problem = self.problem()
        if problem is not None:
            raise SchemaError(problem.detail)
