"""Reminders from the clock — a card about to expire, an unused voucher, a saved deal about
to end — and new deals told to those who follow the business or like its kind nearby: each
once, on its day, by email and in the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.notifications import NotificationWorker
from tests.server.api import buy_card, buy_voucher, create_deal, sign_up, verify_email
from tests.server.mailbox import (
    Sink,
    mailing_client,  # noqa: F401 - the fixture `client`
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def confirmed(person):
    """Alerts and reminders go by email to a confirmed address only."""
    verify_email(person)
    return person


@pytest.fixture
def customer(client):
    return confirmed(sign_up(client))


@pytest.fixture
def worker(sessions, notify_settings, push, clock) -> NotificationWorker:
    return NotificationWorker(sessions, notify_settings, push=push, clock=clock)


def subjects(sink: Sink, address: str) -> list[str]:
    return [m["Subject"] for m in sink.to(address)]


def inbox_kinds(customer) -> list[str]:
    return [item["kind"] for item in customer.get("/api/v1/me/inbox").json()["items"]]


def test_a_card_is_reminded_30_7_and_1_days_before_it_expires_each_once(
    client, worker, clock, sink, shop, customer
):
    card = buy_card(customer, shop, 1500).json()
    expires = datetime.fromisoformat(card["expires_at"])
    worker.run_once()  # the purchase's receipt
    receipts = len(sink.to(customer.email))

    def reminders() -> list[str]:
        return subjects(sink, customer.email)[receipts:]

    clock.now = expires - timedelta(days=31)
    worker.run_once()
    assert reminders() == []  # not yet
    clock.now = expires - timedelta(days=30) + timedelta(hours=1)
    worker.run_once()
    worker.run_once()  # found again by the next round: not sent again
    assert reminders() == ["Your Corner Café gift card expires in 30 days"]
    clock.now = expires - timedelta(days=20)
    worker.run_once()
    assert len(reminders()) == 1
    clock.now = expires - timedelta(days=7) + timedelta(minutes=5)
    worker.run_once()
    assert reminders()[-1] == "Your Corner Café gift card expires in 7 days"
    clock.now = expires - timedelta(hours=20)
    worker.run_once()
    worker.run_once()
    assert reminders()[-1] == "Your Corner Café gift card expires tomorrow"
    assert len(reminders()) == 3
    body = sink.to(customer.email)[-1].get_body(("plain",)).get_content()
    assert "15.00 GBP" in body  # what is left on it
    assert inbox_kinds(customer).count("card_expiring") == 3


def test_a_missed_day_sends_only_the_nearest_reminder(client, worker, clock, sink, shop, customer):
    card = buy_card(customer, shop, 1500).json()
    expires = datetime.fromisoformat(card["expires_at"])
    clock.now = expires - timedelta(days=3)  # the workers were down on day -30 and day -7
    worker.run_once()
    assert [s for s in subjects(sink, customer.email) if "expires" in s] == [
        "Your Corner Café gift card expires in 7 days"
    ]


def test_an_empty_card_is_not_reminded(client, worker, clock, sink, shop, customer):
    card = buy_card(customer, shop, 500).json()
    assert shop.redeem(500, card_id=card["id"]).status_code == 200
    clock.now = datetime.fromisoformat(card["expires_at"]) - timedelta(days=1)
    worker.run_once()
    assert "card_expiring" not in inbox_kinds(customer)


def test_an_unused_voucher_is_reminded_and_a_used_one_is_not(
    client, worker, clock, sink, shop, customer
):
    ends = datetime.now(UTC) + timedelta(days=20)
    deal = create_deal(shop, title="Cake and coffee", ends_at=ends.isoformat()).json()
    unused = buy_voucher(customer, deal["id"]).json()
    used = buy_voucher(customer, deal["id"]).json()
    answer = shop.cashier.post(
        f"/api/v1/businesses/{shop.business_id}/voucher-redemptions",
        {"voucher_id": used["id"]},
        key="use-it-once",
    )
    assert answer.status_code == 200, answer.text
    clock.now = datetime.fromisoformat(unused["expires_at"]) - timedelta(days=6)
    worker.run_once()
    worker.run_once()
    assert inbox_kinds(customer).count("voucher_expiring") == 1
    assert "Your voucher for Cake and coffee expires in 7 days" in subjects(sink, customer.email)


def test_a_saved_deal_ending_is_told_to_those_who_saved_it(
    client, worker, clock, sink, shop, customer
):
    deal = create_deal(shop, title="Half-price scones").json()
    other = sign_up(client)
    assert customer.put(f"/api/v1/me/saved-deals/{deal['id']}").status_code == 204
    clock.now = datetime.fromisoformat(deal["ends_at"]) - timedelta(days=2)
    worker.run_once()
    assert "saved_deal_ending" not in inbox_kinds(customer)
    clock.now = datetime.fromisoformat(deal["ends_at"]) - timedelta(hours=10)
    worker.run_once()
    worker.run_once()
    assert inbox_kinds(customer).count("saved_deal_ending") == 1
    assert inbox_kinds(other) == []


def test_a_new_deal_is_told_to_followers_and_to_those_who_like_it_nearby(
    client, worker, sink, shop, customer
):
    branch = {"name": "Main", "address": "1 Old St", "latitude": 51.5257, "longitude": -0.0875}
    assert (
        shop.owner.post(f"/api/v1/businesses/{shop.business_id}/branches", branch).status_code
        == 201
    )
    follower, nearby, far, muted = (customer, *(confirmed(sign_up(client)) for _ in range(3)))
    assert follower.put(f"/api/v1/me/favourites/{shop.business_id}").status_code == 204
    home_near = {"latitude": 51.53, "longitude": -0.09}
    nearby.put("/api/v1/me/tastes", {"categories": ["Café"], "home": home_near})
    far.put(
        "/api/v1/me/tastes",
        {"categories": ["cafe"], "home": {"latitude": 53.35, "longitude": -6.26}},
    )
    muted.put("/api/v1/me/tastes", {"categories": ["cafe"], "home": home_near})
    muted.client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"kind": "new_deal", "channel": "email", "enabled": False}]},
        headers=muted.headers,
    )
    create_deal(shop, title="Two coffees for one")
    worker.run_once()
    worker.run_once()
    subject = "New at Corner Café: Two coffees for one"
    assert subjects(sink, follower.email) == [subject]
    assert subjects(sink, nearby.email) == [subject]
    assert subjects(sink, far.email) == []
    assert subjects(sink, muted.email) == []  # turned off by email …
    assert inbox_kinds(muted) == ["new_deal"]  # … still in the inbox
    body = sink.to(nearby.email)[0].get_body(("plain",)).get_content()
    assert "km from home" in body
