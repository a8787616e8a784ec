#!/usr/bin/env python3
"""Tillpoint's two commands, each setting up what it needs first.

    python3 dev.py demo    run the demo (a server on SQLite with sample data)
    python3 dev.py test    lint, types, import contract, and every test
                           (the server suite on SQLite and on PostgreSQL)
    python3 dev.py bench   the benchmarks in bench/, printed as figures

Setting up means: a virtual environment in .venv with the project installed,
the zbar library (installed when running as root, otherwise the command that
installs it is printed), and for the tests a running PostgreSQL and Redis, and
Debian's Chromium for the browser tests. Only the standard library is used here,
so this runs on any Python 3.11+.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
# A cluster this script installs itself gets this role and database.
OWN_POSTGRES_URL = "postgresql://tillpoint:tillpoint@127.0.0.1:5432/tillpoint_test"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr)
    sys.exit(1)


def run(*command: str | Path, check: bool = True, **kwargs: Any) -> int:
    result = subprocess.run([str(c) for c in command], check=False, **kwargs)
    if check and result.returncode != 0:
        fail(f"`{' '.join(str(c) for c in command)}` failed (exit {result.returncode})")
    return int(result.returncode)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(*packages: str) -> bool:
    """Install Debian packages when we can (root with apt-get); say whether it worked."""
    if not (is_root() and shutil.which("apt-get")):
        return False
    say(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if run("apt-get", "update", "-qq", check=False, env=env) != 0:
        return False
    return run("apt-get", "install", "-y", "-qq", *packages, check=False, env=env) == 0


# -- the virtual environment --------------------------------------------------------


def ensure_venv(extras: str) -> None:
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV.name}/")
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError):
            fail(
                "could not create a virtual environment: install python3-venv "
                "(e.g. `sudo apt-get install python3-venv`) and run this again"
            )
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say(f"installing Tillpoint and its packages ([{extras}]) — the first time takes a minute")
    run(
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip"
    )
    run(
        PYTHON,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-e",
        f".[{extras}]",
        cwd=ROOT,
    )
    stamp.write_text(wanted)


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium through Playwright (never a browser
    Playwright would download)."""
    if CHROMIUM.exists() or (apt_install("chromium") and CHROMIUM.exists()):
        return
    if IN_CI:
        fail("Chromium is missing and could not be installed: run `apt-get install chromium`")
    print(
        "note: Chromium is missing, so the browser tests will be skipped "
        "(`apt-get install chromium`)"
    )


def ensure_zbar(required: bool) -> None:
    """pyzbar needs the zbar shared library from the system."""
    if ctypes.util.find_library("zbar"):
        return
    if apt_install("libzbar0") and ctypes.util.find_library("zbar"):
        return
    fix = "sudo apt-get install libzbar0" if shutil.which("apt-get") else "brew install zbar"
    if required:
        fail(f"the zbar library (QR decoding) is missing: run `{fix}`, then this again")
    print(f"note: the zbar library is missing, so camera scanning will not work: `{fix}`")


# -- PostgreSQL ------------------------------------------------------------------


def postgres_answers(url: str) -> bool:
    probe = (
        "import sys, psycopg\n"
        "try:\n"
        "    psycopg.connect(sys.argv[1], connect_timeout=3).close()\n"
        "except Exception as exc:\n"
        "    print(exc, file=sys.stderr); sys.exit(1)\n"
    )
    return run(PYTHON, "-c", probe, url, check=False, stderr=subprocess.DEVNULL) == 0


def _clusters() -> list[str]:
    config = Path("/etc/postgresql")
    return sorted(p.name for p in config.iterdir()) if config.is_dir() else []


def start_postgres() -> bool:
    """Start the machine's PostgreSQL cluster(s) if they are installed but stopped."""
    if not shutil.which("pg_ctlcluster"):
        return False
    started = False
    for version in _clusters():
        say(f"starting PostgreSQL {version}")
        code = run(
            "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start", check=False
        )
        started = started or code == 0
    return started


def install_postgres() -> bool:
    if not apt_install("postgresql"):
        return False
    start_postgres()
    # Trust auth is not Debian's default: make a role with a password and a database.
    psql = ["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=0", "-c"]
    run(*psql, "CREATE ROLE tillpoint LOGIN PASSWORD 'tillpoint' CREATEDB", check=False)
    run(*psql, "CREATE DATABASE tillpoint_test OWNER tillpoint", check=False)
    return True


def wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if postgres_answers(url):
            return True
        time.sleep(1)
    return False


def find_postgres() -> str | None:
    """A URL to a PostgreSQL that answers, starting or installing one if need be."""
    explicit = os.environ.get("TILLPOINT_TEST_POSTGRES_URL")
    candidates = [explicit] if explicit else [DEFAULT_POSTGRES_URL, OWN_POSTGRES_URL]
    for url in candidates:
        if postgres_answers(url):
            return url
    if start_postgres() or (not _clusters() and install_postgres()):
        for url in candidates:
            if wait_for(url, 20):
                return url
    return None


