"""Pairing and the push: every event applied once, in order; overspends reconciled."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from server.wallet.models import IdempotencyRecord, Transfer
from sync.client import DeviceAuth, ServerRefusedError, ServerUnreachableError, SyncClient
from sync.engine import push_outbox
from sync.wire import TerminalEvent, public_key_text
from terminal.core.kinds import CardStatus
from terminal.core.store import Pairing, TerminalStore
from tests.server.api import buy_card, buy_voucher, create_deal, new_key, open_shop, sign_up


class Terminal:
    """A paired device as the server sees it: its key, credentials and sequence."""

    def __init__(self, client, shop, name="Till 1", branch_id=None):
        self.key = Ed25519PrivateKey.generate()
        code = shop.owner.post(
            f"/api/v1/businesses/{shop.business_id}/pairing-codes",
            {"branch_id": branch_id} if branch_id else None,
        ).json()
        paired = SyncClient("", http=client).pair(
            code["code"], public_key_text(self.key.public_key()), name
        )
        self.device_id = paired.device_id
        self.api = SyncClient("", http=client, auth=DeviceAuth(paired.device_id, paired.secret))
        self.seq = 0

    def event(self, kind="gift_card_redemption", at=None, **payload):
        self.seq += 1
        moment = (at or datetime.now(UTC)).isoformat()
        return TerminalEvent(str(uuid.uuid4()), self.seq, kind, moment, payload).signed(self.key)

    def push(self, *events):
        return [(r.status, r.detail) for r in self.api.push(list(events))]


@pytest.fixture
def card(client, shop):
    return buy_card(sign_up(client), shop, 1000).json()


def balance(shop, card):
    return shop.owner.get(f"/api/v1/gift-cards/{card['id']}").json()


def test_pairing_codes_work_once(client, shop):
    code = shop.owner.post(f"/api/v1/businesses/{shop.business_id}/pairing-codes").json()
    key = public_key_text(Ed25519PrivateKey.generate().public_key())
    api = SyncClient("", http=client)
    assert api.pair(code["code"].lower(), key, "Till").business_id == shop.business_id
    with pytest.raises(ServerRefusedError) as refused:
        api.pair(code["code"], key, "Till again")
    assert refused.value.kind == "invalid-pairing-code"


def test_a_bad_device_key_is_refused(client, shop):
    code = shop.owner.post(f"/api/v1/businesses/{shop.business_id}/pairing-codes").json()
    with pytest.raises(ServerRefusedError) as refused:
        SyncClient("", http=client).pair(code["code"], "bm90IGEga2V5", "Till")
    assert refused.value.kind == "invalid-device-key"


def test_offline_redemptions_apply_once(client, shop, card, sessions):
    till = Terminal(client, shop)
    event = till.event(card_id=card["id"], amount_minor=300)
    assert till.push(event) == [("applied", "")]
    assert till.push(event)[0][0] == "duplicate"
    assert balance(shop, card)["balance"]["minor"] == 700
    with sessions() as session:
        count = select(func.count()).select_from(Transfer).where(Transfer.card_id == card["id"])
        assert session.scalar(count) == 2  # the purchase and one redemption


def test_one_event_pushed_at_once_by_many_requests_applies_once(client, shop, card, sessions):
    """A terminal retrying a push while the first is still running: one `applied`, the rest
    `duplicate`, the card charged once (the unique event and sequence, never a 500)."""
    from tests.server.test_input_limits import at_once

    till = Terminal(client, shop)
    event = till.event(card_id=card["id"], amount_minor=300)
    answers = at_once(4, lambda _: till.push(event)[0][0])
    assert sorted(answers) == ["applied"] + ["duplicate"] * 3
    assert balance(shop, card)["balance"]["minor"] == 700


def test_overspend_across_two_tills_blocks_the_card_and_opens_an_incident(client, shop, card):
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    assert first.push(first.event(card_id=card["id"], amount_minor=800))[0][0] == "applied"
    status, detail = second.push(second.event(card_id=card["id"], amount_minor=600))[0]
    assert status == "applied_with_incident"
    assert "£4.00" in detail
    shown = balance(shop, card)
    assert (shown["balance"]["minor"], shown["status"]) == (0, "blocked")
    (incident,) = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"]
    assert (incident["kind"], incident["amount_minor"]) == ("offline_overspend", 400)
    resolved = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/incidents/{incident['id']}/resolve",
        {"resolution": "customer paid the rest in cash"},
    )
    assert resolved.json()["resolved_at"] is not None


def test_an_online_attempt_that_went_through_is_not_charged_again(client, shop, card):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 500).json()
    key = new_key()
    till.api.redeem_online(bought["token"], 200, key)  # applied, but the answer was lost...
    # ...so the till fell back offline, with the same attempt key:
    event = till.event(card_id=bought["id"], amount_minor=200, attempt_key=key)
    assert till.push(event)[0][0] == "duplicate"
    assert balance(shop, bought)["balance"]["minor"] == 300


def test_a_late_online_attempt_after_the_offline_event_is_not_applied(client, shop, sessions):
    till = Terminal(client, shop)
    bought = buy_card(sign_up(client), shop, 500).json()
    key = new_key()
    event = till.event(card_id=bought["id"], amount_minor=200, attempt_key=key)
    assert till.push(event)[0][0] == "applied"
    with sessions() as session:  # the event is no fake request: no answer is stored for it
        stored = select(func.count()).where(IdempotencyRecord.scope.startswith("device:"))
        assert session.scalar(stored) == 0
    with pytest.raises(ServerRefusedError) as late:  # the lost online request finally arrives
        till.api.redeem_online(bought["token"], 200, key)
    assert late.value.kind == "redeemed-offline"
    assert balance(shop, bought)["balance"]["minor"] == 300


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda e: TerminalEvent(
                e.id, e.seq, e.type, e.occurred_at, {**e.payload, "amount_minor": 1}, e.signature
            ),
            "signature",
        ),
        (
            lambda e: TerminalEvent(
                e.id, e.seq, "gift_card_refund", e.occurred_at, e.payload, e.signature
            ),
            "signature",
        ),
    ],
)
def test_tampered_events_are_rejected_and_change_nothing(client, shop, card, change, reason):
    till = Terminal(client, shop)
    status, detail = till.push(change(till.event(card_id=card["id"], amount_minor=300)))[0]
    assert status == "rejected"
    assert reason in detail
    assert balance(shop, card)["balance"]["minor"] == 1000


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("gift_card_refund", {"card_id": "x"}, "unknown event type"),
        ("gift_card_redemption", {"card_id": "nosuchcard1", "amount_minor": 5}, "no gift card"),
        ("gift_card_redemption", {"amount_minor": 5}, "payload.card_id"),
        ("gift_card_redemption", {"card_id": "CARD", "amount_minor": -5}, "payload.amount_minor"),
        ("gift_card_redemption", {"card_id": "CARD", "amount_minor": "5"}, "payload.amount_minor"),
        (
            "gift_card_redemption",
            {"card_id": "CARD", "amount_minor": 5, "attempt_key": "k" * 201},
            "payload.attempt_key",
        ),
    ],
)
def test_malformed_events_get_a_clear_rejection(client, shop, card, kind, payload, reason):
    till = Terminal(client, shop)
    payload = {k: (card["id"] if v == "CARD" else v) for k, v in payload.items()}
    status, detail = till.push(till.event(kind, **payload))[0]
    assert (status, reason in detail) == ("rejected", True)
    assert balance(shop, card)["balance"]["minor"] == 1000


def test_another_business_card_is_rejected(client, shop, card):
    other_till = Terminal(client, open_shop(client, "Other"))
    status, _ = other_till.push(other_till.event(card_id=card["id"], amount_minor=100))[0]
    assert status == "rejected"


def test_a_replayed_sequence_number_is_rejected(client, shop, card):
    till = Terminal(client, shop)
    till.push(till.event(card_id=card["id"], amount_minor=100))
    till.seq -= 1
    status, detail = till.push(till.event(card_id=card["id"], amount_minor=100))[0]
    assert (status, "replayed" in detail) == ("rejected", True)


def test_events_apply_in_the_devices_order(client, shop, card):
    till = Terminal(client, shop)
    first, second = (
        till.event(card_id=card["id"], amount_minor=900),
        till.event(card_id=card["id"], amount_minor=50),
    )
    results = till.push(second, first)  # sent out of order, answered in the order sent
    assert [status for status, _ in results] == ["applied", "applied"]
    assert balance(shop, card)["balance"]["minor"] == 50


def test_a_revoked_terminal_cannot_push(client, shop, card):
    till = Terminal(client, shop)
    shop.owner.post(f"/api/v1/businesses/{shop.business_id}/devices/{till.device_id}/revoke")
    with pytest.raises(ServerRefusedError) as refused:
        till.push(till.event(card_id=card["id"], amount_minor=100))
    assert (refused.value.status, refused.value.kind) == (403, "device-revoked")


def test_a_voucher_used_on_two_tills_is_recorded_twice_and_flagged(client, shop):
    voucher = buy_voucher(sign_up(client), create_deal(shop).json()["id"]).json()
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    assert (
        first.push(first.event("voucher_redemption", voucher_id=voucher["id"]))[0][0] == "applied"
    )
    status, _ = second.push(second.event("voucher_redemption", voucher_id=voucher["id"]))[0]
    assert status == "applied_with_incident"
    kinds = [
        i["kind"]
        for i in shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"]
    ]
    assert kinds == ["voucher_reused"]


def test_an_answer_lost_on_the_way_back_loses_and_doubles_nothing(client, shop, card, tmp_path):
    """The network fails after the server applied a batch: the terminal keeps the events,
    sends them again, and they come back as duplicates."""
    store = TerminalStore(tmp_path / "till.db")
    till = Terminal(client, shop)
    store.save_pairing(Pairing("", till.device_id, shop.business_id, "unused", till.key))
    store.cache_card(card["id"], "GBP", 1000, CardStatus.ACTIVE)
    cached = store.card(card["id"])
    assert cached is not None
    for amount in (100, 200):
        store.record_offline_redemption(cached, amount, new_key())

    def lose_the_answer(response):
        raise httpx.ReadError("connection reset by peer", request=response.request)

    client.event_hooks["response"] = [lose_the_answer]
    with pytest.raises(ServerUnreachableError):
        push_outbox(till.api, store)
    client.event_hooks["response"] = []
    assert store.pending_count() == 2  # nothing was deleted without an answer
    summary = push_outbox(till.api, store)
    assert (summary.duplicates, store.pending_count()) == (2, 0)
    assert balance(shop, card)["balance"]["minor"] == 700
    store.close()


def test_a_terminal_redeems_a_voucher_online_once(client, shop, customer):
    voucher = buy_voucher(customer, create_deal(shop).json()["id"]).json()
    till = Terminal(client, shop)
    key = new_key()
    assert till.api.redeem_voucher_online(voucher["token"], key).status == "redeemed"
    with pytest.raises(ServerRefusedError) as again:
        till.api.redeem_voucher_online(voucher["token"], new_key())
    assert again.value.kind == "voucher-used"
    # The same redemption arriving as an offline event (its answer was lost) is a duplicate.
    event = till.event("voucher_redemption", voucher_id=voucher["id"], attempt_key=key)
    assert till.push(event)[0][0] == "duplicate"
    assert shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"] == []


def product_of(client, shop, product_id):
    detail = client.get(f"/api/v1/businesses/{shop.business_id}").json()
    return next((p for p in detail["products"] if p["id"] == product_id), None)


def test_listing_edits_from_a_terminal_apply_to_their_version(client, shop):
    till = Terminal(client, shop)
    created = till.push(
        till.event(
            "product_edit",
            product_id="newproduct1",
            name="Scone",
            price_minor=250,
            base_version=None,
        )
    )
    assert created == [("applied", "")]
    (pulled,) = till.api.pull(0).products
    assert (pulled.name, pulled.version) == ("Scone", 1)
    edit = till.event(
        "product_edit",
        product_id="newproduct1",
        name="Fruit scone",
        price_minor=280,
        base_version=1,
    )
    assert till.push(edit)[0][0] == "applied"
    assert product_of(client, shop, "newproduct1")["price"]["minor"] == 280


def test_a_conflicting_edit_is_reported_not_dropped(client, shop):
    first, second = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    first.push(
        first.event(
            "product_edit", product_id="newproduct2", name="Tea", price_minor=200, base_version=None
        )
    )
    # Both tills edit version 1 while offline; the second to sync loses.
    assert (
        first.push(
            first.event(
                "product_edit",
                product_id="newproduct2",
                name="Tea (pot)",
                price_minor=300,
                base_version=1,
            )
        )[0][0]
        == "applied"
    )
    status, detail = second.push(
        second.event(
            "product_edit",
            product_id="newproduct2",
            name="Green tea",
            price_minor=250,
            base_version=1,
        )
    )[0]
    assert status == "rejected"
    assert "conflict" in detail
    assert product_of(client, shop, "newproduct2")["name"] == "Tea (pot)"
    (incident,) = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"]
    assert incident["kind"] == "edit_conflict"
    assert "Green tea" in incident["detail"]  # the losing edit is kept for the vendor


def test_another_business_product_cannot_be_edited(client, shop):
    till = Terminal(client, shop)
    till.push(
        till.event(
            "product_edit", product_id="newproduct3", name="Bun", price_minor=100, base_version=None
        )
    )
    other = Terminal(client, open_shop(client, "Other"))
    status, _ = other.push(
        other.event(
            "product_edit", product_id="newproduct3", name="Mine", price_minor=1, base_version=1
        )
    )[0]
    assert status == "rejected"
    assert product_of(client, shop, "newproduct3")["name"] == "Bun"


def test_deal_edits_apply_to_their_version_and_conflicts_are_reported(client, shop, customer):
    deal = create_deal(shop, quantity_limit=5).json()
    buy_voucher(customer, deal["id"])
    till = Terminal(client, shop)
    (pulled,) = till.api.pull(0).deals
    version = pulled.version
    stale = till.event(
        "deal_edit", deal_id=deal["id"], title="Three for two", base_version=version - 1
    )
    assert till.push(stale)[0][0] == "rejected"
    too_few = till.event("deal_edit", deal_id=deal["id"], quantity_limit=0, base_version=version)
    assert "at least the 1 already sold" in till.push(too_few)[0][1]
    edit = till.event(
        "deal_edit",
        deal_id=deal["id"],
        title="Three for two",
        quantity_limit=10,
        base_version=version,
    )
    assert till.push(edit)[0][0] == "applied"
    shown = client.get(f"/api/v1/deals/{deal['id']}").json()
    assert (shown["title"], shown["remaining"]) == ("Three for two", 9)
    kinds = [
        i["kind"]
        for i in shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"]
    ]
    assert kinds == ["edit_conflict"]


@pytest.mark.parametrize("product_id", ["x" * 12, "has space!!", ""])
def test_a_new_product_needs_a_proper_id(client, shop, product_id):
    till = Terminal(client, shop)
    status, detail = till.push(
        till.event(
            "product_edit", product_id=product_id, name="Scone", price_minor=250, base_version=None
        )
    )[0]
    assert status == "rejected"
    assert "product_id" in detail


# -- voids: a terminal takes back its own recent gift-card redemption ------------------------


def void(till, card, key, amount, at=None):
    return till.event(
        "redemption_void", at=at, attempt_key=key, card_id=card["id"], amount_minor=amount
    )


def test_a_void_puts_an_online_redemption_back_once(client, shop, card):
    till = Terminal(client, shop)
    till.api.redeem_online(card["token"], 300, "sale-1")
    assert balance(shop, card)["balance"]["minor"] == 700
    assert till.push(void(till, card, "sale-1", 300)) == [("applied", "")]
    assert balance(shop, card)["balance"]["minor"] == 1000
    status, detail = till.push(void(till, card, "sale-1", 300))[0]
    assert (status, detail) == ("rejected", "that redemption was already voided")
    assert balance(shop, card)["balance"]["minor"] == 1000


def test_an_offline_redemption_and_its_void_in_one_batch(client, shop, card):
    till = Terminal(client, shop)
    sale = till.event(card_id=card["id"], amount_minor=250, attempt_key="sale-2")
    results = till.push(sale, void(till, card, "sale-2", 250))
    assert [status for status, _ in results] == ["applied", "applied"]
    assert balance(shop, card)["balance"]["minor"] == 1000
    history = shop.owner.get(f"/api/v1/gift-cards/{card['id']}/history").json()
    kinds = [entry["kind"] for entry in history["entries"]]
    assert kinds.count("offline-redemption") == 1  # it stays; the void gives it back
    assert kinds.count("void") == 1


def test_a_void_too_late_or_of_nothing_or_of_another_tills_sale_changes_nothing(client, shop, card):
    till, other = Terminal(client, shop, "Till 1"), Terminal(client, shop, "Till 2")
    till.api.redeem_online(card["token"], 300, "sale-3")
    late = datetime.now(UTC) + timedelta(minutes=20)
    assert "within 15 minutes" in till.push(void(till, card, "sale-3", 300, at=late))[0][1]
    assert "no gift-card redemption" in till.push(void(till, card, "nothing", 300))[0][1]
    assert "no gift-card redemption" in other.push(void(other, card, "sale-3", 300))[0][1]
    assert balance(shop, card)["balance"]["minor"] == 700


def test_a_batch_mixing_redemptions_and_a_void_sees_each_balance_as_it_is(client, shop, card):
    till = Terminal(client, shop)
    results = till.push(
        till.event(card_id=card["id"], amount_minor=250, attempt_key="s1"),
        void(till, card, "s1", 250),
        till.event(card_id=card["id"], amount_minor=900, attempt_key="s2"),
    )
    # The void gave the 250 back before the 900 came: no shortfall, no blocked card.
    assert [status for status, _ in results] == ["applied", "applied", "applied"]
    assert balance(shop, card)["balance"]["minor"] == 100
    assert balance(shop, card)["status"] == "active"
