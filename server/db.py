"""The database: engine, sessions, and the declarative base every area's models share."""

from __future__ import annotations

import enum
import json
import math
import select
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from prometheus_client import Counter
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    CursorResult,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    Result,
    Select,
    SelectBase,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
)
from sqlalchemy import select as sql_select  # `select` is the standard library's, below
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from . import writebehind
from .pages import PageRequest

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")

__all__ = [
    "ROUND_TRIPS",
    "Base",
    "BigId",
    "SessionDep",
    "UtcDateTime",
    "driver_rows",
    "in_transaction",
    "make_engine",
    "make_sessionmaker",
    "process_cache",
    "rowcount",
    "str_enum",
    "utcnow",
]


def str_enum(kind: type[enum.StrEnum], length: int) -> Enum:
    """A column of `kind` stored as its values in a VARCHAR(`length`) (no database enum type,
    no CHECK constraint: adding a member needs no migration); reads give the enum."""
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda k: [m.value for m in k]
    )


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (Session.execute is typed as a plain Result)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def count_of(session: Session, query: SelectBase) -> int:
    """How many rows `query` finds in all: a page's `total`."""
    return session.scalar(sql_select(func.count()).select_from(query.subquery())) or 0


Row = TypeVar("Row")


def page_of(session: Session, query: Select[Row], asked: PageRequest) -> tuple[list[Row], int]:
    """The page `asked` for of what `query` finds (order it first), and how many it finds in
    all: both counted by the database, not by reading every row."""
    rows = session.scalars(query.offset(asked.offset).limit(asked.limit))
    return list(rows), count_of(session, query)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the
    zone; PostgreSQL keeps it). Naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store timezone-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Stable constraint names, so migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ROUND_TRIPS = Counter(
    "tillpoint_database_round_trips_total",
    "Round trips to the database: statements (a batch of rows sent as one counts once), "
    "BEGIN and COMMIT",
)


def among(
    session: Session,
    column: QueryableAttribute[Any] | ColumnElement[Any],
    values: Collection[Any],
) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL, `column = ANY(array)`: one parameter however many
    values, so the statement's text stays the same and is parsed and prepared once (an IN
    list of 500 is a new, long statement each time, which psycopg converts in Python)."""
    if session.get_bind().dialect.name == "postgresql":
        kind = column.expression.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(kind)))
    return column.in_(values)


def where_among(
    session: Session,
    query: Select[*tuple[Any, ...]],
    column: QueryableAttribute[Any] | ColumnElement[Any],
    values: Collection[Any],
) -> Select[*tuple[Any, ...]]:
    """`query` kept to the rows whose `column` is one of `values`, for a column that an
    index does not lead with. `among` there becomes a filter that compares every row the
    rest of the query finds with every value; on PostgreSQL this joins the values,
    unnested, instead: a hash or an index lookup each. (A push's 500 attempt keys against
    its device's 11,000 redemptions: 179 ms with `= ANY`, 4 ms joined.)"""
    if session.get_bind().dialect.name != "postgresql":
        return query.where(column.in_(values))
    kind = column.expression.type
    wanted = (
        func.unnest(bindparam(None, sorted(set(values)), type_=ARRAY(kind)))
        .table_valued("value")
        .render_derived()
    )
    return query.join(wanted, column == wanted.c.value)


@dataclass(frozen=True)
class _DriverPlan:
    statement: Executable  # kept, so that its id is not another statement's
    compiled: SQLCompiler
    processors: Mapping[str, Callable[[Any], Any]]  # each parameter's, by name, if it has one


_DRIVER_PLANS: dict[int, _DriverPlan] = {}


def driver_rows(
    session: Session, statement: Executable, params: Mapping[str, Any]
) -> Sequence[Any]:
    """The rows of `statement` — built once, its values parameters — as tuples, in its
    columns' order (psycopg's plain rows: naming them cost more than the rest of a row).
    On PostgreSQL it goes to psycopg itself, compiled once per process: SQLAlchemy's work
    around a statement (its execution context, its result's metadata, the events) cost a
    redemption's hot statements more than psycopg and PostgreSQL did. Parameters go
    through their types as SQLAlchemy would send them; results come as psycopg gives them,
    so keep this to counts, sums and plain columns, and to statements built once (module
    constants: the plans are kept by statement). What the session has yet to write is
    flushed first when it autoflushes, as `session.execute` does for ORM statements."""
    if session.autoflush:
        session.flush()
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, params).all()
    plan = _DRIVER_PLANS.get(id(statement))
    if plan is None or plan.statement is not statement:
        plan = _DRIVER_PLANS[id(statement)] = _driver_plan(statement, connection.dialect)
    values = plan.compiled.construct_params(params)
    for name, process in plan.processors.items():
        values[name] = process(values[name])
    ROUND_TRIPS.inc()
    return writebehind.rows_now(connection, plan.compiled.string, values)


