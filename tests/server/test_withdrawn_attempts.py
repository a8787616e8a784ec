"""A till that lost the answer to an online attempt and then declined it offline withdraws
it (`attempt_withdrawn`): applied, it is given back once, with an incident; not applied,
the attempt arriving late is refused. The ledger invariant is checked after each test."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.wallet.models import GiftCard, Transfer, TransferKind
from sync.client import ServerRefusedError
from sync.wire import VOID_WINDOW, CardStatus
from tests.server.api import buy_card, buy_voucher, create_deal, new_key, sign_up
from tests.server.test_sync_push import Terminal, balance


def withdrawal(till, card_id, amount_minor, key, at=None):
    return till.event(
        "attempt_withdrawn",
        at,
        attempt_key=key,
        card_id=card_id,
        amount_minor=amount_minor,
        currency="GBP",
    )


def incidents(shop):
    path = f"/api/v1/businesses/{shop.business_id}/incidents?kind=attempt_withdrawn"
    return shop.owner.get(path).json()["items"]


def test_an_applied_attempt_withdrawn_goes_back_onto_the_card_once(client, shop, sessions):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 5000).json()
    key = new_key()
    applied = till.api.redeem_online(bought["token"], 2000, key)  # the proxy then said 504
    assert balance(shop, bought)["balance"]["minor"] == 3000

    event = withdrawal(till, bought["id"], 2000, key)
    ((status, detail),) = till.push(event)
    assert status == "applied_with_incident"
    assert "£20.00 went back onto the card" in detail
    assert balance(shop, bought)["balance"]["minor"] == 5000
    (incident,) = incidents(shop)
    assert (incident["amount_minor"], incident["subject_id"]) == (2000, bought["id"])

    # The same event again, and another withdrawal of the same attempt: nothing more.
    assert till.push(event)[0][0] == "duplicate"
    assert till.push(withdrawal(till, bought["id"], 2000, key))[0][0] == "duplicate"
    assert balance(shop, bought)["balance"]["minor"] == 5000
    assert len(incidents(shop)) == 1
    with sessions() as session:
        (void,) = session.scalars(select(Transfer).where(Transfer.kind == TransferKind.VOID))
        assert (void.amount_minor, void.refund_of) == (2000, applied.id)


def test_a_withdrawn_attempt_arriving_late_is_refused_and_takes_nothing(client, shop):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 5000).json()
    key = new_key()
    event = withdrawal(till, bought["id"], 2000, key)
    assert till.push(event)[0][0] == "applied"
    assert till.push(event)[0][0] == "duplicate"
    ((status, detail),) = till.push(withdrawal(till, bought["id"], 2000, key))
    assert (status, detail) == ("duplicate", f"already withdrawn (event {event.id})")

    with pytest.raises(ServerRefusedError) as late:  # the lost request finally arrives
        till.api.redeem_online(bought["token"], 2000, key)
    assert (late.value.status, late.value.kind) == (409, "attempt-withdrawn")
    assert "nothing was taken" in str(late.value)
    assert late.value.problem["event_id"] == event.id
    assert balance(shop, bought)["balance"]["minor"] == 5000
    assert incidents(shop) == []
    # A new attempt (a new key) is a new sale.
    till.api.redeem_online(bought["token"], 2000, new_key())
    assert balance(shop, bought)["balance"]["minor"] == 3000


def test_an_applied_attempt_refunded_in_part_gives_back_only_the_rest(client, shop):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 5000).json()
    key = new_key()
    applied = till.api.redeem_online(bought["token"], 2000, key)
    refunded = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": applied.id, "amount_minor": 500, "reason": "one coffee spilt"},
        key=new_key(),
    )
    assert refunded.status_code in (200, 201), refunded.text
    assert till.push(withdrawal(till, bought["id"], 2000, key))[0][0] == "applied_with_incident"
    assert balance(shop, bought)["balance"]["minor"] == 5000  # 3000 + 500 + 1500


def test_a_withdrawal_of_an_attempt_the_till_approved_offline_is_rejected(client, shop):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 5000).json()
    key = new_key()
    sale = till.event(card_id=bought["id"], amount_minor=2000, attempt_key=key)
    assert till.push(sale)[0][0] == "applied"
    ((status, detail),) = till.push(withdrawal(till, bought["id"], 2000, key))
    assert status == "rejected"
    assert "approved that attempt offline" in detail
    assert balance(shop, bought)["balance"]["minor"] == 3000


def test_a_voucher_used_online_then_withdrawn_tells_the_owner(client, shop, customer):
    voucher = buy_voucher(customer, create_deal(shop).json()["id"]).json()
    till = Terminal(client, shop)
    key = new_key()
    till.api.redeem_voucher_online(voucher["token"], key)
    event = till.event(
        "attempt_withdrawn",
        attempt_key=key,
        voucher_id=voucher["id"],
        amount_minor=voucher["face_value"]["minor"],
        currency="GBP",
    )
    assert till.push(event)[0][0] == "applied_with_incident"
    (incident,) = incidents(shop)
    assert incident["subject_id"] == voucher["id"]
    assert "Honour it" in incident["detail"]


def test_a_withdrawal_past_the_void_window_gives_nothing_back_and_tells_the_owner(client, shop):
    """A till's file holds its key and its attempt keys: an old online sale is not given
    back by a withdrawal sent long after, as a void would not be."""
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 5000).json()
    key = new_key()
    till.api.redeem_online(bought["token"], 2000, key)
    late = datetime.now(UTC) + VOID_WINDOW + timedelta(minutes=2)
    ((status, detail),) = till.push(withdrawal(till, bought["id"], 2000, key, at=late))
    assert status == "applied_with_incident"
    assert balance(shop, bought)["balance"]["minor"] == 3000
    (incident,) = incidents(shop)
    assert (incident["amount_minor"], incident["subject_id"]) == (2000, bought["id"])
    assert f"£20.00 was not put back onto card {bought['id']}" in incident["detail"]
    assert "Refund it from the console if the customer paid another way" in detail
    # Withdrawn once: sent again, it opens nothing more.
    assert till.push(withdrawal(till, bought["id"], 2000, key, at=late))[0][0] == "duplicate"
    assert len(incidents(shop)) == 1


@pytest.mark.parametrize(
    ("status", "why"),
    [(CardStatus.EXPIRED, "has expired"), (CardStatus.BLOCKED, "is blocked for review")],
)
def test_a_withdrawal_puts_nothing_back_onto_a_card_that_cannot_be_spent(
    client, shop, sessions, status, why
):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 5000).json()
    key = new_key()
    till.api.redeem_online(bought["token"], 2000, key)
    with sessions() as session:
        session.get(GiftCard, bought["id"]).status = status
        session.commit()
    ((outcome, detail),) = till.push(withdrawal(till, bought["id"], 2000, key))
    assert outcome == "applied_with_incident"
    assert balance(shop, bought)["balance"]["minor"] == 3000
    assert "went back onto the card" not in detail
    assert f"card {bought['id']} {why}" in detail
    assert "refund the customer £20.00 another way" in detail
    (incident,) = incidents(shop)
    assert incident["amount_minor"] == 2000
