"""The till's offline decisions, with no server at all (the client points nowhere)."""

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.client import DeviceAuth, SyncClient
from sync.money import Money
from sync.tokens import (
    IssuerKey,
    Kind,
    TokenClaims,
    TrustedKey,
    TrustList,
    id_text,
    issue,
    new_id,
    new_token_id,
)
from sync.wire import ChangesPage, DealState, EventResult, EventStatus, ProductState, StaffRole
from terminal.core.kinds import CardStatus
from terminal.core.presented import NotATokenError, present
from terminal.core.staff import Person
from terminal.core.store import Pairing, TerminalStore
from terminal.core.till import Till, VoidRefusedError

BUSINESS = new_id()


def unused_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def paired_store(path: Path, first: ChangesPage) -> TerminalStore:
    """A till's store at `path`, paired with BUSINESS, that has pulled `first`."""
    store = TerminalStore(path)
    store.save_pairing(
        Pairing(unused_url(), "dev", id_text(BUSINESS), "secret", Ed25519PrivateKey.generate())
    )
    store.apply_changes(first)
    return store


LIMITS = {
    "max_single_minor": 5000,
    "max_per_card_minor": 8000,
    "max_unsynced_minor": 12000,
    "max_cache_age_seconds": 3600,
    "stale_cache_max_minor": 500,
}


def page(key, **limits):
    """A pulled page with nothing in it but the trust list and the offline limits."""
    return ChangesPage.model_validate(
        {
            "cursor": 1,
            "more": False,
            "cards": [],
            "products": [],
            "deals": [],
            "branches": [],
            "vouchers": [],
            "revoked_token_ids": [],
            "trust_list": TrustList((TrustedKey(key.kid, key.public_key),)).to_json(),
            "offline_limits": {**LIMITS, **limits},
        }
    )


@pytest.fixture
def clock():
    return [datetime.now(UTC)]


@pytest.fixture
def till(store, clock):
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        yield Till(store, client, clock=lambda: clock[0])


def card_token(key, card_id, issuer=BUSINESS):
    now = datetime.now(UTC)
    expires = now + timedelta(days=30)
    claims = TokenClaims(
        Kind.GIFT_CARD,
        issuer,
        card_id,
        new_token_id(),
        "GBP",
        int(now.timestamp()) - 60,
        int(expires.timestamp()),
    )
    return issue(key, claims)


