"""README's first command and `tillpoint server`, as real processes on loopback."""

import email
import email.message
import email.policy
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from server.keys.keyring import Keyring
from sync.tokens import Kind, TokenClaims, TrustList, Verifier, issue, new_id, new_token_id
from tests.e2e.conftest import free_port, redis_env, running, tillpoint, tillpoint_run


def test_demo_serves_sample_businesses_and_a_trust_list_that_verifies(tmp_path):
    port = free_port()
    data = tmp_path / "demo"
    process = tillpoint("demo-server", "--data-dir", str(data), "--port", str(port))
    with running(process, port) as base:
        businesses = httpx.get(f"{base}/api/v1/businesses").json()
        assert businesses["total"] == 4
        assert {b["category"] for b in businesses["items"]} >= {"cafe", "books"}
        (cafe,) = [b["id"] for b in businesses["items"] if b["name"] == "Corner Café"]
        shop = httpx.get(f"{base}/shop/{cafe}")  # its gift cards, paid with test cards
        assert "Corner Café gift cards" in shop.text
        assert "4242424242424242" in shop.text
        trust = TrustList.from_json(httpx.get(f"{base}/api/v1/trust-list").json())
        docs = httpx.get(f"{base}/openapi.json").json()
        assert "/api/v1/businesses" in docs["paths"]
    # A token signed with the demo server's key verifies against what it published.
    now = datetime.now(UTC)
    tomorrow = now + timedelta(days=1)
    claims = TokenClaims(
        Kind.GIFT_CARD, new_id(), new_id(), new_token_id(), "GBP",
        int(now.timestamp()), int(tomorrow.timestamp()),
    )  # fmt: skip
    token = issue(Keyring.open(data / "keys").current(), claims)
    assert Verifier(trust).verify(token).tillpoint == claims


def test_the_demo_keeps_its_emails_as_files_and_says_where(tmp_path):
    from server.demo import DEMO_LOGINS, DEMO_PASSWORD

    port = free_port()
    data = tmp_path / "demo"
    process = tillpoint("demo-server", "--data-dir", str(data), "--port", str(port))
    with running(process, port) as base:
        login = {"email": DEMO_LOGINS["customer"], "password": DEMO_PASSWORD}
        token = httpx.post(f"{base}/api/v1/auth/login", json=login).json()["access_token"]
        cafe = httpx.get(f"{base}/api/v1/businesses", params={"q": "corner cafe"}).json()
        bought = httpx.post(
            f"{base}/api/v1/businesses/{cafe['items'][0]['id']}/gift-cards",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "demo-mail-1"},
            json={"amount_minor": 1000, "payment": {"card_number": "4242424242424242"}},
        )
        assert bought.status_code == 201, bought.text
        card_id = bought.json()["id"]

        def mine() -> list[email.message.EmailMessage]:
            found = []
            for path in sorted((data / "mail").glob("*.eml")):
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                assert isinstance(message, email.message.EmailMessage)
                text = message.get_body(("plain",))
                if text is not None and card_id in text.get_content():
                    found.append(message)
            return found

        deadline = time.monotonic() + 60  # the server's worker sends every few seconds
        while not mine() and time.monotonic() < deadline:
            time.sleep(0.5)
        [message] = mine()  # the receipt of this purchase, once
        # A new account's confirmation links to this demo's own port, not the default's.
        new = {"email": "newcomer@example.com", "password": DEMO_PASSWORD}
        assert httpx.post(f"{base}/api/v1/auth/signup", json=new).status_code == 201

        def welcome() -> list[str]:
            return [
                text
                for path in sorted((data / "mail").glob("*.eml"))
                if "newcomer@example.com" in (text := path.read_text(errors="replace"))
            ]

        deadline = time.monotonic() + 60
        while not welcome() and time.monotonic() < deadline:
            time.sleep(0.5)
        [confirm] = welcome()
    assert message["Subject"] == "Your Corner Café gift card"
    assert message["To"] == DEMO_LOGINS["customer"]
    # Without an app to open it, the link is the server's own page (quoted-printable).
    assert f"{base}/account/verify-email?code=" in confirm.replace("=\n", "")


def test_demo_restarts_on_its_data_without_seeding_twice(tmp_path):
    data = tmp_path / "demo"
    first = tillpoint_run("demo-server", "--data-dir", str(data), "--seed-only")
    assert first.returncode == 0, first.stdout
    assert "4 businesses added" in first.stdout
    again = tillpoint_run("demo-server", "--data-dir", str(data), "--seed-only")
    assert again.returncode == 0, again.stdout
    assert "already there" in again.stdout


