"""A paired terminal's online redemption (`POST /terminal/redemptions`): its refusals, in
the order a till meets them, and its round trips on PostgreSQL."""

import pytest
from prometheus_client import REGISTRY

from tests.server.api import buy_card, new_key, open_shop, sign_up
from tests.server.test_sync_push import Terminal

PATH = "/api/v1/terminal/redemptions"


@pytest.fixture
def card(client, shop):
    return buy_card(sign_up(client), shop, 1000).json()


def redeem(client, auth, token, amount=100, key=None):
    headers = {**auth, "Idempotency-Key": key or new_key()}
    return client.post(PATH, json={"token": token, "amount_minor": amount}, headers=headers)


def header(till):
    """The terminal's `Authorization: Device ...` header."""
    assert till.api.auth is not None
    return till.api.auth.header


def balance(shop, card):
    return shop.owner.get(f"/api/v1/gift-cards/{card['id']}").json()["balance"]["minor"]


def revoke(shop, till):
    path = f"/api/v1/businesses/{shop.business_id}/devices/{till.device_id}/revoke"
    assert shop.owner.post(path).status_code == 200


@pytest.mark.parametrize("token", ["good", "not a code"])
@pytest.mark.parametrize(
    ("credentials", "status", "kind"),
    [
        (lambda till: {}, 401, "unauthorized-device"),
        (lambda till: {"Authorization": f"Device {till.device_id}.wrong"}, 401, None),
        (lambda till: {"Authorization": "Device nosuchdevice.secret"}, 401, None),
        (lambda till: header(till), 403, "device-revoked"),
    ],
    ids=["no header", "wrong secret", "unknown device", "revoked"],
)
def test_a_terminal_not_paired_or_revoked_is_refused_whatever_it_scans(
    client, shop, card, credentials, status, kind, token
):
    till = Terminal(client, shop)
    revoke(shop, till)
    answer = redeem(client, credentials(till), card["token"] if token == "good" else token)
    assert answer.status_code == status, answer.text
    assert answer.json()["type"].endswith(kind or "unauthorized-device")
    assert balance(shop, card) == 1000


def test_a_replaced_code_is_refused_and_its_replacement_redeems(client, shop, customer):
    card = buy_card(customer, shop, 1000).json()
    till = Terminal(client, shop)
    reissued = customer.post(f"/api/v1/gift-cards/{card['id']}/reissue").json()
    old = redeem(client, header(till), card["token"])
    assert (old.status_code, old.json()["error"]) == (422, "revoked")
    assert redeem(client, header(till), reissued["token"]).status_code == 200
    assert balance(shop, card) == 900


def test_another_business_code_is_refused(client, shop, card):
    other = open_shop(client)
    till = Terminal(client, other)
    answer = redeem(client, header(till), card["token"])
    assert (answer.status_code, answer.json()["error"]) == (422, "wrong_issuer"), answer.text
    assert balance(shop, card) == 1000


def test_a_retry_gets_the_stored_answer_even_after_the_code_was_replaced(client, shop, customer):
    card = buy_card(customer, shop, 1000).json()
    till = Terminal(client, shop)
    key = new_key()
    first = redeem(client, header(till), card["token"], 300, key)
    assert first.status_code == 200, first.text
    customer.post(f"/api/v1/gift-cards/{card['id']}/reissue")
    again = redeem(client, header(till), card["token"], 300, key)
    assert (again.status_code, again.json()) == (200, first.json())
    assert balance(shop, card) == 700


def round_trips() -> float:
    return REGISTRY.get_sample_value("tillpoint_database_round_trips_total") or 0.0


def test_an_online_redemption_takes_at_most_five_round_trips_on_postgresql(
    client, shop, card, engine
):
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips are PostgreSQL's: SQLite runs in the process")
    till = Terminal(client, shop)
    assert redeem(client, header(till), card["token"]).status_code == 200  # warm
    trips = []
    for _ in range(3):
        before = round_trips()
        assert redeem(client, header(till), card["token"]).status_code == 200
        trips.append(round_trips() - before)
    # One read of the device, business, key, offline record, code and card; the fraud
    # windows; the card's debit; the COMMIT with every write. One more when the revenue
    # sub-account it credits is one this process has not read yet (`ledger.account`).
    # The counter is the process's: the fewest of three keeps out what anything else in
    # it sent meanwhile (a busy CI run once counted 8).
    assert min(trips) <= 5, trips
    assert balance(shop, card) == 600
