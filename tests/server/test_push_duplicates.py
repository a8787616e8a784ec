"""An event sent again — twice in one batch, or once more after its answer was lost — is
answered `duplicate`, and the card is charged once; a duplicate of an event that raised an
incident says so, so the till's operator hears of it even when the first answer was lost."""

import httpx
import pytest

from sync.client import ServerUnreachableError
from sync.engine import push_outbox
from terminal.core.kinds import CardStatus
from terminal.core.store import Pairing, TerminalStore
from tests.server.api import buy_card, new_key, sign_up
from tests.server.test_sync_push import Terminal, balance


@pytest.fixture
def card(client, shop):
    return buy_card(sign_up(client), shop, 1000).json()


def test_an_event_twice_in_one_batch_is_applied_then_a_duplicate(client, shop, card):
    till = Terminal(client, shop)
    event = till.event(card_id=card["id"], amount_minor=100)
    assert till.push(event, event) == [("applied", ""), ("duplicate", "already applied")]
    assert balance(shop, card)["balance"]["minor"] == 900


def test_a_rejected_event_twice_in_one_batch_is_rejected_twice(client, shop, card):
    till = Terminal(client, shop)
    event = till.event(card_id="nosuchcard1", amount_minor=100)
    reason = "no gift card of this business has that id"
    assert till.push(event, event) == [("rejected", reason), ("rejected", reason)]


def overspend(client, shop, card):
    """A second till's event that overspends `card` (the first till spent most of it)."""
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    assert first.push(first.event(card_id=card["id"], amount_minor=800))[0][0] == "applied"
    return second, second.event(card_id=card["id"], amount_minor=600)


def test_a_duplicate_of_an_overspend_carries_its_incident(client, shop, card):
    till, event = overspend(client, shop, card)
    [first] = till.api.push([event])
    [again] = till.api.push([event])
    assert first.status == "applied_with_incident"
    assert "£4.00" in first.detail
    assert (again.status, again.incident) == ("duplicate", first.detail)
    [copy] = till.api.push([event, event])[1:]
    assert (copy.status, copy.incident) == ("duplicate", first.detail)
    assert balance(shop, card)["balance"]["minor"] == 0


def test_a_duplicate_of_a_plain_redemption_carries_no_incident(client, shop, card):
    till = Terminal(client, shop)
    event = till.event(card_id=card["id"], amount_minor=100)
    till.api.push([event])
    [again] = till.api.push([event])
    assert (again.status, again.incident) == ("duplicate", "")


def test_a_lost_answer_still_tells_the_operator_of_the_incident(client, shop, card, tmp_path):
    """The push that overspent reached the server, its answer did not: the sync that sends
    it again reports the incident, in its count and in words."""
    store = TerminalStore(tmp_path / "till.db")
    till, _ = overspend(client, shop, card)
    store.save_pairing(Pairing("", till.device_id, shop.business_id, "unused", till.key))
    store.cache_card(card["id"], "GBP", 1000, CardStatus.ACTIVE)
    cached = store.card(card["id"])
    assert cached is not None
    store.record_offline_redemption(cached, 600, new_key())

    def lose_the_answer(response):
        raise httpx.ReadError("connection reset by peer", request=response.request)

    client.event_hooks["response"] = [lose_the_answer]
    with pytest.raises(ServerUnreachableError):
        push_outbox(till.api, store)
    client.event_hooks["response"] = []
    summary = push_outbox(till.api, store)
    assert (summary.duplicates, summary.incidents) == (1, 1)
    [detail] = summary.incident_details
    assert "overspent offline by £4.00" in detail
    store.close()