def test_offline_within_the_cached_balance_is_approved_and_queued(store, till, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    verdict = till.redeem(card_token(key, card), 400)
    assert (verdict.approved, verdict.mode) == (True, "offline")
    assert verdict.balance_after is not None
    assert verdict.balance_after.format() == "£6.00"
    assert store.pending_count() == 1
    assert store.card(id_text(card)).balance_minor == 600


def test_offline_beyond_what_is_left_is_declined_with_the_amount(store, till, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    till.redeem(card_token(key, card), 700)
    verdict = till.redeem(card_token(key, card), 400)
    assert (verdict.approved, verdict.mode) == (False, "offline")
    assert "£3.00" in verdict.reason
    assert store.pending_count() == 1


def test_a_card_never_seen_is_declined_offline(till, key):
    verdict = till.redeem(card_token(key, new_id()), 100)
    assert not verdict.approved
    assert "not been seen" in verdict.reason


def test_another_business_card_is_declined_offline(store, till, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    verdict = till.redeem(card_token(key, card, issuer=new_id()), 100)
    assert not verdict.approved
    assert "another business" in verdict.reason


def test_a_forged_code_is_declined_offline(store, till):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    verdict = till.redeem(card_token(IssuerKey.generate(), card), 100)
    assert not verdict.approved
    assert "not in the trust list" in verdict.reason


def test_a_blocked_card_is_declined_offline(store, till, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.BLOCKED)
    assert "blocked" in till.redeem(card_token(key, card), 100).reason


def test_rejected_events_are_kept_aside_not_lost(store, till, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    till.redeem(card_token(key, card), 100)
    (event,) = store.pending()
    store.acknowledge(
        [EventResult(event.id, EventStatus.REJECTED, "the device signature does not match")]
    )
    assert store.pending_count() == 0
    assert store.rejected() == [(event.id, "the device signature does not match")]


def cached(store, balance=20000):
    card = new_id()
    store.cache_card(id_text(card), "GBP", balance, CardStatus.ACTIVE)
    return card


def test_one_redemption_may_not_exceed_the_single_limit(store, till, key):
    verdict = till.redeem(card_token(key, cached(store)), 5001)
    assert not verdict.approved
    assert "at most £50.00" in verdict.reason


def test_a_card_may_not_take_more_than_its_limit_per_terminal(store, till, key):
    card = cached(store)
    assert till.redeem(card_token(key, card), 5000).approved
    verdict = till.redeem(card_token(key, card), 3001)
    assert not verdict.approved
    assert "at most £30.00 more" in verdict.reason


def test_the_terminal_stops_at_its_unsynced_total(store, till, key):
    assert till.redeem(card_token(key, cached(store)), 5000).approved
    assert till.redeem(card_token(key, cached(store)), 5000).approved
    verdict = till.redeem(card_token(key, cached(store)), 2001)
    assert not verdict.approved
    assert "limit of unsynced redemptions (£120.00)" in verdict.reason


def test_a_stale_cache_allows_only_small_amounts(store, till, key, clock):
    clock[0] += timedelta(hours=2)
    card = cached(store)
    refused = till.redeem(card_token(key, card), 501)
    assert not refused.approved
    assert "not synced for 2 hours" in refused.reason
    assert "at most £5.00" in refused.reason
    assert till.redeem(card_token(key, card), 500).approved


def test_limits_come_from_the_pull(store, till, key):
    store.apply_changes(page(key, max_single_minor=100))
    assert "at most £1.00" in till.redeem(card_token(key, cached(store)), 101).reason


def voucher_token(key, voucher_id, face=800, deal_id=None):
    now = datetime.now(UTC)
    claims = TokenClaims(
        Kind.VOUCHER,
        BUSINESS,
        voucher_id,
        new_token_id(),
        "GBP",
        int(now.timestamp()) - 60,
        int((now + timedelta(days=7)).timestamp()),
        deal_id=deal_id or new_id(),
        face_minor=face,
    )
    return issue(key, claims)


def test_a_voucher_works_once_offline(store, till, key):
    token = voucher_token(key, new_id())
    first = till.redeem_voucher(token)
    assert (first.approved, first.mode) == (True, "offline")
    assert first.balance_after is not None
    assert first.balance_after.format() == "£8.00"
    again = till.redeem_voucher(token)
    assert (again.approved, again.reason) == (
        False,
        "This voucher has already been used: it works once.",
    )


def test_voucher_face_values_count_towards_the_unsynced_limit(store, till, key):
    store.apply_changes(page(key, max_unsynced_minor=1000))
    assert till.redeem_voucher(voucher_token(key, new_id(), face=800)).approved
    refused = till.redeem_voucher(voucher_token(key, new_id(), face=300))
    assert "limit of unsynced redemptions" in refused.reason


def test_a_gift_card_code_is_not_taken_as_a_voucher(store, till, key):
    verdict = till.redeem_voucher(card_token(key, cached(store)))
    assert (verdict.approved, verdict.reason) == (
        False,
        "That code is a gift card: scan it as a gift card.",
    )


def test_product_edits_queue_without_counting_as_money(store, till, key):
    store.record_product_edit("prod0000001", "Scone", 250, base_version=None)
    (event,) = store.pending()
    assert (event.type, event.payload["base_version"]) == ("product_edit", None)
    assert store.pending_minor() == 0


# -- what the cashier is told before redeeming -------------------------------------------


def test_a_scanned_card_shows_the_balance_this_terminal_knows(store, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 2500, CardStatus.ACTIVE)
    presented = present(card_token(key, card), store)
    assert (presented.label, presented.known_balance) == ("Gift card", Money.of(2500, "GBP"))


def test_another_business_card_is_refused_before_any_amount_is_asked(store, key):
    with pytest.raises(NotATokenError, match="issued by another business"):
        present(card_token(key, new_id(), issuer=new_id()), store)


@pytest.mark.parametrize("text", ["hello", "https://example.com", "TP1:not base45!"])
def test_a_code_that_is_not_ours_says_so(store, text):
    with pytest.raises(NotATokenError, match=r"not a Tillpoint|could not be read"):
        present(text, store)


# -- voids ------------------------------------------------------------------------------------


def todays(store):
    return store.journal(since=datetime.now(UTC) - timedelta(days=1))


def test_a_void_gives_the_amount_back_to_the_card_here_and_queues_it(store, till, key):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    till.redeem(card_token(key, card), 400)
    [entry] = todays(store)
    assert till.void(entry) == Money.of(400, "GBP")
    assert store.card(id_text(card)).balance_minor == 1000
    assert [event.type for event in store.pending()] == [
        "gift_card_redemption",
        "redemption_void",
    ]
    assert todays(store)[0].voided


def test_a_void_names_the_cashier_who_made_it(store, key, clock):
    """The server's reports count each void at the till and with the cashier who made it."""
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    sam = Person("sam-id", "Sam", StaffRole.CASHIER)
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        till = Till(store, client, clock=lambda: clock[0], cashier=sam)
        till.redeem(card_token(key, card), 400)
        till.void(todays(store)[0])
    sale, void = store.pending()
    assert (void.type, void.payload["cashier_id"]) == ("redemption_void", "sam-id")
    assert sale.payload["cashier_id"] == "sam-id"


def test_a_void_twice_too_late_or_of_a_voucher_is_refused_and_queues_nothing(
    store, till, key, clock
):
    card = new_id()
    store.cache_card(id_text(card), "GBP", 1000, CardStatus.ACTIVE)
    till.redeem(card_token(key, card), 100)
    till.redeem(card_token(key, card), 200)
    later, earlier = todays(store)
    till.void(later)
    with pytest.raises(VoidRefusedError, match="already voided"):
        till.void(todays(store)[0])
    clock[0] += timedelta(minutes=16)
    with pytest.raises(VoidRefusedError, match="last 15 minutes"):
        till.void(earlier)
    voucher = replace(earlier, kind="voucher")
    with pytest.raises(VoidRefusedError, match="voucher cannot be voided: nothing puts it back"):
        till.void(voucher)
    assert store.pending_count() == 3


def test_a_pulled_removal_drops_the_cached_product(store, key):
    scone = ProductState(id="p1", name="Scone", price_minor=250, currency="GBP", version=1)
    store.apply_changes(page(key).model_copy(update={"products": [scone]}))
    assert [p.name for p in store.products()] == ["Scone"]
    store.apply_changes(page(key).model_copy(update={"removed_products": ["p1"]}))
    assert store.products() == []


def test_offline_over_the_balance_offers_what_the_card_holds(store, till, key):
    card = cached(store, balance=320)
    verdict = till.redeem(card_token(key, card), 500)
    assert (verdict.approved, verdict.mode) == (False, "offline")
    assert verdict.reason == "Offline, the card holds £3.20, less than £5.00."
    assert verdict.offer is not None
    assert verdict.offer.format() == "£3.20"
    taken = till.redeem(card_token(key, card), verdict.offer.minor)
    assert taken.approved
    assert taken.balance_after is not None
    assert taken.balance_after.format() == "£0.00"


def test_more_than_any_redemption_is_refused_here_with_the_offer(store, till, key):
    verdict = till.redeem(card_token(key, cached(store, balance=500)), 99_999_900)
    assert not verdict.approved
    assert "body." not in verdict.reason
    assert "£999,999.00 is more than one redemption can be" in verdict.reason
    assert verdict.offer is not None
    assert verdict.offer.format() == "£5.00"
    assert store.pending_count() == 0


def test_an_offline_redemption_names_its_event_as_the_reference(store, till, key):
    verdict = till.redeem(card_token(key, cached(store)), 100)
    (event,) = store.pending()
    assert verdict.operation_id == event.id


def test_a_voucher_names_its_deal_and_shows_as_used_once_used(store, till, key):
    deal_id = new_id()
    deal = {
        "id": id_text(deal_id),
        "title": "Two coffees for one",
        "deal_price_minor": 340,
        "currency": "GBP",
        "starts_at": datetime.now(UTC).isoformat(),
        "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "ended": False,
        "version": 1,
    }
    changes = page(key).model_copy(update={"deals": [DealState.model_validate(deal)]})
    store.apply_changes(changes)
    token = voucher_token(key, new_id(), deal_id=deal_id)
    before = present(token, store)
    assert (before.deal_title, before.used) == ("Two coffees for one", False)
    verdict = till.redeem_voucher(token)
    assert verdict.deal_title == "Two coffees for one"
    assert present(token, store).used  # the next scan knows at once, before Enter
