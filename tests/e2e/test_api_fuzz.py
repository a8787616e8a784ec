"""A schema-driven fuzz run (schemathesis) against the real server: no input gives a 5xx."""

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from server.accounts.passwords import Passwords
from server.db import make_engine, make_sessionmaker
from server.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo
from server.keys.keyring import Keyring
from server.migrate import upgrade
from tests.e2e.conftest import FAST_HASHING, free_port, running, tillpoint
from tests.server.conftest import fresh_postgres_schema


def seed(database_url: str, data: Path) -> None:
    """Migrate and add the demo data, as `tillpoint demo` does on SQLite."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        seed_demo(session, Keyring.open(data / "keys"), Passwords(1, 64), data / "qr")
    engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo_server(request, tmp_path_factory):
    """The demo data behind a real server, on SQLite and on PostgreSQL: PostgreSQL enforces
    column lengths that SQLite does not, so only it shows some 500s."""
    data = tmp_path_factory.mktemp("fuzz")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{data / 'tillpoint.db'}"
        else:
            url = stack.enter_context(fresh_postgres_schema())
        seed(url, data)
        env = {"TILLPOINT_DATA_DIR": str(data), "DATABASE_URL": url, **FAST_HASHING}
        port = free_port()
        yield stack.enter_context(running(tillpoint("server", "--port", str(port), env=env), port))


@pytest.fixture(scope="module")
def tokens(demo_server):
    """Every role signs in before the fuzzing starts: it also fuzzes sign-in, whose rate
    limit then turns this address away for a minute."""
    found = {}
    for role, email in DEMO_LOGINS.items():
        login = httpx.post(
            f"{demo_server}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        found[role] = login.json()["access_token"]
    return found


@pytest.mark.parametrize("role", ["customer", "vendor", "cashier"])
def test_no_request_makes_the_server_fail(demo_server, tokens, role, tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{demo_server}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "10",
            "--seed",
            "7",
            "-H",
            f"Authorization: Bearer {tokens[role]}",
            "--request-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
