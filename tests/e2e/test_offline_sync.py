"""Two real terminal cores against the real server on PostgreSQL: both go offline, overspend
one card together, come back and sync."""

import subprocess
import sys
import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import make_engine
from server.devices.models import SyncEvent
from server.wallet.ledger import invariant_violations
from server.wallet.models import Transfer
from sync.client import SyncClient
from terminal.core.kinds import CardStatus
from terminal.core.store import TerminalStore
from terminal.core.till import Till
from tests.e2e.conftest import (
    FAST_HASHING,
    free_port,
    migrated_server,
    paired_terminal,
    running,
    signed_in,
    tillpoint,
    tillpoint_run,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(postgres_url, tmp_path):
    with migrated_server(postgres_url, tmp_path, workers=2) as base:
        yield base


def test_two_offline_tills_overspend_a_card_and_sync_reconciles_it(server, tmp_path, postgres_url):
    owner = signed_in(server, "vendor")
    business = httpx.post(
        f"{server}/api/v1/businesses",
        headers=owner,
        json={"name": "Café", "category": "cafe", "currency": "GBP"},
    ).json()
    customer = signed_in(server, "customer")
    card = httpx.post(
        f"{server}/api/v1/businesses/{business['id']}/gift-cards",
        headers={**customer, "Idempotency-Key": "buy"},
        json={"amount_minor": 2000, "payment": {"card_number": "4242424242424242"}},
    ).json()
    tills, clients = [], []
    for n in (1, 2):
        store, auth = paired_terminal(
            server, owner, business["id"], tmp_path / f"t{n}.db", f"Till {n}"
        )
        first_sync = tillpoint_run("sync", "--data", str(tmp_path / f"t{n}.db"))
        assert first_sync.returncode == 0, first_sync.stdout
        assert store.card(card["id"]).balance_minor == 2000  # pulled into the cache
        clients.append(SyncClient(server, auth=auth))
        dead = SyncClient(f"http://127.0.0.1:{free_port()}", auth=auth, timeout=0.5)
        clients.append(dead)
        tills.append((store, Till(store, clients[-2]), Till(store, dead)))
    (store1, online1, offline1), (store2, _, offline2) = tills

    # Till 1 redeems online: the server decides. Till 2 does not hear of it.
    verdict = online1.redeem(card["token"], 100)
    assert (verdict.approved, verdict.mode) == (True, "online")

    # The internet goes down. Till 1 sees £19.00 left; till 2 still sees £20.00.
    first = offline1.redeem(card["token"], 1500)
    second = offline2.redeem(card["token"], 1200)
    assert (first.approved, first.mode, second.approved, second.mode) == (
        True,
        "offline",
        True,
        "offline",
    )
    beyond = offline2.redeem(card["token"], 900)  # till 2 believes £8.00 is left
    assert (beyond.approved, beyond.mode) == (False, "offline")
    assert "£8.00" in beyond.reason
    assert store1.pending_count() == store2.pending_count() == 1

    # Back online: each till syncs from the command line, as cron would.
    for n in (1, 2):
        result = tillpoint_run("sync", "--data", str(tmp_path / f"t{n}.db"))
        assert result.returncode == 0, result.stdout
        assert "waiting in the outbox: 0" in result.stdout
    assert "1 with incidents" in result.stdout

    shown = httpx.get(f"{server}/api/v1/gift-cards/{card['id']}", headers=customer).json()
    assert (shown["balance"]["minor"], shown["status"]) == (0, "blocked")
    incidents = httpx.get(
        f"{server}/api/v1/businesses/{business['id']}/incidents", headers=owner
    ).json()["items"]
    assert [(i["kind"], i["amount_minor"]) for i in incidents] == [("offline_overspend", 800)]
    # Till 2 pulled the outcome: the card is blocked there too.
    assert store2.card(card["id"]).status == "blocked"

    engine = make_engine(postgres_url)
    with Session(engine) as session:
        assert invariant_violations(session) == []
        redemptions = session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.card_id == card["id"], Transfer.kind != "purchase")
        )
        # 1 online + till 1's offline + till 2's offline (covered part and shortfall part)
        assert redemptions == 4
    engine.dispose()

    # Syncing again sends nothing and changes nothing.
    again = tillpoint_run("sync", "--data", str(tmp_path / "t1.db"))
    assert "pushed 0" in again.stdout
    for client in clients:
        client.close()


