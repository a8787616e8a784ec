"""What the benchmark scripts share: a scratch PostgreSQL database and a free port."""

from __future__ import annotations

import os
import socket

import psycopg

ADMIN_URL = os.environ.get(
    "TILLPOINT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench password 1"


def recreate(database: str) -> str:
    """Drop and create `database` on the benchmark server; its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
        )  # a crashed run's server may hold it
        connection.execute(f'CREATE DATABASE "{database}"')
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
