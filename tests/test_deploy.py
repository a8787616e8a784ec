"""The deployment kit in deploy/: the compose file's shape (and `docker compose config` where
a compose client is installed), the Dockerfile's promises, and the two scripts it installs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
LONG_RUNNING = {"api", "jobs", "worker", "postgres", "redis", "caddy"}


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_every_part_of_the_system_is_a_service():
    assert set(compose()["services"]) == LONG_RUNNING | {"migrate"}


def test_every_long_running_service_has_a_health_check():
    services = compose()["services"]
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check, name
        assert not check.get("disable"), name
        assert check["test"], name


def test_migrations_run_once_and_gate_the_api_and_the_job_runner():
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["tillpoint", "server", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "jobs", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["caddy"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_the_api_leaves_billing_to_the_job_runner_and_mail_and_webhooks_to_the_worker():
    services = compose()["services"]
    assert services["api"]["environment"]["TILLPOINT_BILLING_INTERVAL_SECONDS"] == "0"
    assert services["api"]["environment"]["TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS"] == "0"
    assert services["api"]["environment"]["TILLPOINT_WEBHOOKS_INTERVAL_SECONDS"] == "0"
    assert services["worker"]["command"][:3] == ["tillpoint", "server", "worker"]
    assert services["api"]["command"][:2] == ["tillpoint", "server"]
    assert services["jobs"]["command"] == ["jobs.sh"]


def test_settings_come_from_the_environment_and_secret_files():
    document = compose()
    api = document["services"]["api"]["environment"]
    assert api["DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert api["REDIS_URL"].startswith("redis://redis:")
    assert "DATABASE_URL" not in api  # the password stays in a secret file
    for name, secret in document["secrets"].items():
        assert secret["file"].startswith("./secrets/"), name  # deploy/secrets/ is git-ignored
    assert "/deploy/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    postgres = document["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_only_the_proxy_publishes_ports_and_its_config_is_there():
    services = compose()["services"]
    assert [name for name, s in services.items() if s.get("ports")] == ["caddy"]
    mounts = services["caddy"]["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in mounts
    assert (DEPLOY / "Caddyfile").is_file()


def test_the_dockerfile_builds_a_non_root_server_image_with_a_health_check():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#")
    assert "\nFROM python:3.11-slim\n" in dockerfile
    assert 'pip install ".[server]"' in dockerfile
    user = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user
    assert user[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in dockerfile
    assert "/healthz" in dockerfile
    assert 'CMD ["tillpoint", "server"' in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    build = compose()["services"]["api"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path):
    client = _compose_client()
    if client is None:
        pytest.skip("no compose client (`docker compose` or `docker-compose`) on this machine")
    path = COMPOSE
    if client[0].endswith("docker-compose"):
        # Compose v1 predates the top-level `name` of the Compose Specification; it checks
        # everything else. The copy stays in deploy/ so relative paths resolve the same.
        text = COMPOSE.read_text().replace("\nname: tillpoint\n", "\n")
        path = DEPLOY / f".compose-v1-check-{os.getpid()}.yaml"
        path.write_text(text)
    try:
        result = subprocess.run(
            [*client, "-f", str(path), "config", "-q"], capture_output=True, text=True
        )
    finally:
        if path != COMPOSE:
            path.unlink()
    assert result.returncode == 0, result.stderr


def test_caddy_accepts_the_caddyfile():
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed here")
    result = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env={**os.environ, "TILLPOINT_DOMAIN": "gift.example.com"},
    )
    assert result.returncode == 0, result.stderr
    assert "gift.example.com" in result.stdout
    assert '"dial":' not in result.stdout


def test_the_entrypoint_reads_settings_from_secret_files(tmp_path):
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://tillpoint:s3cret@postgres:5432/tillpoint\n")
    result = subprocess.run(
        [
            "sh",
            str(DEPLOY / "docker-entrypoint.sh"),
            "sh",
            "-c",
            'echo "$DATABASE_URL|${DATABASE_URL_FILE:-}"',
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "DATABASE_URL_FILE": str(secret)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "postgresql://tillpoint:s3cret@postgres:5432/tillpoint|\n"
    missing = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh"), "true"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "TILLPOINT_X_FILE": str(tmp_path / "nothing")},
    )
    assert missing.returncode == 1
    assert "TILLPOINT_X_FILE" in missing.stderr


def run_the_job_runner(
    tmp_path, billing_exit: int, until: str, times: int
) -> tuple[list[str], bool]:
    """jobs.sh every second, over a `tillpoint` that records its calls and whose billing-run
    exits `billing_exit`, until `until` was called `times` times: the calls, and whether the
    heartbeat was touched."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "tillpoint"
    fake.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n[ "$2" = billing-run ] && exit {billing_exit}\nexit 0\n'
    )
    fake.chmod(0o755)
    heartbeat = tmp_path / "heartbeat"
    runner = subprocess.Popen(
        ["sh", str(DEPLOY / "jobs.sh")],
        env={
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "JOBS_INTERVAL_SECONDS": "1",
            "BILLING_INTERVAL_SECONDS": "3600",
            "HEARTBEAT": str(heartbeat),
        },
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if calls.exists() and calls.read_text().count(until) >= times:
                break
            time.sleep(0.1)
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=5)
    return calls.read_text().splitlines(), heartbeat.exists()


def test_the_job_runner_runs_jobs_each_round_and_billing_once_an_interval(tmp_path):
    # billing-run exits 1 (some businesses not billed): the runner carries on, healthy.
    lines, healthy = run_the_job_runner(tmp_path, 1, "run-jobs", 3)
    assert lines.count("server run-jobs") >= 3
    assert lines.count("server billing-run") == 1
    assert healthy


def test_the_job_runner_is_unhealthy_while_billing_crashes(tmp_path):
    """billing-run crashing (exit 70) is not "some businesses not billed" (exit 1): no
    heartbeat, and billing is tried again at the next round rather than an interval on."""
    lines, healthy = run_the_job_runner(tmp_path, 70, "billing-run", 2)
    assert lines.count("server billing-run") >= 2
    assert not healthy