# -- Redis -----------------------------------------------------------------------

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    probe = (
        "import sys, redis\n"
        "try:\n"
        "    redis.Redis.from_url(sys.argv[1], socket_timeout=3).ping()\n"
        "except Exception as exc:\n"
        "    print(exc, file=sys.stderr); sys.exit(1)\n"
    )
    return run(PYTHON, "-c", probe, url, check=False, stderr=subprocess.DEVNULL) == 0


def start_redis() -> bool:
    """Start a Redis on 127.0.0.1:6379 that keeps nothing on disk (the tests' state is short)."""
    server = shutil.which("redis-server")
    if not server:
        return False
    say("starting redis-server on 127.0.0.1:6379")
    command = [server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379"]
    return run(*command, "--save", "", "--appendonly", "no", check=False) == 0


def find_redis() -> str | None:
    """A URL to a Redis that answers, starting or installing one if need be."""
    url = os.environ.get("TILLPOINT_TEST_REDIS_URL") or DEFAULT_REDIS_URL
    if redis_answers(url):
        return url
    if start_redis() or (apt_install("redis-server") and start_redis()):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if redis_answers(url):
                return url
            time.sleep(0.5)
    return None


# -- the commands ------------------------------------------------------------------


def demo(args: list[str]) -> None:
    ensure_venv("server,terminal,hardware")
    ensure_zbar(required=False)
    os.execv(BIN / "tillpoint", [str(BIN / "tillpoint"), "demo", *args])  # noqa: S606


def test(args: list[str]) -> None:
    ensure_venv("dev")
    ensure_zbar(required=True)
    ensure_chromium()
    env = dict(os.environ)
    url = find_postgres()
    if url and not shutil.which("pg_restore") and not apt_install("postgresql-client"):
        print(
            "note: pg_dump/pg_restore are missing (apt-get install postgresql-client): "
            "the restore drill will fail"
        )
    if url:
        env["TILLPOINT_TEST_POSTGRES_URL"] = url
        say(f"PostgreSQL for the server suite: {url}")
    elif IN_CI:
        fail("PostgreSQL is not running and could not be started: in CI it must run")
    else:
        print(
            "note: no PostgreSQL answered and none could be started; the PostgreSQL "
            "half of the server suite will be skipped (set TILLPOINT_TEST_POSTGRES_URL)"
        )
    redis_url = find_redis()
    if redis_url:
        env["TILLPOINT_TEST_REDIS_URL"] = redis_url
        say(f"Redis for the shared-state tests: {redis_url}")
    elif IN_CI:
        fail("Redis is not running and could not be started: in CI it must run")
    else:
        print(
            "note: no Redis answered and none could be started; tests of state shared "
            "through Redis will be skipped (set TILLPOINT_TEST_REDIS_URL)"
        )
    checks: list[tuple[str, list[str | Path]]] = [
        ("format (ruff format --check)", [BIN / "ruff", "format", "--check", "."]),
        ("lint (ruff check)", [BIN / "ruff", "check", "."]),
        ("types (mypy --strict)", [BIN / "mypy"]),
        ("import contract (lint-imports)", [BIN / "lint-imports"]),
        # Two processes: many tests wait on a server they started; files stay whole on one
        # process each, so a module's server is started once. The slowest 25 are named at
        # the end, so that a run that grew says where.
        (
            "tests (pytest)",
            [BIN / "pytest", "-n", "2", "--dist", "loadfile", "--durations=25", *args],
        ),
    ]
    failed = []
    for name, command in checks:
        say(name)
        if run(*command, check=False, cwd=ROOT, env=env) != 0:
            failed.append(name)
    if failed:
        fail("failed: " + "; ".join(failed))
    say("all checks passed")


def bench(args: list[str]) -> None:
    """Run every benchmark script in bench/ and print its figures."""
    ensure_venv("dev")
    redis_url = find_redis()
    if redis_url:
        os.environ.setdefault("TILLPOINT_BENCH_REDIS_URL", redis_url)
    for tool, package in (("pgbench", "postgresql-client"), ("wrk", "wrk")):
        if not shutil.which(tool) and not apt_install(package):
            print(
                f"note: {tool} is missing (Debian: apt-get install {package}); "
                "bench/redemptions.py needs it"
            )
    for script in sorted((ROOT / "bench").glob("*.py")):
        if 'if __name__ == "__main__":' not in script.read_text():
            continue  # a helper module, not a benchmark
        say(f"bench/{script.name}")
        run(PYTHON, script, *args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


COMMANDS = {"demo": demo, "test": test, "bench": bench}


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this is the check for old Pythons
        fail(f"Tillpoint needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
