"""Many tills at once against PostgreSQL, through several real server workers over HTTP."""

import os
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.orm import Session

from server.db import make_engine
from server.wallet.ledger import invariant_violations
from tests.e2e.conftest import (
    PASSWORD,
    migrated_server,
    signed_in,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(postgres_url, tmp_path):
    with migrated_server(postgres_url, tmp_path, workers=3) as base:
        yield base


@pytest.fixture
def till(server):
    """A shop with a cashier, and a £50.00 card bought by a customer."""
    owner = signed_in(server, "vendor")
    business = httpx.post(
        f"{server}/api/v1/businesses",
        headers=owner,
        json={"name": "Busy Café", "category": "cafe", "currency": "GBP"},
    ).json()
    cashier_email = f"till-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(
        f"{server}/api/v1/businesses/{business['id']}/staff",
        headers=owner,
        json={"email": cashier_email, "password": PASSWORD},
    ).raise_for_status()
    customer = signed_in(server, "customer")
    card = httpx.post(
        f"{server}/api/v1/businesses/{business['id']}/gift-cards",
        headers={**customer, "Idempotency-Key": "buy-1"},
        json={"amount_minor": 5000, "payment": {"card_number": "4242424242424242"}},
    )
    assert card.status_code == 201, card.text
    return {
        "url": f"{server}/api/v1/businesses/{business['id']}/redemptions",
        "cashier": signed_in(server, "staff", cashier_email),
        "card": card.json(),
        "customer": customer,
        "base": server,
    }


def all_at_once(count, request):
    """Run `request(i)` from `count` threads released together; their responses."""
    barrier = threading.Barrier(count)

    def go(i):
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return request(client, i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


def card_balance(till):
    response = httpx.get(
        f"{till['base']}/api/v1/gift-cards/{till['card']['id']}", headers=till["customer"]
    )
    return response.json()["balance"]["minor"]


def test_fifty_tills_redeeming_one_card_never_overdraw_it(till, postgres_url):
    responses = all_at_once(
        50,
        lambda client, i: client.post(
            till["url"],
            headers={**till["cashier"], "Idempotency-Key": f"r-{i}"},
            json={"card_id": till["card"]["id"], "amount_minor": 150},
        ),
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 33  # 33 × £1.50 = £49.50 of £50.00
    assert codes.count(409) == 17
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["type"].endswith("/insufficient-balance")
        assert "Not enough on the card" in refused.json()["title"]
    assert card_balance(till) == 50
    engine = make_engine(postgres_url)
    with Session(engine) as session:
        assert invariant_violations(session) == []
    engine.dispose()


def test_one_key_sent_ten_times_at_once_applies_once(till):
    responses = all_at_once(
        10,
        lambda client, i: client.post(
            till["url"],
            headers={**till["cashier"], "Idempotency-Key": "same-key"},
            json={"card_id": till["card"]["id"], "amount_minor": 700},
        ),
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert card_balance(till) == 4300


def test_one_key_with_another_body_is_refused(till):
    headers = {**till["cashier"], "Idempotency-Key": "k-1"}
    first = httpx.post(
        till["url"], headers=headers, json={"card_id": till["card"]["id"], "amount_minor": 100}
    )
    other = httpx.post(
        till["url"], headers=headers, json={"card_id": till["card"]["id"], "amount_minor": 200}
    )
    assert (first.status_code, other.status_code) == (200, 409)
    assert card_balance(till) == 4900


def test_two_billing_runs_from_two_processes_at_once_invoice_once(postgres_url, tmp_path):
    """`tillpoint server billing-run` twice at the same moment on one PostgreSQL: every
    business gets one invoice and one charge."""
    with migrated_server(postgres_url, tmp_path) as base:
        owners = []
        for n in range(3):
            owner = signed_in(base, "vendor")
            business = httpx.post(
                f"{base}/api/v1/businesses",
                headers=owner,
                json={"name": f"Shop {n}", "category": "cafe", "currency": "GBP"},
            ).json()
            card = httpx.put(
                f"{base}/api/v1/businesses/{business['id']}/subscription/payment-card",
                headers=owner,
                json={"card_number": "4242424242424242"},
            )
            assert card.status_code == 200, card.text
            owners.append((owner, business["id"]))
        env = {**os.environ, "DATABASE_URL": postgres_url, "TILLPOINT_DATA_DIR": str(tmp_path)}
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "sync.cli", "server", "billing-run"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        for run in runs:
            output, _ = run.communicate(timeout=120)
            assert run.returncode == 0, output
        for owner, business_id in owners:
            invoices = httpx.get(f"{base}/api/v1/businesses/{business_id}/invoices", headers=owner)
            assert [(i["kind"], i["status"]) for i in invoices.json()["items"]] == [
                ("period", "paid")
            ]
            notices = httpx.get(
                f"{base}/api/v1/businesses/{business_id}/billing-notices", headers=owner
            ).json()["items"]
            assert [n["kind"] for n in notices].count("paid") == 1
