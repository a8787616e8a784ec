"""A schema-driven fuzz run (schemathesis) against the real server: no input gives a 5xx."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.e2e.conftest import FAST_HASHING, free_port, running, tillpoint, tillpoint_run


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz")
    env = {
        "TILLPOINT_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data}/fuzz.db",
        **FAST_HASHING,
    }
    assert tillpoint_run("demo", "--data-dir", str(data), "--seed-only", env=env).returncode == 0
    port = free_port()
    with running(
        tillpoint(
            "server",
            "--port",
            str(port),
            env={**env, "DATABASE_URL": f"sqlite:///{data / 'tillpoint.db'}"},
        ),
        port,
    ) as base:
        yield base


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
