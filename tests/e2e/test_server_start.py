"""`tillpoint server` at 3 a.m.: a setting that is wrong stops it at once with one line saying
what to do (exit 2), with one worker or several; a port in use stops it too, and nothing it
started is left listening."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from server.migrate import head_revision, upgrade
from tests.e2e.conftest import (
    FAST_HASHING,
    free_port,
    printed,
    redis_env,
    running,
    tillpoint,
    tillpoint_run,
)
from tests.server.conftest import POSTGRES_URL

SECRET = "s" * 32


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Callable[[Path, str], dict[str, str]]:
    """The settings of a SQLite database migrated to a revision: a copy of one migrated
    once for the module (migrating takes seconds)."""
    made: dict[str, Path] = {}

    def settings(tmp_path: Path, revision: str = "head") -> dict[str, str]:
        if revision not in made:
            made[revision] = tmp_path_factory.mktemp("migrated") / "server.db"
            upgrade(f"sqlite:///{made[revision]}", revision=revision)
        shutil.copy(made[revision], tmp_path / "server.db")
        return _settings(f"sqlite:///{tmp_path / 'server.db'}", tmp_path)

    return settings


def _settings(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "TILLPOINT_DATA_DIR": str(tmp_path / "data"),
        "TILLPOINT_JWT_SECRET": SECRET,
        **FAST_HASHING,
    }


def _refused(env: dict[str, str], workers: int) -> str:
    """Start the server with `env`; it must stop by itself with exit 2 and one line (no
    traceback); that line."""
    if workers > 1:
        env = {**redis_env(), **env}
    port = str(free_port())
    done = tillpoint_run("server", "--port", port, "--workers", str(workers), env=env)
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stdout
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("tillpoint: ")
    return lines[0]


def _no_such_database() -> str:
    if not POSTGRES_URL:
        pytest.skip("needs TILLPOINT_TEST_POSTGRES_URL")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/tillpoint_none_{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("wrong", "said", "workers"),
    [
        ("no such database", "does not exist): check DATABASE_URL", 1),
        ("no such database", "does not exist): check DATABASE_URL", 2),
        ("refused connection", "check DATABASE_URL and that the database server is running", 1),
        ("unparseable URL", "check DATABASE_URL", 1),
        ("missing secret file", "does not exist: mount it or fix the path", 1),
        ("missing secret file", "does not exist: mount it or fix the path", 2),
        ("short secret", "the JWT secret has 5 bytes: use at least 32", 1),
        ("Redis away", "does not answer", 1),
        ("Redis away", "does not answer", 2),
    ],
)
def test_a_wrong_setting_stops_the_server_with_one_line(migrated, tmp_path, wrong, said, workers):
    env = migrated(tmp_path)
    if wrong == "no such database":
        env["DATABASE_URL"] = _no_such_database()
    elif wrong == "refused connection":
        env["DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    elif wrong == "unparseable URL":
        env["DATABASE_URL"] = "postgres:/oops"
    elif wrong == "missing secret file":
        env |= {"TILLPOINT_JWT_SECRET": "", "TILLPOINT_JWT_SECRET_FILE": str(tmp_path / "nope")}
    elif wrong == "short secret":
        env["TILLPOINT_JWT_SECRET"] = "short"
    else:
        env |= {**redis_env(), "TILLPOINT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    assert said in _refused(env, workers)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_schema_behind_the_code_stops_the_server_saying_to_migrate(migrated, tmp_path, workers):
    env = migrated(tmp_path, "0031")
    said = _refused(env, workers)
    assert said == (
        f"tillpoint: the database is at 0031, this code needs {head_revision()}: "
        "run `tillpoint server migrate`"
    )


def test_a_database_never_migrated_stops_the_server_saying_to_migrate(tmp_path, database_url):
    env = _settings(database_url, tmp_path)
    if database_url.startswith("sqlite"):
        Path(database_url.removeprefix("sqlite:///")).touch()  # there, and empty
    said = _refused(env, 1)
    assert "has no tables" in said
    assert "`tillpoint server migrate`" in said


def test_a_worker_that_cannot_start_stops_the_server_instead_of_starting_again(migrated, tmp_path):
    # The parent's checks pass; each worker then fails building the app.
    env = {**migrated(tmp_path), "TILLPOINT_PUSH_TRANSPORT": "no_such_module:make"}
    process = tillpoint("server", "--port", str(free_port()), "--workers", "2",
                        env={**redis_env(), **env})  # fmt: skip
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still starting workers:\n{printed(process)}") from None
    finally:
        said = printed(process)
        process.log.close()  # type: ignore[attr-defined]
    assert code == 2, said
    assert said.strip().splitlines()[-1] == (
        "tillpoint: a worker could not start: ModuleNotFoundError: No module named "
        "'no_such_module' (its traceback is above)"
    )
    assert said.count("died") == 0  # no worker was started again


@pytest.mark.parametrize("shared", ["in process", "Redis"])
def test_a_port_in_use_stops_the_server_and_its_metrics_port(migrated, tmp_path, shared):
    env = migrated(tmp_path)
    if shared == "Redis":
        env |= redis_env()
    port, metrics_port = free_port(), free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        process = tillpoint("server", "--port", str(port), "--metrics-port", str(metrics_port),
                            env=env)  # fmt: skip
        try:
            code = process.wait(timeout=30)  # it used to wait for ever, deaf to signals
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"still running:\n{printed(process)}") from None
        finally:
            said = printed(process)
            process.log.close()  # type: ignore[attr-defined]
    assert code != 0, said
    assert "address already in use" in said
    assert "Traceback" not in said
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=2)


def test_a_server_on_a_migrated_database_still_starts_with_several_workers(migrated, tmp_path):
    env = {**migrated(tmp_path), **redis_env()}
    port = free_port()
    with running(tillpoint("server", "--port", str(port), "--workers", "2", env=env), port) as base:
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
