"""A schema-driven fuzz run (schemathesis) against the real server, and hostile payloads
sent to every operation of its OpenAPI schema: no input gives a 5xx."""

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

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
            # NUL and any Unicode in strings: PostgreSQL refuses NUL in text, a lone
            # surrogate cannot be encoded; neither may reach the database.
            "--generation-allow-x00",
            "true",
            "--generation-codec",
            "utf-8",
            "--seed",
            "7",
            "-H",
            f"Authorization: Bearer {tokens[role]}",
            "--request-timeout",
            "20",
            # The event streams stay open by design (tests/e2e/test_realtime.py).
            "--exclude-path-regex",
            "/stream$",
        ],
        capture_output=True,
        text=True,
        timeout=900,  # a run takes a minute; over 5 on a 2-core machine others load
        check=False,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


DEEP = "[" * 500 + "]" * 500
HOSTILE_BODIES = {
    "lone surrogate key": '{"\\ud800": 1}',
    "NUL key": '{"\\u0000": "\\u0000"}',
    "500 deep": '{"a": ' + '{"a": ' * 499 + "1" + "}" * 500,
    "500 deep list": DEEP,
    "10 MB": json.dumps({"x": "y" * 10_000_000}),
    "not JSON": "{",
}
HOSTILE_TEXT = ["a\x00b", "a\ud800b", "\x1b[2J", "x" * 100_000]


def _hostile_object(schema, components, text):
    """An object with each property of `schema` set to hostile `text` (refs followed once)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return dict.fromkeys(schema.get("properties", {}), text)


def _operations(base):
    spec = httpx.get(f"{base}/openapi.json").json()
    components = spec.get("components", {}).get("schemas", {})
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "text/event-stream" in operation["responses"].get("200", {}).get("content", {}):
                continue  # stays open by design: tests/e2e/test_realtime.py
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            yield method, path, operation.get("parameters", []), body, components


def test_hostile_payloads_on_every_operation(demo_server, tokens):
    """Every operation of the schema, as the owner: hostile bodies, each of its body's
    fields, path and query parameters with NUL, a lone surrogate or 100,000 characters."""
    failures, sent = [], 0
    headers = {"Authorization": f"Bearer {tokens['vendor']}", "Content-Type": "application/json"}
    with httpx.Client(base_url=demo_server, timeout=30, headers=headers) as http:
        for method, path, parameters, body, components in _operations(demo_server):
            for text in HOSTILE_TEXT:
                # In a URL at most 4,000 characters: servers refuse longer request lines.
                value = quote(text[:4000].encode("utf-8", "surrogatepass"), safe="")
                url = path
                for p in parameters:
                    if p["in"] == "path":
                        url = url.replace("{" + p["name"] + "}", value)
                query = "&".join(f"{p['name']}={value}" for p in parameters if p["in"] == "query")
                payloads = (
                    [json.dumps(_hostile_object(body["schema"], components, text))]
                    if body
                    else ["{}"]
                )
                if body and text == HOSTILE_TEXT[0]:
                    payloads += HOSTILE_BODIES.values()
                for payload in payloads:
                    response = http.request(
                        method,
                        url + ("?" + query if query else ""),
                        content=payload.encode("utf-8", "surrogatepass"),
                        headers={"Idempotency-Key": f"fuzz-{sent}"},
                    )
                    sent += 1
                    if response.status_code >= 500:
                        failures.append((method, url[:80], payload[:80], response.text[:200]))
    assert sent > 300
    assert failures == []
