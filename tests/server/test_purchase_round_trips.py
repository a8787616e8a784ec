"""A sale's round trips to PostgreSQL (issue 13): a gift-card purchase writes its card, and a
voucher purchase its voucher, with the commit (`events.add_with_commit`), and a purchase
takes its business's clearing lock with the liability check that follows it — while the
card, the voucher and their events are all there afterwards."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.server.api import buy_card, buy_voucher, create_deal


def round_trips() -> float:
    return REGISTRY.get_sample_value("tillpoint_database_round_trips_total") or 0.0


def fewest(buy, times: int = 3) -> float:
    """The fewest round trips of `times` purchases (the counter is the process's: the
    fewest keeps out what anything else in it sent meanwhile)."""
    trips = []
    for _ in range(times):
        before = round_trips()
        answer = buy()
        assert answer.status_code == 201, answer.text
        trips.append(round_trips() - before)
    return min(trips)


@pytest.fixture
def on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips are PostgreSQL's: SQLite runs in the process")


def test_a_gift_card_purchase_takes_at_most_eight_round_trips(on_postgresql, shop, customer):
    assert buy_card(customer, shop, 500).status_code == 201  # warm: the accounts' ids
    # The buyer and business; the payment card's daily load; the liability, unlocked;
    # the fraud windows; the clearing lock with the liability's fold; the card's account;
    # the token's claim; the COMMIT with the card and every other write.
    assert fewest(lambda: buy_card(customer, shop, 500)) <= 8
    cards = customer.get("/api/v1/me/gift-cards").json()["items"]
    assert len(cards) == 4
    assert all(c["balance"]["minor"] == 500 for c in cards)


def test_a_voucher_purchase_takes_at_most_five_round_trips(on_postgresql, shop, customer):
    deal = create_deal(shop, quantity_limit=10).json()
    assert buy_voucher(customer, deal["id"]).status_code == 201  # warm
    # The buyer, deal and business; the deal's lock; the token's claim; the deal's count
    # with the queued writes; the COMMIT with the rest.
    assert fewest(lambda: buy_voucher(customer, deal["id"])) <= 5
    vouchers = customer.get("/api/v1/me/vouchers").json()["items"]
    assert len(vouchers) == 4
    assert all(v["status"] == "issued" for v in vouchers)
    assert shop.owner.get(f"/api/v1/deals/{deal['id']}").json()["remaining"] == 6
