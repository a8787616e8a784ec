"""A revoked till's push is refused, but what it approved offline before it knew is told to
the owner: one incident (and one notification) however often the till sends it again."""

from typing import Any

import pytest

from sync.client import ServerRefusedError
from tests.server.api import buy_card, buy_voucher, create_deal, new_key
from tests.server.mailbox import mailing_client, notification_worker  # noqa: F401 - fixtures
from tests.server.test_sync_push import Terminal, balance


def revoke(shop, till):
    path = f"/api/v1/businesses/{shop.business_id}/devices/{till.device_id}/revoke"
    assert shop.owner.post(path).status_code == 200


def refused(till, *events):
    with pytest.raises(ServerRefusedError) as refusal:
        till.api.push(list(events))
    assert (refusal.value.status, refusal.value.kind) == (403, "device-revoked")


def incidents(shop) -> list[dict[str, Any]]:
    path = f"/api/v1/businesses/{shop.business_id}/incidents?kind=revoked_till_sales"
    items: list[dict[str, Any]] = shop.owner.get(path).json()["items"]
    return items


def told(shop) -> list[dict[str, Any]]:
    return [
        item
        for item in shop.owner.get("/api/v1/me/inbox").json()["items"]
        if item["kind"] == "incident_opened"
    ]


def test_a_revoked_tills_sales_open_one_incident_for_the_owner(client, worker, shop, customer):
    till = Terminal(client, shop, "Counter 2")
    card = buy_card(customer, shop, 5000).json()
    voucher = buy_voucher(customer, create_deal(shop).json()["id"]).json()
    sales = [
        till.event(card_id=card["id"], amount_minor=300, currency="GBP", attempt_key=new_key()),
        till.event(card_id=card["id"], amount_minor=250, currency="GBP", attempt_key=new_key()),
        till.event(
            "voucher_redemption",
            voucher_id=voucher["id"],
            amount_minor=voucher["face_value"]["minor"],
            currency="GBP",
        ),
    ]
    worker.run_once()  # what came before: sign-ups, purchases
    revoke(shop, till)
    for _ in range(3):  # the till retries its sync
        refused(till, *sales)

    [incident] = incidents(shop)
    face = voucher["face_value"]["minor"]
    assert incident["amount_minor"] == 550 + face
    assert (incident["device_id"], incident["till"]) == (till.device_id, "Counter 2")
    detail = incident["detail"]
    assert "approved 3 sales offline" in detail
    assert f"card {card['id']} £3.00, card {card['id']} £2.50, voucher {voucher['id']}" in detail
    assert "pair the till again" in detail
    assert balance(shop, card)["balance"]["minor"] == 5000  # refused: nothing applied
    worker.run_once()
    [notice] = told(shop)
    assert "approved 3 sales offline" in notice["body"]


def test_what_a_revoked_till_sends_later_joins_its_open_incident(client, worker, shop, customer):
    till = Terminal(client, shop)
    card = buy_card(customer, shop, 5000).json()
    first = till.event(card_id=card["id"], amount_minor=300)
    revoke(shop, till)
    refused(till, first)
    worker.run_once()
    later = till.event(card_id=card["id"], amount_minor=200)
    refused(till, first, later)
    [incident] = incidents(shop)
    assert incident["amount_minor"] == 500
    assert "approved 2 sales offline" in incident["detail"]
    worker.run_once()
    assert len(told(shop)) == 1  # told once; the incident itself is up to date


def test_a_sale_voided_before_the_till_knew_is_not_counted(client, shop, customer):
    till = Terminal(client, shop)
    card = buy_card(customer, shop, 5000).json()
    key = new_key()
    sale = till.event(card_id=card["id"], amount_minor=300, attempt_key=key)
    kept = till.event(card_id=card["id"], amount_minor=100)
    void = till.event(
        "redemption_void", attempt_key=key, card_id=card["id"], amount_minor=300, currency="GBP"
    )
    revoke(shop, till)
    refused(till, sale, kept, void)
    [incident] = incidents(shop)
    assert incident["amount_minor"] == 100
    assert "approved 1 sale offline" in incident["detail"]


def test_events_not_signed_by_the_till_are_not_reported(client, shop, customer):
    till, other = Terminal(client, shop), Terminal(client, shop, "Till 2")
    card = buy_card(customer, shop, 5000).json()
    revoke(shop, till)
    refused(till, other.event(card_id=card["id"], amount_minor=300))
    assert incidents(shop) == []


def test_a_till_revoked_with_an_empty_outbox_opens_nothing(client, shop):
    till = Terminal(client, shop)
    revoke(shop, till)
    refused(till)
    assert incidents(shop) == []


def test_a_withdrawal_a_revoked_till_sends_names_the_card_and_amount_to_refund(
    client, shop, customer
):
    till = Terminal(client, shop, "Counter 2")
    card = buy_card(customer, shop, 5000).json()
    taken, never = new_key(), new_key()
    till.api.redeem_online(card["token"], 2000, taken)  # its answer was lost
    revoke(shop, till)
    withdrawals = [
        till.event(
            "attempt_withdrawn",
            attempt_key=key,
            card_id=card["id"],
            amount_minor=2000,
            currency="GBP",
        )
        for key in (taken, never)
    ]
    refused(till, *withdrawals)
    [incident] = incidents(shop)
    detail = incident["detail"]
    assert (
        f"card {card['id']}: £20.00 was taken online and the till withdrew it: refund it" in detail
    )
    assert "1 other withdrawn online attempt needs nothing from you" in detail
    assert "other events (listing edits)" not in detail
    assert incident["amount_minor"] == 0  # no sale went uncharged
    assert balance(shop, card)["balance"]["minor"] == 3000  # refused: nothing given back
