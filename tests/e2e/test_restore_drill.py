"""The restore drill of docs/operations.md, run for real on the test PostgreSQL.

A fresh database is migrated and served; a business sells a card and a cashier redeems part
of it, all through the API. The database is dumped with `pg_dump -Fc`, the data folder (issuer
keys, JWT secret) copied, and both restored into another fresh database and folder with
`pg_restore`, exactly as the document says. A server started on the copy then shows the card,
its balance and history, accepts the old sign-in, verifies the card's QR code against its trust
list, and its ledger balances."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.db import make_engine
from server.settings import normalise_database_url
from server.wallet.ledger import invariant_violations
from sync.tokens import TrustList, Verifier
from tests.e2e.conftest import PASSWORD, free_port, migrated_server, signed_in, tillpoint_run
from tests.server.conftest import _postgres_url

pytestmark = pytest.mark.postgres

# The commands of docs/operations.md's backup and restore sections (a test there checks that
# they stand in the document as they stand here).
DUMP = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
RESTORE = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
VERIFY = ["token", "verify", "-", "--trust"]  # `tillpoint token verify - --trust trust.json`


def libpq_url(url: str, database: str) -> str:
    """`url` (SQLAlchemy's form) as the plain `postgresql://` URL that libpq tools take, for
    another database on the same server."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", "", ""))


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database on the test server (a libpq URL), dropped afterwards."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump and pg_restore are needed (Debian: apt-get install postgresql-client)")
    base = _postgres_url()
    name = f"drill_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield libpq_url(base, name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(*command: str | Path) -> None:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"


def test_a_dump_restored_into_a_fresh_database_serves_the_same_cards(tmp_path):
    with fresh_database() as source_url, fresh_database() as restored_url:
        # 1. A live system: a business, a £50 card bought, £12.30 redeemed at the till.
        data = tmp_path / "data"
        with migrated_server(source_url, data) as base:
            owner_email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
            owner = signed_in(base, "vendor", owner_email)
            business = httpx.post(
                f"{base}/api/v1/businesses",
                json={"name": "Drill Café", "category": "cafe", "currency": "GBP"},
                headers=owner,
            )
            assert business.status_code == 201, business.text
            business_id = business.json()["id"]
            cashier_email = f"till-{uuid.uuid4().hex[:8]}@example.com"
            staff = httpx.post(
                f"{base}/api/v1/businesses/{business_id}/staff",
                json={"email": cashier_email, "password": PASSWORD},
                headers=owner,
            )
            assert staff.status_code == 201, staff.text
            cashier = signed_in(base, "staff", cashier_email)
            customer = signed_in(base, "customer")
            bought = httpx.post(
                f"{base}/api/v1/businesses/{business_id}/gift-cards",
                json={"amount_minor": 5000, "payment": {"card_number": "4242 4242 4242 4242"}},
                headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert bought.status_code == 201, bought.text
            card = bought.json()
            redeemed = httpx.post(
                f"{base}/api/v1/businesses/{business_id}/redemptions",
                json={"amount_minor": 1230, "token": card["token"]},
                headers={**cashier, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert redeemed.status_code == 200, redeemed.text
            before = httpx.get(f"{base}/api/v1/gift-cards/{card['id']}", headers=customer).json()
            history = httpx.get(
                f"{base}/api/v1/gift-cards/{card['id']}/history", headers=customer
            ).json()
            assert before["balance"]["minor"] == 3770

        # 2. The backup: the database in pg_dump's custom format, and the data folder.
        dump = tmp_path / "tillpoint.dump"
        run(*DUMP, f"--file={dump}", f"--dbname={source_url}")
        with tarfile.open(tmp_path / "tillpoint-data.tar.gz", "w:gz") as archive:
            archive.add(data, arcname="data")

        # 3. The restore: into an empty database and folder, then the (idempotent) migration.
        run(*RESTORE, f"--dbname={restored_url}", dump)
        restored = tmp_path / "restored"
        with tarfile.open(tmp_path / "tillpoint-data.tar.gz") as archive:
            archive.extractall(restored, filter="data")

        # A restore that left the keys out (kept apart, in TILLPOINT_KEYS_DIR) makes no new
        # key beside the restored cards: the server says so and does not start.
        keyless = {"DATABASE_URL": restored_url, "TILLPOINT_DATA_DIR": str(restored / "data"),
                   "TILLPOINT_KEYS_DIR": str(tmp_path / "keys-not-restored")}  # fmt: skip
        refused = tillpoint_run("server", "--port", str(free_port()), env=keyless)
        assert refused.returncode == 2, refused.stdout
        assert "is not there, yet the database holds 1 gift card" in refused.stdout
        assert "restore TILLPOINT_KEYS_DIR from the backup" in refused.stdout
        assert not (tmp_path / "keys-not-restored").exists()

        # 4. The check: a server on the copy shows the same card, balance and history.
        with migrated_server(restored_url, restored / "data") as base:
            signed_in(base, "customer")  # new sign-ups work on the copy
            login = httpx.post(
                f"{base}/api/v1/auth/login", json={"email": owner_email, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            after = httpx.get(f"{base}/api/v1/gift-cards/{card['id']}", headers=customer)
            assert after.status_code == 200, after.text  # the old access token still holds
            assert after.json()["balance"] == before["balance"]
            assert after.json()["balance"]["minor"] == 3770
            assert (
                httpx.get(f"{base}/api/v1/gift-cards/{card['id']}/history", headers=customer).json()
                == history
            )
            trust = TrustList.from_json(httpx.get(f"{base}/api/v1/trust-list").json())
            Verifier(trust).verify(card["token"])  # the restored keys still vouch for the card
            (tmp_path / "trust.json").write_text(httpx.get(f"{base}/api/v1/trust-list").text)
            verified = tillpoint_run(*VERIFY, str(tmp_path / "trust.json"), stdin=card["token"])
            assert verified.returncode == 0, verified.stdout  # as the drill's step 4 checks it
            assert '"valid": true' in verified.stdout
            spent = httpx.post(
                f"{base}/api/v1/businesses/{business_id}/redemptions",
                json={"amount_minor": 770, "token": card["token"]},
                headers={**cashier, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert spent.status_code == 200, spent.text
            left = httpx.get(f"{base}/api/v1/gift-cards/{card['id']}", headers=customer).json()
            assert left["balance"]["minor"] == 3000

        engine = make_engine(normalise_database_url(restored_url))
        try:
            with Session(engine) as session:
                assert invariant_violations(session) == []
        finally:
            engine.dispose()