def _driver_plan(statement: Executable, dialect: Dialect) -> _DriverPlan:
    compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("driver_rows takes no expanding (IN) parameters: use session.execute")
    processors = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[compiled.escaped_bind_names.get(name, name)] = process
    return _DriverPlan(statement, compiled, processors)


def insert_rows(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], *, later: bool = False
) -> None:
    """Insert `rows` (each a column's value by name, all naming the same columns; columns
    left out take their defaults) in one statement. Given many rows, psycopg sends one
    INSERT per row, each parsed, planned and run on its own; on PostgreSQL this sends each
    column as one array instead, `INSERT ... SELECT * FROM unnest(...)`: a short statement,
    prepared once, however many rows (up to `_FEW_ROWS` go as VALUES). Elsewhere (SQLite)
    it is the ORM's bulk insert. Like that, it fires no ORM events. `later`: nothing reads
    what the rows make, so on PostgreSQL the INSERT goes with the transaction's next
    statement or its COMMIT (`writebehind`)."""
    if not rows:
        return
    if later and session.new:  # the ORM's pending rows go first, as they were made first
        session.flush()
    connection = session.connection()
    table = cast(Table, model.__table__)
    if connection.dialect.name != "postgresql":
        _refuse_unknown(table, rows[0])
        session.execute(insert(model), list(rows))
        return
    plan = _unnest_plan(table, tuple(rows[0]), connection.dialect)
    params: list[Any] = []
    if len(rows) <= _FEW_ROWS:  # a few rows: their values as they are (psycopg dumps arrays
        # in Python, a column at a time; plain values in C, a statement at a time)
        for row in rows:
            for column, given, default, process in plan.columns:
                value = row[column] if given else default()
                params.append(value if process is None else process(value))
        sql = plan.values(len(rows))
    else:
        for column, given, default, process in plan.columns:
            values = [row[column] for row in rows] if given else [default() for _ in rows]
            params.append(values if process is None else [process(v) for v in values])
        sql = plan.sql
    if later:
        writebehind.later_sql(connection, sql, tuple(params))
    else:
        connection.exec_driver_sql(sql, tuple(params))


# Up to this many rows go as VALUES, each count its own statement (prepared once each).
_FEW_ROWS = 4


@dataclass(frozen=True)
class _UnnestPlan:
    sql: str
    into: str  # INSERT INTO table (columns)
    row: str  # one row's placeholders, for VALUES
    # (column name, given in the rows, its default, the type's bind processor)
    columns: list[tuple[str, bool, Callable[[], Any], Callable[[Any], Any] | None]]
    few: dict[int, str] = field(default_factory=dict)

    def values(self, count: int) -> str:
        """The same INSERT for `count` rows, with VALUES."""
        sql = self.few.get(count)
        if sql is None:
            sql = self.few[count] = f"{self.into} VALUES {', '.join([self.row] * count)}"
        return sql


def _json_text(value: Any) -> str | None:
    """A JSON column's value as its text (NULL stays NULL), cast to JSON in the statement."""
    return None if value is None else json.dumps(value)


def _nothing() -> None:
    return None


def _default_of(column: Column[Any]) -> Callable[[], Any]:
    """A column's Python-side default (a value, or a function of nothing) as a function."""
    default = column.default
    if isinstance(default, ScalarElementColumnDefault):
        value = default.arg
        return lambda: value
    if isinstance(default, CallableColumnDefault):
        make = default.arg
        return lambda: make(None)  # type: ignore[arg-type]  # its wrapper ignores the context
    raise ValueError(f"give {column.table.name}.{column.name} in every row")


def _refuse_unknown(table: Table, names: Collection[str]) -> None:
    unknown = set(names) - {c.name for c in table.columns}
    if unknown:
        raise ValueError(f"{table.name} has no column {sorted(unknown)[0]}")


_UNNEST_PLANS: dict[tuple[str, tuple[str, ...]], _UnnestPlan] = {}


