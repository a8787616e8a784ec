"""Till PINs: the owner sets and clears them, the terminals pull them as slow salted hashes,
and a till's redemptions name who was signed in."""

import pytest
from sqlalchemy import select

from server.devices.models import TillRedemption
from sync.pins import verify_pin
from tests.server.api import buy_card, new_key, open_shop, sign_up
from tests.server.test_sync_push import Terminal


def till_staff(shop):
    return f"/api/v1/businesses/{shop.business_id}/till-staff"


def set_pin(shop, user_id, pin="4821", role="cashier", by=None, **extra):
    actor = by or shop.owner
    return actor.client.put(
        f"{till_staff(shop)}/{user_id}",
        json={"pin": pin, "role": role, **extra},
        headers=actor.headers,
    )


def test_the_owner_sees_who_can_work_the_tills(shop):
    people = shop.owner.get(till_staff(shop)).json()["items"]
    assert [(p["id"], p["role"], p["has_pin"]) for p in people] == [
        (shop.owner.id, "owner", False),
        (shop.cashier.id, "cashier", False),
    ]
    assert people[1]["name"] == shop.cashier.email.partition("@")[0]


def test_a_pin_reaches_the_terminals_as_a_hash_only(client, shop):
    till = Terminal(client, shop)
    cursor = till.api.pull(0).cursor
    answer = set_pin(shop, shop.cashier.id, "4821", name="Sam")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["role"], answer.json()["has_pin"]) == ("cashier", True)
    (pulled,) = till.api.pull(cursor).staff
    assert (pulled.id, pulled.name, pulled.role) == (shop.cashier.id, "Sam", "cashier")
    assert "4821" not in pulled.pin_hash
    assert verify_pin("4821", pulled.pin_hash)
    assert not verify_pin("4822", pulled.pin_hash)
    # A new till's first sync has it too.
    (first,) = till.api.snapshot(None, None).staff
    assert first.id == shop.cashier.id


def test_a_new_role_is_pulled_and_a_cleared_pin_is_removed(client, shop):
    till = Terminal(client, shop)
    set_pin(shop, shop.cashier.id)
    cursor = till.api.pull(0).cursor
    set_pin(shop, shop.cashier.id, "5930", role="manager")
    changed = till.api.pull(cursor)
    assert [(s.id, s.role) for s in changed.staff] == [(shop.cashier.id, "manager")]
    cleared = shop.owner.client.delete(
        f"{till_staff(shop)}/{shop.cashier.id}", headers=shop.owner.headers
    )
    assert cleared.status_code == 204
    gone = till.api.pull(changed.cursor)
    assert (gone.staff, gone.removed_staff) == ([], [shop.cashier.id])
    assert till.api.snapshot(None, None).staff == []


@pytest.mark.parametrize("pin", ["1234", "0000", "12a4", "123", "123456789"])
def test_a_guessable_or_malformed_pin_is_refused_and_nothing_changes(shop, pin):
    answer = set_pin(shop, shop.cashier.id, pin)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "https://tillpoint.dev/problems/weak-pin"
    assert answer.json()["detail"].startswith("That PIN will not do: a PIN ")
    assert not shop.owner.get(till_staff(shop)).json()["items"][1]["has_pin"]


def test_only_the_owner_is_owner_at_the_till(shop):
    answer = set_pin(shop, shop.cashier.id, role="owner")
    assert (answer.status_code, answer.json()["type"]) == (
        422,
        "https://tillpoint.dev/problems/owner-role-reserved",
    )
    assert set_pin(shop, shop.owner.id, "7305", role="owner").json()["role"] == "owner"


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_the_owner_stays_owner_at_the_till(shop, role):
    assert set_pin(shop, shop.owner.id, "7305", role="owner").status_code == 200
    answer = set_pin(shop, shop.owner.id, "5930", role=role, name="Not me")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "https://tillpoint.dev/problems/owner-role-reserved"
    assert answer.json()["detail"].startswith("The business's owner is always owner at the till")
    (owner, _) = shop.owner.get(till_staff(shop)).json()["items"]
    assert (owner["role"], owner["name"]) == ("owner", shop.owner.email.partition("@")[0])
    # Nothing changed: the PIN is still the one set with the owner role.
    assert set_pin(shop, shop.owner.id, "7305", role="owner").json()["role"] == "owner"


def test_the_owner_without_a_pin_yet_cannot_start_as_a_cashier(shop):
    answer = set_pin(shop, shop.owner.id, "7305", role="cashier")
    assert (answer.status_code, answer.json()["type"]) == (
        422,
        "https://tillpoint.dev/problems/owner-role-reserved",
    )
    assert not shop.owner.get(till_staff(shop)).json()["items"][0]["has_pin"]


def test_only_the_owner_sets_pins_and_only_for_their_people(client, shop):
    assert set_pin(shop, shop.cashier.id, by=shop.cashier).status_code == 403
    other = open_shop(client, "Other")
    assert set_pin(shop, shop.cashier.id, by=other.owner).status_code == 403
    stranger = sign_up(client)
    answer = set_pin(shop, stranger.id)
    assert (answer.status_code, answer.json()["type"]) == (
        404,
        "https://tillpoint.dev/problems/staff-not-found",
    )


def test_a_till_redemption_records_its_cashier_online_and_offline(client, shop, sessions):
    customer = sign_up(client)
    card = buy_card(customer, shop, 1000).json()
    till = Terminal(client, shop)
    till.api.redeem_online(card["token"], 200, "online-1", cashier_id=shop.cashier.id)
    till.push(
        till.event(
            card_id=card["id"], amount_minor=100, attempt_key="offline-1", cashier_id=shop.owner.id
        )
    )
    till.api.redeem_online(card["token"], 50, new_key())  # no one signed in
    with sessions() as session:
        rows = session.scalars(select(TillRedemption).order_by(TillRedemption.id)).all()
        cashiers = [(row.amount_minor, row.cashier_id) for row in rows]
    assert cashiers == [(200, shop.cashier.id), (100, shop.owner.id), (50, None)]
