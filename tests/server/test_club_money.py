"""A club's money: donations from a gift card where its business allows it, refunds back
where a donation came from, emailed receipts, club purchases of gift cards and vouchers
paid by the fund, handed to members, and the history members see. The ledger balances after
every movement."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from server.app import create_app
from server.community.models import Donation
from server.notifications import NotificationWorker
from server.wallet.ledger import invariant_violations
from tests.server.api import buy_card, create_deal, new_key, sign_up
from tests.server.test_clubs import donate, found, join
from tests.server.test_fraud import add_rule, admin, assert_blocked

__all__ = ["admin"]  # a fixture: the default fraud rules off, for one rule under test


@pytest.fixture
def balanced(sessions):
    """Assert the ledger balances: call after each movement."""

    def check() -> None:
        with sessions() as session:
            assert invariant_violations(session) == [], "the ledger no longer balances"

    return check


def fund(person, club) -> int:
    answer = person.get(f"/api/v1/clubs/{club['id']}/funds")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["balance"]["minor"])


def card_balance(person, card) -> int:
    return int(person.get(f"/api/v1/gift-cards/{card['id']}").json()["balance"]["minor"])


def allow_card_donations(shop, allowed=True):
    answer = shop.owner.put(
        f"/api/v1/businesses/{shop.business_id}/club-donations", {"allowed": allowed}
    )
    assert answer.status_code == 200, answer.text
    return answer


def give_from_card(person, club, card, amount, key=None, **extra):
    return person.post(
        f"/api/v1/clubs/{club['id']}/donations/from-card",
        {"card_id": card["id"], "amount_minor": amount, **extra},
        key=key or new_key(),
    )


def refund(person, club, donation, key=None):
    return person.post(
        f"/api/v1/clubs/{club['id']}/donations/{donation['id']}/refund", key=key or new_key()
    )


def buy_for_club(person, club, shop, amount, key=None):
    return person.post(
        f"/api/v1/clubs/{club['id']}/purchases/gift-cards",
        {"business_id": shop.business_id, "amount_minor": amount},
        key=key or new_key(),
    )


def voucher_for_club(person, club, deal_id, key=None):
    return person.post(
        f"/api/v1/clubs/{club['id']}/purchases/vouchers", {"deal_id": deal_id}, key=key or new_key()
    )


def holdings(person, club):
    answer = person.get(f"/api/v1/clubs/{club['id']}/holdings")
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def hand_over(person, club, holding, member, key=None):
    return person.post(
        f"/api/v1/clubs/{club['id']}/holdings/{holding['id']}/hand-over",
        {"member_id": member.id},
        key=key or new_key(),
    )


def history(person, club, **params):
    answer = person.get(f"/api/v1/clubs/{club['id']}/history", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- donations from a gift card --------------------------------------------------------------


def test_a_gift_card_is_donated_from_only_where_its_business_allows(
    client, customer, shop, balanced
):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    card = buy_card(bea, shop, 3000).json()
    off = give_from_card(bea, club, card, 1000)
    assert off.status_code == 403  # off until the business turns it on
    assert off.json()["type"].endswith("/card-donations-off")
    assert card_balance(bea, card) == 3000

    allow_card_donations(shop)
    given = give_from_card(bea, club, card, 1000, key="from-card-1", message="For books")
    assert given.status_code == 201, given.text
    again = give_from_card(bea, club, card, 1000, key="from-card-1", message="For books")
    assert again.json() == given.json()  # a retry gives once
    receipt = given.json()
    assert (receipt["gift_card_id"], receipt["donor"], receipt["payment_reference"]) == (
        card["id"],
        "Bea",
        "",
    )
    assert (card_balance(bea, card), fund(customer, club)) == (2000, 1000)
    balanced()

    allow_card_donations(shop, allowed=False)
    assert give_from_card(bea, club, card, 1).status_code == 403
    assert fund(customer, club) == 1000


def test_a_card_donation_is_refused_beyond_the_balance_or_from_someone_elses_card(
    client, customer, shop, balanced
):
    club = found(customer)
    bea = sign_up(client)
    card = buy_card(bea, shop, 500).json()
    allow_card_donations(shop)
    too_much = give_from_card(bea, club, card, 501)
    assert too_much.status_code == 409
    assert too_much.json()["type"].endswith("/insufficient-balance")
    assert too_much.json()["detail"].endswith(": give at most £5.00.")
    not_hers = give_from_card(customer, club, card, 100)
    assert not_hers.status_code == 404  # card ids cannot be probed
    assert (card_balance(bea, card), fund(customer, club)) == (500, 0)
    balanced()


def test_paid_donations_meet_the_purchase_fraud_rules_and_a_refusal_charges_nothing(
    admin, customer, balanced
):
    add_rule(
        admin,
        subject="payment_card",
        event="purchase",
        window_seconds=86_400,
        max_count=1,
        action="block",
    )
    club = found(customer)
    assert donate(customer, club, 500).status_code == 201
    assert_blocked(donate(customer, club, 700))
    assert fund(customer, club) == 500
    balanced()


def test_card_donations_meet_the_fraud_rules_for_moves_off_a_card(admin, customer, shop, balanced):
    add_rule(
        admin, subject="card", event="transfer", window_seconds=3600, max_count=1, action="block"
    )
    club = found(customer)
    card = buy_card(customer, shop, 5000).json()
    allow_card_donations(shop)
    assert give_from_card(customer, club, card, 100).status_code == 201
    assert_blocked(give_from_card(customer, club, card, 100))
    assert (card_balance(customer, card), fund(customer, club)) == (4900, 100)
    balanced()


# -- refunds ---------------------------------------------------------------------------------


def test_a_paid_donation_is_refunded_once_to_the_payment_card(client, customer, balanced):
    club = found(customer)
    bea, stranger = sign_up(client), sign_up(client)
    join(bea, club)
    given = donate(bea, club, 1500).json()
    assert refund(stranger, club, given).status_code == 403  # not the donor, not an organiser
    done = refund(bea, club, given, key="refund-1")
    assert done.status_code == 200, done.text
    assert done.json()["refunded_at"] is not None
    assert refund(bea, club, given, key="refund-1").json() == done.json()  # a retry
    twice = refund(customer, club, given)
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("/donation-not-refundable")
    assert fund(customer, club) == 0
    balanced()


def test_an_organiser_refunds_a_card_donation_onto_the_card(client, customer, shop, balanced):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    allow_card_donations(shop)
    card = buy_card(bea, shop, 2000).json()
    given = give_from_card(bea, club, card, 1200).json()
    assert card_balance(bea, card) == 800
    done = refund(customer, club, given)  # the founder organises the club
    assert done.status_code == 200, done.text
    assert (card_balance(bea, card), fund(customer, club)) == (2000, 0)
    balanced()


def test_a_refund_is_refused_after_the_window_or_once_the_fund_is_spent(
    client, customer, shop, sessions, balanced
):
    club = found(customer)
    old, spent = donate(customer, club, 1000).json(), donate(customer, club, 2000).json()
    with sessions() as session:
        session.execute(
            update(Donation)
            .where(Donation.id == old["id"])
            .values(created_at=datetime.now(UTC) - timedelta(days=15))
        )
        session.commit()
    late = refund(customer, club, old)
    assert late.status_code == 409
    assert "14 days" in late.json()["detail"]
    assert buy_for_club(customer, club, shop, 2500).status_code == 201  # the fund spends 2500
    short = refund(customer, club, spent)
    assert short.status_code == 409
    assert short.json()["type"].endswith("/club-fund-short")
    assert fund(customer, club) == 500
    [mine, _] = customer.get("/api/v1/me/donations").json()["items"]
    assert mine["refunded_at"] is None  # nothing was refunded
    balanced()


# -- receipts --------------------------------------------------------------------------------


@pytest.fixture
def mail_client(notify_settings, engine, push):
    with TestClient(create_app(notify_settings, engine=engine, push=push)) as client:
        yield client


def test_donation_and_refund_receipts_are_emailed(mail_client, sessions, notify_settings, sink):
    worker = NotificationWorker(sessions, notify_settings)
    ada = sign_up(mail_client)
    club = found(ada)
    given = donate(ada, club, 1500).json()
    refund(ada, club, given)
    worker.run_once()
    subjects = sorted(m["Subject"] for m in sink.to(ada.email))
    assert subjects == [
        "Your donation to Old Street Readers",
        "Your donation to Old Street Readers was refunded",
    ]
    [receipt] = [m for m in sink.to(ada.email) if m["Subject"].endswith("Readers")]
    assert given["id"] in receipt.get_body(("plain",)).get_content()
    assert "15.00 GBP" in receipt.get_body(("plain",)).get_content()


# -- club purchases --------------------------------------------------------------------------


def test_an_organiser_buys_a_card_with_the_fund_and_hands_it_to_a_member(
    client, customer, shop, balanced
):
    club = found(customer)
    bea, carl = sign_up(client), sign_up(client)
    join(bea, club)
    donate(carl, club, 5000, anonymous=True)
    balanced()
    assert buy_for_club(bea, club, shop, 1000).status_code == 403  # members cannot spend
    bought = buy_for_club(customer, club, shop, 2000, key="club-card-1")
    assert bought.status_code == 201, bought.text
    assert buy_for_club(customer, club, shop, 2000, key="club-card-1").json() == bought.json()
    held = bought.json()
    assert (held["kind"], held["paid"]["minor"], held["bought_by"], held["handed_to"]) == (
        "gift_card",
        2000,
        "Ada",
        None,
    )
    assert fund(customer, club) == 3000  # paid once
    balanced()
    # Held by the club: in no one's wallet, its code shown to no one.
    assert customer.get(f"/api/v1/gift-cards/{held['item_id']}/qr.png").status_code == 404
    assert bea.get("/api/v1/me/gift-cards").json()["items"] == []

    assert hand_over(bea, club, held, bea).status_code == 403  # members cannot hand over
    assert hand_over(customer, club, held, carl).status_code == 404  # carl is not a member
    given = hand_over(customer, club, held, bea, key="hand-1")
    assert given.status_code == 200, given.text
    assert given.json()["handed_to"] == "Bea"
    assert hand_over(customer, club, held, bea, key="hand-1").json() == given.json()
    assert hand_over(customer, club, held, bea).status_code == 409  # handed over once
    [card] = bea.get("/api/v1/me/gift-cards").json()["items"]
    assert (card["id"], card["balance"]["minor"]) == (held["item_id"], 2000)
    assert bea.get(f"/api/v1/gift-cards/{card['id']}/qr.png").status_code == 200
    assert shop.redeem(500, card_id=card["id"]).status_code == 200
    balanced()

    lines = history(bea, club)
    assert [(m["kind"], m["amount"]["minor"], m["by"]) for m in lines["items"]] == [
        ("handed_over", 0, "Ada"),
        ("purchase", -2000, "Ada"),
        ("donation", 5000, "Anonymous"),
    ]
    assert (lines["total"], lines["next_offset"]) == (3, None)
    assert history(bea, club, limit=1)["next_offset"] == 1
    [holding] = holdings(bea, club)
    assert holding["handed_to"] == "Bea"
    assert carl.get(f"/api/v1/clubs/{club['id']}/history").status_code == 403  # not a member
    assert carl.get(f"/api/v1/clubs/{club['id']}/holdings").status_code == 403
    assert carl.id not in str(lines)


def test_a_club_buys_a_voucher_and_a_member_gets_it(client, customer, shop, balanced):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    deal = create_deal(shop).json()
    short = voucher_for_club(customer, club, deal["id"])
    assert short.status_code == 409  # an empty fund
    assert short.json()["type"].endswith("/club-fund-short")
    donate(customer, club, 1000)
    bought = voucher_for_club(customer, club, deal["id"])
    assert bought.status_code == 201, bought.text
    assert fund(customer, club) == 1000 - deal["deal_price"]["minor"]
    balanced()
    assert bea.get("/api/v1/me/vouchers").json()["items"] == []
    assert hand_over(customer, club, bought.json(), bea).status_code == 200
    [voucher] = bea.get("/api/v1/me/vouchers").json()["items"]
    assert voucher["id"] == bought.json()["item_id"]
    assert bea.get(f"/api/v1/vouchers/{voucher['id']}/qr.svg").status_code == 200
    balanced()


def test_a_purchase_above_the_fund_changes_nothing(client, customer, shop, balanced):
    club = found(customer)
    donate(customer, club, 1000)
    short = buy_for_club(customer, club, shop, 1001)
    assert short.status_code == 409
    assert "holds £10.00" in short.json()["detail"]
    assert fund(customer, club) == 1000
    assert holdings(customer, club) == []
    assert [m["kind"] for m in history(customer, club)["items"]] == ["donation"]
    balanced()


def test_club_purchases_meet_the_purchase_fraud_rules_for_the_organiser(
    admin, client, customer, shop, balanced
):
    club = found(customer)
    donate(sign_up(client), club, 5000)  # the donor's purchase, not the organiser's
    add_rule(
        admin,
        subject="customer",
        event="purchase",
        window_seconds=3600,
        max_count=1,
        action="block",
    )
    assert buy_for_club(customer, club, shop, 1000).status_code == 201
    deal = create_deal(shop).json()
    assert_blocked(voucher_for_club(customer, club, deal["id"]))
    assert_blocked(buy_for_club(customer, club, shop, 1000))
    assert fund(customer, club) == 4000
    assert len(holdings(customer, club)) == 1
    balanced()


def test_a_club_purchase_from_no_such_business_or_deal_is_404_and_changes_nothing(
    client, customer, balanced
):
    club = found(customer)
    donate(customer, club, 1000)
    card = customer.post(
        f"/api/v1/clubs/{club['id']}/purchases/gift-cards",
        {"business_id": "no-such-shop", "amount_minor": 100},
        key=new_key(),
    )
    assert card.status_code == 404, card.text
    assert "no-such-shop" in card.json()["detail"]
    voucher = voucher_for_club(customer, club, "no-such-deal")
    assert voucher.status_code == 404, voucher.text
    assert "no-such-deal" in voucher.json()["detail"]
    assert fund(customer, club) == 1000
    assert [m["kind"] for m in history(customer, club)["items"]] == ["donation"]
    balanced()


def test_two_organisers_spending_the_last_funds_at_once_one_wins(client, customer, shop, balanced):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    customer.put(f"/api/v1/clubs/{club['id']}/members/{bea.id}/role", {"role": "organiser"})
    donate(customer, club, 3000)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda organiser: buy_for_club(organiser, club, shop, 2000), [customer, bea])
        )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert fund(customer, club) == 1000
    assert len(holdings(customer, club)) == 1
    balanced()


def test_a_club_with_money_on_record_closes_only_empty_and_keeps_its_receipts(
    client, customer, balanced
):
    club = found(customer)
    given = donate(customer, club, 1000).json()
    kept = customer.post(f"/api/v1/clubs/{club['id']}/leave")
    assert kept.status_code == 409  # the fund holds £10.00
    assert "fund" in kept.json()["detail"]
    assert client.get(f"/api/v1/clubs/{club['id']}").status_code == 200
    assert refund(customer, club, given).status_code == 200
    assert customer.post(f"/api/v1/clubs/{club['id']}/leave").status_code == 204
    assert client.get(f"/api/v1/clubs/{club['id']}").status_code == 404
    assert client.get("/api/v1/clubs").json()["total"] == 0
    assert customer.get("/api/v1/me/clubs").json()["items"] == []
    [receipt] = customer.get("/api/v1/me/donations").json()["items"]
    assert (receipt["club_name"], receipt["refunded_at"] is not None) == (
        "Old Street Readers",
        True,
    )
    balanced()


def test_a_member_handed_a_club_card_is_not_told_they_bought_it(
    client, customer, shop, sessions, settings
):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    donate(customer, club, 2000)
    held = buy_for_club(customer, club, shop, 2000).json()
    assert hand_over(customer, club, held, bea).status_code == 200
    buy_card(bea, shop, 500)  # one she did buy
    NotificationWorker(sessions, settings).run_once()
    items = bea.get("/api/v1/me/inbox").json()["items"]
    kinds = sorted(item["kind"] for item in items)
    assert kinds == ["card_bought", "club_handout"]  # hers; the club's, as the club's
    [handout] = [item for item in items if item["kind"] == "club_handout"]
    assert handout["title"] == "Old Street Readers gave you a gift card"


def test_one_request_sent_twice_at_once_with_its_key_has_one_effect(
    client, customer, shop, balanced
):
    """A double-submit (the same Idempotency-Key, at once) of a donation, a club purchase and
    a hand-over: one donation, one card, one hand-over, both answers the same; the key
    with another body is refused and changes nothing."""
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)

    def twice(send):
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(lambda _: send(), range(2))
        assert (first.status_code, first.json()) == (second.status_code, second.json())
        return first

    given = twice(lambda: donate(bea, club, 3000, key="twice-donation"))
    assert given.status_code == 201, given.text
    assert fund(customer, club) == 3000
    assert len(bea.get("/api/v1/me/donations").json()["items"]) == 1

    bought = twice(lambda: buy_for_club(customer, club, shop, 1000, key="twice-card"))
    assert bought.status_code == 201, bought.text
    assert fund(customer, club) == 2000
    assert len(holdings(customer, club)) == 1

    held = bought.json()
    handed = twice(lambda: hand_over(customer, club, held, bea, key="twice-hand"))
    assert handed.status_code == 200, handed.text
    assert [c["id"] for c in bea.get("/api/v1/me/gift-cards").json()["items"]] == [held["item_id"]]
    assert [m["kind"] for m in history(bea, club)["items"]] == [
        "handed_over",
        "purchase",
        "donation",
    ]

    reused = buy_for_club(customer, club, shop, 1500, key="twice-card")
    assert reused.status_code == 409
    assert "different request" in reused.json()["detail"]
    assert fund(customer, club) == 2000
    balanced()


def test_another_clubs_ids_are_not_found_through_this_club_and_change_nothing(
    client, customer, shop, balanced
):
    """An organiser of club A names club B's holding, donation or member in A's routes:
    404, and nothing moves in either club."""
    club_a = found(customer, name="Readers A")
    bea = sign_up(client)
    club_b = found(bea, name="Readers B")
    carl = sign_up(client)
    join(carl, club_b)
    donate(customer, club_a, 3000)
    donate(bea, club_b, 3000)
    b_holding = buy_for_club(bea, club_b, shop, 1000).json()
    [b_donation] = bea.get(f"/api/v1/clubs/{club_b['id']}/funds").json()["items"]
    a_holding = buy_for_club(customer, club_a, shop, 1000).json()

    assert hand_over(customer, club_a, b_holding, carl).status_code == 404  # B's holding
    assert hand_over(customer, club_a, a_holding, carl).status_code == 404  # B's member
    assert refund(customer, club_a, b_donation).status_code == 404
    assert hand_over(customer, club_b, b_holding, carl).status_code == 403  # not B's organiser
    assert fund(customer, club_a) == fund(bea, club_b) == 2000
    for person, club in ((customer, club_a), (bea, club_b)):
        [held] = holdings(person, club)
        assert held["handed_to"] is None
    assert carl.get("/api/v1/me/gift-cards").json()["items"] == []
    assert [m["kind"] for m in history(bea, club_b)["items"]] == ["purchase", "donation"]
    balanced()
