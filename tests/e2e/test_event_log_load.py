"""Terminals pulling while many writers commit: every terminal ends with the server's view.

Four server workers on PostgreSQL; customers buy and re-issue cards, cashiers redeem, the
vendor adds and removes products, and three terminals pull all the while. A pull that moved
past a change still uncommitted would leave a card missing, a balance stale or a revoked
token unknown on some terminal for good: the comparison at the end counts every such miss.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import make_engine
from server.directory.models import Product
from server.wallet.models import GiftCard, IssuedToken, LedgerAccount
from sync.client import SyncClient
from sync.engine import sync_once
from tests.e2e.conftest import PASSWORD, migrated_server, paired_terminal, signed_in

pytestmark = pytest.mark.postgres

BUYERS, CARDS_EACH = 4, 12
CASHIERS, REDEMPTIONS_EACH = 3, 20
TERMINALS = 3


def _buyer(base, business_id, cards, lock):
    customer = signed_in(base, "customer")
    with httpx.Client(base_url=base, headers=customer, timeout=60) as client:
        for n in range(CARDS_EACH):
            bought = client.post(
                f"/api/v1/businesses/{business_id}/gift-cards",
                headers={"Idempotency-Key": uuid.uuid4().hex},
                json={"amount_minor": 5000, "payment": {"card_number": "4242424242424242"}},
            )
            assert bought.status_code == 201, bought.text
            card_id = bought.json()["id"]
            with lock:
                cards.append(card_id)
            if n % 3 == 0:  # a lost phone: the old code goes on the revocation list
                client.post(f"/api/v1/gift-cards/{card_id}/reissue").raise_for_status()


def _cashier(base, business_id, cashier, cards, lock, seed):
    chance = random.Random(seed)
    with httpx.Client(base_url=base, headers=cashier, timeout=60) as client:
        done = 0
        while done < REDEMPTIONS_EACH:
            with lock:
                card_id = chance.choice(cards) if cards else None
            if card_id is None:
                continue
            answer = client.post(
                f"/api/v1/businesses/{business_id}/redemptions",
                headers={"Idempotency-Key": uuid.uuid4().hex},
                json={"card_id": card_id, "amount_minor": 100},
            )
            assert answer.status_code in (200, 201), answer.text
            done += 1


def _vendor(base, business_id, owner):
    with httpx.Client(base_url=base, headers=owner, timeout=60) as client:
        added = []
        for n in range(8):
            product = client.post(
                f"/api/v1/businesses/{business_id}/products",
                json={"name": f"Cake {n}", "price_minor": 300 + n},
            )
            assert product.status_code == 201, product.text
            added.append(product.json()["id"])
        for product_id in added[:3]:
            client.delete(
                f"/api/v1/businesses/{business_id}/products/{product_id}"
            ).raise_for_status()


def test_terminals_pulling_under_load_miss_nothing(postgres_url, tmp_path):
    with migrated_server(postgres_url, tmp_path / "server", workers=4) as base:
        owner = signed_in(base, "vendor")
        business = httpx.post(
            f"{base}/api/v1/businesses",
            headers=owner,
            json={"name": "Busy Bakery", "category": "bakery", "currency": "GBP"},
        ).json()
        cashier_email = f"till-{uuid.uuid4().hex[:8]}@example.com"
        httpx.post(
            f"{base}/api/v1/businesses/{business['id']}/staff",
            headers=owner,
            json={"email": cashier_email, "password": PASSWORD},
        ).raise_for_status()
        cashier = signed_in(base, "staff", cashier_email)
        terminals = [
            paired_terminal(base, owner, business["id"], tmp_path / f"t{n}.db", f"Till {n}")
            for n in range(TERMINALS)
        ]
        clients = [SyncClient(base, auth=auth) for _, auth in terminals]
        for (store, _), client in zip(terminals, clients, strict=True):
            sync_once(client, store)  # the first sync: a snapshot of an empty shop

        cards: list[str] = []
        lock = threading.Lock()
        writing = threading.Event()
        writing.set()

        def terminal(index):
            store, _ = terminals[index]
            pulls = 0
            while writing.is_set():
                sync_once(clients[index], store)
                pulls += 1
            sync_once(clients[index], store)  # the last pull, after every writer is done
            return pulls

        with ThreadPoolExecutor(BUYERS + CASHIERS + 1 + TERMINALS) as pool:
            pullers = [pool.submit(terminal, n) for n in range(TERMINALS)]
            writers = [
                pool.submit(_buyer, base, business["id"], cards, lock) for _ in range(BUYERS)
            ]
            writers += [
                pool.submit(_cashier, base, business["id"], cashier, cards, lock, seed)
                for seed in range(CASHIERS)
            ]
            writers.append(pool.submit(_vendor, base, business["id"], owner))
            try:
                for writer in writers:
                    writer.result()
            finally:
                writing.clear()
            pulls = [puller.result() for puller in pullers]
        for client in clients:
            client.close()

    engine = make_engine(postgres_url)
    with Session(engine) as session:
        server_cards = {
            card.id: (balance, card.status.value)
            for card, balance in session.execute(
                select(GiftCard, LedgerAccount.balance_minor)
                .join(LedgerAccount, LedgerAccount.id == GiftCard.account_id)
                .where(GiftCard.business_id == business["id"])
            )
        }
        revoked = set(
            session.scalars(
                select(IssuedToken.token_id).where(
                    IssuedToken.business_id == business["id"], IssuedToken.revoked_at.is_not(None)
                )
            )
        )
        products = set(
            session.scalars(select(Product.id).where(Product.business_id == business["id"]))
        )
    engine.dispose()
    assert len(server_cards) == BUYERS * CARDS_EACH
    assert len(revoked) == BUYERS * len(range(0, CARDS_EACH, 3))

    misses = []
    for n, (store, _) in enumerate(terminals):
        for card_id, (balance, status) in server_cards.items():
            seen = store.card(card_id)
            if seen is None or (seen.balance_minor, seen.status) != (balance, status):
                misses.append(f"till {n}: card {card_id} is {seen}, the server has {balance}")
        misses += [
            f"till {n}: revoked token {t} unknown" for t in revoked - store.revoked_token_ids()
        ]
        cached_products = {p.id for p in store.products()}
        if cached_products != products:
            misses.append(f"till {n}: products {cached_products} != the server's {products}")
    assert min(pulls) > 1, "the terminals pulled only once: nothing ran while writers wrote"
    assert misses == [], f"{len(misses)} misses:\n" + "\n".join(misses[:20])
