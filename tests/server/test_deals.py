"""Deals and single-use vouchers, bought in the app and redeemed at the till."""

from datetime import UTC, datetime, timedelta

import pytest

from server.deals import service
from sync.tokens import TrustList, Verifier
from tests.server.api import buy_voucher, create_deal, new_key, open_shop


@pytest.fixture
def deal(shop):
    response = create_deal(shop, quantity_limit=2)
    assert response.status_code == 201, response.text
    return response.json()


def redeem(shop, key=None, **ref):
    return shop.cashier.post(
        f"/api/v1/businesses/{shop.business_id}/voucher-redemptions", ref, key=key or new_key()
    )


def test_live_deals_show_prices_and_time_left(client, deal):
    (listed,) = client.get("/api/v1/deals").json()["items"]
    assert listed["deal_price"]["text"] == "£3.40"
    assert listed["original_price"]["text"] == "£6.80"
    assert 6 * 86400 < listed["seconds_left"] <= 7 * 86400
    assert listed["remaining"] == 2
    assert client.get("/api/v1/deals", params={"ending_within_hours": 24}).json()["items"] == []
    assert client.get("/api/v1/deals", params={"category": "books"}).json()["items"] == []


def test_deals_come_in_a_page_and_are_found_by_words(client, shop):
    for title in ("Crème brûlée for two", "Two coffees for one", "Free cookie"):
        assert create_deal(shop, title=title).status_code == 201
    page = client.get("/api/v1/deals", params={"limit": 2}).json()
    assert (page["total"], len(page["items"]), page["next_offset"]) == (3, 2, 2)
    rest = client.get("/api/v1/deals", params={"offset": 2}).json()
    assert (len(rest["items"]), rest["next_offset"]) == (1, None)

    def titles(q):
        return sorted(
            d["title"] for d in client.get("/api/v1/deals", params={"q": q}).json()["items"]
        )

    assert titles("creme BRULEE") == ["Crème brûlée for two"]
    assert titles("two") == ["Crème brûlée for two", "Two coffees for one"]
    business = client.get(f"/api/v1/businesses/{shop.business_id}").json()["name"]
    assert len(titles(business)) == 3  # the business's name finds its deals


def test_a_deal_answers_304_until_a_sale_changes_it(client, customer, deal):
    path = f"/api/v1/deals/{deal['id']}"
    etag = client.get(path).headers["etag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    listed = client.get("/api/v1/deals")
    assert (
        client.get("/api/v1/deals", headers={"If-None-Match": listed.headers["etag"]}).status_code
        == 304
    )
    assert buy_voucher(customer, deal["id"]).status_code == 201
    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["remaining"] == 1
    assert (
        client.get("/api/v1/deals", headers={"If-None-Match": listed.headers["etag"]}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deal_price_minor": 680}, "below the original price"),
        (
            {"ends_at": "2020-01-01T00:00:00+00:00", "starts_at": "2019-01-01T00:00:00+00:00"},
            "end time has passed",
        ),
        (
            {"starts_at": "2030-01-02T00:00:00+00:00", "ends_at": "2030-01-01T00:00:00+00:00"},
            "end after it starts",
        ),
    ],
)
def test_nonsense_deals_are_refused(shop, changes, message):
    response = create_deal(shop, **changes)
    assert response.status_code == 422
    assert message in response.text


def test_a_voucher_is_a_signed_single_use_token(client, shop, customer, deal):
    bought = buy_voucher(customer, deal["id"])
    assert bought.status_code == 201, bought.text
    voucher = bought.json()
    trust = TrustList.from_json(client.get("/api/v1/trust-list").json())
    claims = Verifier(trust).verify(voucher["token"]).tillpoint
    assert claims is not None
    assert claims.kind.label == "voucher"
    assert claims.face_minor == 340
    first = redeem(shop, token=voucher["token"])
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "redeemed"
    second = redeem(shop, token=voucher["token"])
    assert second.status_code == 409
    assert second.json()["type"].endswith("/voucher-used")
    assert "already redeemed on" in second.json()["detail"]


def test_a_retried_redemption_is_not_a_second_use(shop, customer, deal):
    voucher = buy_voucher(customer, deal["id"]).json()
    key = new_key()
    assert redeem(shop, key=key, voucher_id=voucher["id"]).status_code == 200
    assert redeem(shop, key=key, voucher_id=voucher["id"]).status_code == 200


def test_quantity_limit_is_kept(client, customer, deal):
    assert buy_voucher(customer, deal["id"]).status_code == 201
    assert buy_voucher(customer, deal["id"]).status_code == 201
    sold_out = buy_voucher(customer, deal["id"])
    assert sold_out.status_code == 409
    assert sold_out.json()["type"].endswith("/deal-sold-out")
    assert client.get("/api/v1/deals").json()["total"] == 0  # sold out deals leave the listing
    assert customer.get("/api/v1/me/vouchers").json()["total"] == 2


def test_declined_payment_sells_nothing(client, customer, deal):
    response = buy_voucher(customer, deal["id"], card_number="4000000000009995")
    assert response.status_code == 402
    assert response.json()["detail"] == "The card has insufficient funds: use another card."
    assert client.get(f"/api/v1/deals/{deal['id']}").json()["remaining"] == 2


def test_a_deal_not_yet_started_is_not_on_sale(shop, customer):
    later = datetime.now(UTC) + timedelta(days=1)
    deal = create_deal(
        shop, starts_at=later.isoformat(), ends_at=(later + timedelta(days=1)).isoformat()
    ).json()
    response = buy_voucher(customer, deal["id"])
    assert response.status_code == 409
    assert response.json()["type"].endswith("/deal-not-on-sale")


def test_a_gift_card_code_is_not_a_voucher(shop, customer, deal):
    from tests.server.api import buy_card

    card = buy_card(customer, shop, 1000).json()
    response = redeem(shop, token=card["token"])
    assert response.status_code == 422
    assert response.json()["type"].endswith("/not-a-voucher")


def test_another_shop_cannot_redeem_it(client, customer, deal):
    voucher = buy_voucher(customer, deal["id"]).json()
    other = open_shop(client, "Other")
    response = redeem(other, token=voucher["token"])
    assert (response.status_code, response.json()["error"]) == (422, "wrong_issuer")


def test_the_deals_job_ends_deals(client, deal, sessions):
    with sessions() as session:
        assert service.end_deals(session, datetime.now(UTC) + timedelta(days=8)) == 1
        session.commit()
    assert client.get("/api/v1/deals").json()["total"] == 0