def test_sync_with_the_server_down_loses_nothing(tmp_path):
    store = TerminalStore(tmp_path / "t.db")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from terminal.core.store import CachedCard, Pairing

    store.save_pairing(
        Pairing(f"http://127.0.0.1:{free_port()}", "dev", "biz", "s", Ed25519PrivateKey.generate())
    )
    store.record_offline_redemption(CachedCard("card", "GBP", 500, CardStatus.ACTIVE), 100, "k")
    result = tillpoint_run("sync", "--data", str(tmp_path / "t.db"))
    assert result.returncode == 3
    assert "did not answer (nothing answered there: the server is down or the network is)" in (
        result.stdout
    )  # in words, not the exception's name
    assert "Nothing was lost: 1 event waits in the outbox" in result.stdout
    assert TerminalStore(tmp_path / "t.db").pending_count() == 1


KILL_AFTER_APPROVE = """
import os, signal, sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from terminal.core.store import CachedCard, Pairing, TerminalStore
store = TerminalStore(Path(sys.argv[1]))
store.save_pairing(Pairing("http://127.0.0.1:9", "dev", "biz", "s", Ed25519PrivateKey.generate()))
store.record_offline_redemption(CachedCard("card", "GBP", 500, "active"), 250, "k")
print("approved", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_till_killed_right_after_approving_keeps_the_event(tmp_path):
    path = tmp_path / "killed.db"
    result = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_APPROVE, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "approved"
    assert result.returncode == -9
    (event,) = TerminalStore(path).pending()
    assert event.payload["amount_minor"] == 250


def test_the_server_killed_in_the_middle_of_a_push_loses_and_doubles_nothing(
    postgres_url, tmp_path
):
    env = {
        "DATABASE_URL": postgres_url,
        "TILLPOINT_DATA_DIR": str(tmp_path / "server"),
        **FAST_HASHING,
    }
    assert tillpoint_run("server", "migrate", env=env).returncode == 0
    port = free_port()
    server = tillpoint("server", "--port", str(port), env=env)
    with running(server, port) as base:
        owner = signed_in(base, "vendor")
        business = httpx.post(
            f"{base}/api/v1/businesses",
            headers=owner,
            json={"name": "Café", "category": "cafe", "currency": "GBP"},
        ).json()
        card = httpx.post(
            f"{base}/api/v1/businesses/{business['id']}/gift-cards",
            headers={**signed_in(base, "customer"), "Idempotency-Key": "buy"},
            json={"amount_minor": 5_000, "payment": {"card_number": "4242424242424242"}},
        ).json()
        store, _ = paired_terminal(base, owner, business["id"], tmp_path / "t.db", "Till")
        assert tillpoint_run("sync", "--data", str(tmp_path / "t.db")).returncode == 0
        cached = store.card(card["id"])
        assert cached is not None
        events = 600
        for _ in range(events):
            store.record_offline_redemption(cached, 7, str(uuid.uuid4()))
        sync = subprocess.Popen(
            [sys.executable, "-m", "sync.cli", "sync", "--data", str(tmp_path / "t.db")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        engine = make_engine(postgres_url)
        with Session(engine) as session:
            while (session.scalar(select(func.count()).select_from(SyncEvent)) or 0) < 150:
                session.rollback()
        server.kill()  # SIGKILL, mid-push
        server.wait()
        output, _ = sync.communicate(timeout=60)
        assert sync.returncode == 3, output
        assert "Nothing was lost" in output
        assert 0 < store.pending_count() <= events  # only answered events left the outbox

    restarted = tillpoint("server", "--port", str(port), env=env)
    with running(restarted, port):
        again = tillpoint_run("sync", "--data", str(tmp_path / "t.db"))
        assert again.returncode == 0, again.stdout
    assert store.pending_count() == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SyncEvent)) == events
        offline = (
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.card_id == card["id"], Transfer.kind == "offline-redemption")
        )
        assert session.scalar(offline) == events
        assert invariant_violations(session) == []
    engine.dispose()
    store.close()
