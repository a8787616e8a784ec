"""A voucher is paid for only when it can be sold: a deal sold out, not on sale, or
ending where no voucher's code can say, charges no one. (The buyer who loses the last
voucher to another while both are at the payment provider is refunded: test_purchase_lane.)"""

from __future__ import annotations

import pytest

from tests.server.api import buy_voucher, create_deal, sign_up
from tests.server.test_purchase_lane import HeldProvider


@pytest.fixture
def provider(client) -> HeldProvider:
    provider = HeldProvider()
    provider.released.set()  # answers at once
    client.app.state.gateway = provider
    return provider


def test_a_sold_out_deal_charges_no_one(client, shop, customer, provider):
    deal = create_deal(shop, quantity_limit=1).json()
    assert buy_voucher(customer, deal["id"], "4000 0000 0000 0001").status_code == 201
    refused = buy_voucher(sign_up(client), deal["id"], "4000 0000 0000 0002")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/deal-sold-out")
    assert provider.charged == 1
    assert provider.refunds == []


def test_a_cancelled_deal_charges_no_one_and_says_it_was_cancelled(shop, customer, provider):
    deal = create_deal(shop).json()
    path = f"/api/v1/businesses/{shop.business_id}/deals/{deal['id']}"
    assert shop.owner.client.delete(path, headers=shop.owner.headers).status_code == 204
    refused = buy_voucher(customer, deal["id"], "4000 0000 0000 0001")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/deal-not-on-sale")
    assert "cancelled" in refused.json()["detail"]
    assert provider.charged == 0


@pytest.mark.parametrize(
    "ends_at", ["2100-01-01T00:00:01Z", "2106-03-01T00:00:00Z", "9999-12-31T00:00:00Z"]
)
def test_a_deal_ending_past_2099_is_refused_when_listed_or_changed(shop, ends_at):
    """A voucher's code carries its expiry in 32 bits: a deal must end while it can."""
    refused = create_deal(shop, ends_at=ends_at)
    assert refused.status_code == 422, refused.text
    assert "2099" in refused.text
    deal = create_deal(shop).json()
    path = f"/api/v1/businesses/{shop.business_id}/deals/{deal['id']}"
    changed = shop.owner.client.patch(path, json={"ends_at": ends_at}, headers=shop.owner.headers)
    assert changed.status_code == 422, changed.text
    assert "2099" in changed.text
    assert shop.owner.get(path).json()["ends_at"] == deal["ends_at"]


def test_a_deal_ending_in_2099_sells_vouchers(shop, customer):
    deal = create_deal(shop, ends_at="2099-12-31T23:59:59Z").json()
    bought = buy_voucher(customer, deal["id"])
    assert bought.status_code == 201, bought.text
    assert bought.json()["expires_at"].startswith("2099-12-31T23:59:59")
