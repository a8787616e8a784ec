"""Redemptions take turns in their lane (`TILLPOINT_REDEMPTION_THREADS`), off the event
loop: one waiting on the database holds up no other kind of request. PostgreSQL only:
the wait is a row lock held by another connection."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from server.wallet.models import GiftCard
from tests.server.api import buy_card

pytestmark = pytest.mark.postgres


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_kind(request) -> str:
    return str(request.param)


def wait_until(condition, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def test_a_redemption_waiting_on_the_database_holds_up_no_other_request(
    client, engine, sessions, shop, customer
):
    card = buy_card(customer, shop, 1000).json()
    with sessions() as session:
        account_id = session.get(GiftCard, card["id"]).account_id
    with engine.connect() as other, ThreadPoolExecutor(3) as tills:
        other.execute(
            text("SELECT id FROM ledger_accounts WHERE id = :id FOR UPDATE"), {"id": account_id}
        )  # another transaction holds the card's balance
        try:
            sale = tills.submit(shop.redeem, 100, card_id=card["id"])
            _meanwhile(engine, client, customer, card, sale, tills)
        finally:
            other.rollback()
        redeemed = sale.result(timeout=30)
    assert redeemed.status_code == 200, redeemed.text
    assert customer.get(f"/api/v1/gift-cards/{card['id']}").json()["balance"]["minor"] == 900


def _meanwhile(engine, client, customer, card, sale, tills) -> None:
    """While the sale waits on the lock, the same app answers other requests (each given
    10 s, so a held event loop fails the test rather than hanging it)."""

    def waiting_on_a_lock() -> bool:
        with engine.connect() as look:
            waits = look.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()
        return bool(waits)

    wait_until(waiting_on_a_lock, "the redemption to wait on the card's row")
    health = tills.submit(client.get, "/healthz")
    assert health.result(timeout=10).status_code == 200
    answer = tills.submit(customer.get, f"/api/v1/gift-cards/{card['id']}").result(timeout=10)
    assert answer.json()["balance"]["minor"] == 1000  # not yet: the sale still waits
    assert not sale.done()
