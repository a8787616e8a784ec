"""The deployment kit in deploy/: the compose file's shape (and `docker compose config` where
a compose client is installed), the Dockerfile's promises, and the entrypoint it installs.
The job runner it runs (`tillpoint server jobs`) is tested in tests/server/test_job_runner.py."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sync.cli import build_parser

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
    assert services["jobs"]["command"][:3] == ["tillpoint", "server", "jobs"]


def parsed(service: dict[str, Any]) -> argparse.Namespace:
    """A service's `tillpoint ...` command as the CLI reads it (a wrong option fails)."""
    command = [part.replace("${TILLPOINT_API_WORKERS:-2}", "2") for part in service["command"]]
    assert command[0] == "tillpoint"
    return build_parser().parse_args(command[1:])


def test_the_tillpoint_services_run_commands_the_cli_takes():
    services = compose()["services"]
    for name in ("migrate", "api", "jobs", "worker"):
        parsed(services[name])


def test_the_api_the_worker_and_the_job_runner_each_serve_metrics_on_a_port_of_their_own():
    """Prometheus scrapes each from the backend network: a port of each's own, exposed there,
    published nowhere (only Caddy publishes ports)."""
    services = compose()["services"]
    ports = {}
    for name in ("api", "worker", "jobs"):
        args = parsed(services[name])
        assert args.metrics_host == "0.0.0.0", name
        assert str(args.metrics_port) in services[name]["expose"], name
        ports[name] = args.metrics_port
    assert len(set(ports.values())) == 3, ports


def test_the_job_runner_bills_hourly_and_says_it_is_healthy_by_its_heartbeat():
    jobs = compose()["services"]["jobs"]
    args = parsed(jobs)
    assert (args.interval, args.billing_interval) == (300, 3600)
    assert str(args.heartbeat) in " ".join(jobs["healthcheck"]["test"])


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