def _unnest_plan(table: Table, names: tuple[str, ...], dialect: Any) -> _UnnestPlan:
    """The statement and per-column steps for inserting rows naming `names` into `table`."""
    plan = _UNNEST_PLANS.get((table.name, names))
    if plan is not None:
        return plan
    columns: list[tuple[str, bool, Callable[[], Any], Callable[[Any], Any] | None]] = []
    casts, one = [], []
    _refuse_unknown(table, names)
    for column in table.columns:
        given = column.name in names
        if not given and column.default is None:
            continue  # the database's default, or its sequence
        produce = _nothing if given else _default_of(column)
        process = column.type.bind_processor(dialect)
        if isinstance(column.type, JSON):  # the driver adapts JSON values, not SQLAlchemy
            process = _json_text
        columns.append((column.name, given, produce, process))
        kind = column.type.compile(dialect=dialect)
        casts.append(f"%b::{kind}[]")  # binary: no quoting
        one.append(f"%s::{kind}")
    quote = dialect.identifier_preparer.quote
    listed = ", ".join(quote(name) for name, *_ in columns)
    # Names from the table's own metadata; every value goes as a parameter.
    into = f"INSERT INTO {quote(table.name)} ({listed})"
    sql = f"{into} SELECT * FROM unnest({', '.join(casts)})"  # noqa: S608
    plan = _UNNEST_PLANS[table.name, names] = _UnnestPlan(sql, into, f"({', '.join(one)})", columns)
    return plan


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with every area's tables registered on `Base.metadata`."""
    from . import models  # noqa: F401 - foreign keys across areas resolve only when all load

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        kwargs.setdefault("pool_size", 16)
        kwargs.setdefault("max_overflow", 16)
        # No pre-ping (a round trip every request): a connection is checked on checkout by
        # looking at its socket instead, and a request whose connection died mid-way runs
        # again once (`in_transaction`).
        engine = create_engine(url, **kwargs)
        event.listen(engine, "checkout", _check_socket)
        # BEGIN rides with the transaction's first statement, and writes no one reads with
        # the next statement or the COMMIT (`writebehind`): one round trip each time.
        writebehind.install(engine)
    counted: tuple[str, ...] = ("before_cursor_execute", "commit")
    if url.startswith("sqlite"):
        counted += ("begin",)
    for name in counted:
        event.listen(engine, name, _count_round_trip)
    return engine


def _count_round_trip(*_: object) -> None:
    ROUND_TRIPS.inc()


def _check_socket(dbapi_connection: Any, record: object, proxy: object) -> None:
    """An idle pooled connection has nothing to read. If its socket is readable, the
    server closed it or said why it is closing it (a restart, `pg_terminate_backend`, an
    idle timeout): the pool drops it and connects afresh, with no round trip spent on
    connections that are fine."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    if readable:
        raise DisconnectionError("the server closed the connection while it was idle")


def _sqlite_connect(connection: Any, _: object) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # The searches near a point measure distances in SQL (`directory.repository.nearness`);
    # SQLite has these only when built with its math functions. Python's, as `distance_km`'s.
    for name, measure in (("sin", math.sin), ("cos", math.cos), ("radians", math.radians)):
        connection.create_function(name, 1, _null_safe(measure), deterministic=True)


def _null_safe(measure: Callable[[float], float]) -> Callable[[float | None], float | None]:
    def of(value: float | None) -> float | None:
        return None if value is None else measure(value)

    return of


def _sqlite_begin(connection: Any) -> None:
    # Take the write lock up front: a deferred transaction that reads and then writes
    # fails at once ("database is locked") if another wrote in between, instead of waiting.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_caches: weakref.WeakKeyDictionary[Engine, dict[str, dict[Any, Any]]] = weakref.WeakKeyDictionary()


def process_cache(session: Session, name: str) -> dict[Any, Any]:
    """A dict this process keeps for the database `session` is bound to (each engine its
    own, so tests with a database each never share one): for what never changes once
    committed, such as an account's id."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _caches.setdefault(engine, {}).setdefault(name, {})


Result_ = TypeVar("Result_")


def in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], Result_]) -> Result_:
    """`work` with a session of its own; run once more, with a fresh connection, if the
    database connection was lost before it finished (the server restarted). Only for work
    that is safe to repeat: idempotent operations, whose answer and changes commit
    together, so a second run replays the first when its commit did land."""
    for attempt in (1, 2):
        with sessions() as session:
            try:
                return work(session)
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
    raise AssertionError("unreachable")


def _session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]