def test_server_migrates_and_serves_the_configured_database(tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "TILLPOINT_DATA_DIR": str(tmp_path / "data")}
    migrate = tillpoint_run("server", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stdout
    port = free_port()
    server = tillpoint("server", "--port", str(port), "--workers", "2", env={**env, **redis_env()})
    with running(server, port) as base:
        health = httpx.get(f"{base}/healthz").json()
        assert health["database"] == database_url.split(":")[0].split("+")[0]
        assert httpx.get(f"{base}/api/v1/businesses").json()["total"] == 0


def test_several_workers_without_redis_are_refused_saying_what_to_set(tmp_path):
    env = {"TILLPOINT_DATA_DIR": str(tmp_path), "TILLPOINT_REDIS_URL": "", "REDIS_URL": ""}
    process = tillpoint_run("server", "--port", str(free_port()), "--workers", "2", env=env)
    assert process.returncode == 2, process.stdout
    assert "set TILLPOINT_REDIS_URL" in process.stdout
    assert "Traceback" not in process.stdout


def test_migrate_against_an_unreachable_database_says_what_to_check(tmp_path):
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "TILLPOINT_DATA_DIR": str(tmp_path)}  # fmt: skip
    process = tillpoint_run("server", "migrate", env=env)
    assert process.returncode == 2
    assert "Check DATABASE_URL" in process.stdout
    assert "Traceback" not in process.stdout


def test_jobs_expire_what_is_due_once(tmp_path):
    data = tmp_path / "demo"
    assert tillpoint_run("demo-server", "--data-dir", str(data), "--seed-only").returncode == 0
    at = "--at", "2031-01-01T00:00:00Z"
    first = tillpoint_run("server", "run-jobs", "--data-dir", str(data), *at)
    assert first.returncode == 0, first.stdout
    assert "3 cards expired, 0 holds released, 1 deals ended" in first.stdout
    again = tillpoint_run("server", "run-jobs", "--data-dir", str(data), *at)
    assert "0 cards expired, 0 holds released, 0 deals ended" in again.stdout


def test_demo_prints_logins_and_writes_scannable_codes(tmp_path):
    data = tmp_path / "demo"
    result = tillpoint_run("demo-server", "--data-dir", str(data), "--seed-only")
    assert "customer@demo.tillpoint.dev" in result.stdout
    assert re.search(r"^  shop: +http://127\.0\.0\.1:8000/shop/[\w-]+ ", result.stdout, re.M)
    assert "till PINs at the terminal: Cashier 1357 (cashier), Vendor 2580 (owner)" in (
        result.stdout
    )
    codes = sorted((data / "qr").glob("*.png"))
    assert [p.name for p in codes] == [
        "corner-cafe-gift-card-25.png",
        "corner-cafe-gift-card-5.png",
        "corner-cafe-voucher-two-flat-whites.png",
        "page-turners-gift-card-10.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in codes)


def test_billing_run_and_rates_import_from_the_command_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "TILLPOINT_DATA_DIR": str(tmp_path)}
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,date\nEUR,1.1642,2026-11-01\nUSD,1.27,2026-11-01\n")
    imported = tillpoint_run("server", "rates", "import", str(rates), env=env)
    assert (imported.returncode, imported.stdout.strip()) == (0, f"imported 2 rates from {rates}")
    rates.write_text("EUR,not-a-rate,2026-11-02\n")
    refused = tillpoint_run("server", "rates", "import", str(rates), env=env)
    assert refused.returncode == 2
    assert "nothing imported" in refused.stdout
    assert ":1: 'not-a-rate' is not a rate" in refused.stdout
    run = tillpoint_run("server", "billing-run", "--at", "2026-11-22", env=env)
    assert run.returncode == 0, run.stdout
    assert run.stdout.startswith("billing for 2026-11-22: 0 businesses")
    bad = tillpoint_run("server", "billing-run", "--at", "22/11/2026", env=env)
    assert (bad.returncode, "not a date like" in bad.stdout) == (2, True)


def test_metrics_on_their_own_port_add_up_the_workers_and_the_api_port_refuses(tmp_path):
    """`--metrics-port`: /metrics there without a token, every worker's requests counted; the
    API port refuses /metrics even with the metrics token."""
    env = {"TILLPOINT_DATA_DIR": str(tmp_path), "TILLPOINT_METRICS_TOKEN": "scrape-me"}
    env |= redis_env()
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    port, metrics_port = free_port(), free_port()
    server = tillpoint(
        "server", "--port", str(port), "--workers", "2", "--metrics-port", str(metrics_port),
        env=env,
    )  # fmt: skip
    with running(server, port) as base:
        for _ in range(20):  # new connections: both workers answer some
            assert httpx.get(f"{base}/api/v1/businesses").status_code == 200
        scrape = {"Authorization": "Bearer scrape-me"}
        assert httpx.get(f"{base}/metrics", headers=scrape).status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert metrics.status_code == 200
    answered = sum(
        sample.value
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
        if sample.name == "tillpoint_http_requests_total"
        and sample.labels.get("route") == "/api/v1/businesses"
    )
    assert answered == 20
