"""Two hosts as one system: two `tillpoint server` processes, each with its own data folder,
over one PostgreSQL and one Redis, sharing only configuration (the JWT secret in the
environment, the issuer keys in a mounted folder). Requests alternate between them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import cycle
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    FAST_HASHING,
    PASSWORD,
    free_port,
    redis_env,
    running,
    tillpoint,
    tillpoint_run,
)

pytestmark = pytest.mark.postgres


@contextmanager
def two_hosts(postgres_url: str, tmp_path: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    shared = {
        "DATABASE_URL": postgres_url,
        "TILLPOINT_JWT_SECRET": secrets.token_hex(32),
        "TILLPOINT_KEYS_DIR": str(tmp_path / "mounted-keys"),
        "TILLPOINT_LOGIN_ATTEMPTS_PER_MINUTE": "4",  # pairing tries per address
        **FAST_HASHING,
        **redis_env(),
    }
    migrate = tillpoint_run(
        "server", "migrate", env={**shared, "TILLPOINT_DATA_DIR": str(tmp_path / "a")}
    )
    assert migrate.returncode == 0, migrate.stdout
    with ExitStack() as stack:
        bases = []
        for host in ("a", "b"):
            port = free_port()
            env = {**shared, "TILLPOINT_DATA_DIR": str(tmp_path / host)}
            bases.append(
                stack.enter_context(
                    running(tillpoint("server", "--port", str(port), env=env), port)
                )
            )
        yield bases, {**shared, "TILLPOINT_DATA_DIR": str(tmp_path / "a")}


def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def login(base: str, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password})


def test_two_hosts_behave_as_one_system(postgres_url, tmp_path):
    with two_hosts(postgres_url, tmp_path) as ((a, b), host_a_env):
        hosts = cycle((a, b))
        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        signup = httpx.post(
            f"{a}/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": "vendor"}
        )
        assert signup.status_code == 201, signup.text

        # Tokens issued by one host work on the other, refreshes too.
        tokens = login(b, email).json()
        for _ in range(4):
            assert httpx.get(f"{next(hosts)}/api/v1/me", headers=auth(tokens)).status_code == 200
        tokens = httpx.post(
            f"{a}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        ).json()
        assert httpx.get(f"{b}/api/v1/me", headers=auth(tokens)).status_code == 200

        # A logout on one host is seen by the other at once.
        out = httpx.post(
            f"{a}/api/v1/auth/logout",
            json={"refresh_token": tokens["refresh_token"]},
            headers=auth(tokens),
        )
        assert out.status_code == 204
        assert httpx.get(f"{b}/api/v1/me", headers=auth(tokens)).status_code == 401

        # A key rotation on one host is in the other's trust list.
        before = httpx.get(f"{b}/api/v1/trust-list").json()["keys"]
        assert httpx.get(f"{a}/api/v1/trust-list").json()["keys"] == before
        rotated = tillpoint_run("server", "rotate-keys", env=host_a_env)
        assert rotated.returncode == 0, rotated.stdout
        after = httpx.get(f"{b}/api/v1/trust-list").json()["keys"]
        assert len(after) == len(before) + 1
        assert httpx.get(f"{a}/api/v1/trust-list").json()["keys"] == after

        # Rate limits count across both: 4 pairing tries a minute from one address.
        bad_pairing = {"code": "AAAA-AAAA", "public_key": "not a key"}
        codes = [
            httpx.post(f"{next(hosts)}/api/v1/devices/pair", json=bad_pairing).status_code
            for _ in range(5)
        ]
        assert codes == [422, 422, 422, 422, 429]

        # Login throttles count across both: five free wrong passwords, then a wait, on either.
        device = login(a, email).json()["device_token"]
        codes = [login(next(hosts), email, "wrong password").status_code for _ in range(6)]
        assert codes == [401] * 6
        assert login(a, email).status_code == 429
        assert login(b, email).status_code == 429
        # The owner's known device still gets in, on either host.
        known = httpx.post(
            f"{b}/api/v1/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"X-Device-Token": device},
        )
        assert known.status_code == 200, known.text
