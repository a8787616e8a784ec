"""What the community audit found in clubs and donations (/work/audit/community.md, findings
2, 5, 8, 9 and 11): each test failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.contests import results
from server.notifications.outbox import Channels
from server.wording import possessive
from tests.server.api import buy_card, new_key, open_shop, sign_up
from tests.server.test_club_money import (
    allow_card_donations,
    buy_for_club,
    card_balance,
    fund,
    give_from_card,
    history,
    holdings,
    refund,
)
from tests.server.test_clubs import donate, found, join, names

OTHER_CARD = "5555 5555 5555 4444"


def problem(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["type"].rsplit("/", 1)[-1]


# -- 2: an anonymous donor's own refund does not name them --------------------------------


def test_an_anonymous_donor_who_refunds_stays_anonymous_in_the_history(client, customer):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    given = donate(bea, club, 321, anonymous=True, message="secret").json()
    assert refund(bea, club, given).status_code == 200
    for reader in (customer, bea):  # another member, and the donor as she sees the donation
        lines = history(reader, club)["items"]
        assert [(m["kind"], m["by"], m["about"]) for m in lines] == [
            ("donation_refunded", "Anonymous", given["id"]),
            ("donation", "Anonymous", given["id"]),
        ]
    # An organiser who refunds someone's anonymous donation acted themselves: named.
    other = donate(bea, club, 200, anonymous=True).json()
    assert refund(customer, club, other).status_code == 200
    assert history(bea, club)["items"][0]["by"] == "Ada"


# -- 5: a refund onto a full gift card -------------------------------------------------------


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"max_card_balance_minor": 10_000})


def test_a_refund_onto_a_full_card_says_to_spend_from_it_first_and_changes_nothing(
    client, customer, shop
):
    club = found(customer)
    allow_card_donations(shop)
    card = buy_card(customer, shop, 9_900).json()
    given = give_from_card(customer, club, card, 100).json()
    topping = buy_card(customer, shop, 200, card_number=OTHER_CARD).json()
    moved = customer.post(
        f"/api/v1/gift-cards/{topping['id']}/transfers",
        {"to_card_id": card["id"], "amount_minor": 200},
        key=new_key(),
    )
    assert moved.status_code == 200, moved.text
    assert card_balance(customer, card) == 10_000  # full

    refused = refund(customer, club, given)
    assert problem(refused) == (409, "card-balance-limit")
    detail = refused.json()["detail"]
    assert "Spend at least £1.00 from the card" in detail
    assert "ask again" in detail
    assert f"{datetime.now(UTC) + timedelta(days=14):%d %B %Y}" in detail  # the window's end
    assert "Load at most" not in detail
    assert "another card" not in detail
    assert (card_balance(customer, card), fund(customer, club)) == (10_000, 100)
    [mine] = customer.get("/api/v1/me/donations").json()["items"]
    assert mine["refunded_at"] is None

    assert shop.redeem(100, card_id=card["id"]).status_code == 200  # as the refusal says
    assert refund(customer, club, given).status_code == 200
    assert (card_balance(customer, card), fund(customer, club)) == (10_000, 0)


# -- 8: display names, and removal --------------------------------------------------------


@pytest.mark.parametrize("taken", ["Ada", "ada", "  ADA  "])
def test_a_display_name_another_member_uses_is_refused(client, customer, taken):
    club = found(customer)  # the founder is "Ada"
    mallory = sign_up(client)
    answer = join(mallory, club, display_name=taken)
    assert problem(answer) == (409, "display-name-taken")
    assert "pick another" in answer.json()["detail"]
    assert names(client, club) == ["Ada"]
    assert mallory.get("/api/v1/me/clubs").json()["items"] == []
    assert join(mallory, club, display_name="Mal").status_code == 200


def test_a_name_is_free_again_once_its_member_has_left(client, customer):
    club = found(customer)
    bea, bee = sign_up(client), sign_up(client)
    assert join(bea, club, display_name="Bea").status_code == 200
    assert bea.post(f"/api/v1/clubs/{club['id']}/leave").status_code == 204
    assert join(bee, club, display_name="Bea").status_code == 200
    assert names(client, club) == ["Ada", "Bea"]


def test_a_request_is_not_approved_under_a_name_a_member_took_meanwhile(client, customer):
    club = found(customer, policy="approval")
    bea, carl = sign_up(client), sign_up(client)
    assert join(bea, club, display_name="Cy").json()["status"] == "requested"
    code = customer.post(f"/api/v1/clubs/{club['id']}/invitations").json()["code"]
    assert join(carl, club, display_name="cy", invitation=code).status_code == 200
    approved = customer.post(f"/api/v1/clubs/{club['id']}/members/{bea.id}/approve")
    assert problem(approved) == (409, "display-name-taken")
    assert names(client, club) == ["Ada", "cy"]


def test_a_removed_member_does_not_rejoin_an_open_club_by_themselves(client, customer):
    club = found(customer)
    bea = sign_up(client)
    assert join(bea, club).status_code == 200
    assert customer.delete(f"/api/v1/clubs/{club['id']}/members/{bea.id}").status_code == 204
    again = join(bea, club)
    assert problem(again) == (409, "club-closed")
    assert "invitation" in again.json()["detail"]
    # Leaving does not wipe the removal either.
    assert bea.post(f"/api/v1/clubs/{club['id']}/leave").status_code == 204
    assert join(bea, club).status_code == 409
    assert names(client, club) == ["Ada"]
    assert bea.get("/api/v1/me/clubs").json()["items"] == []
    assert bea.get(f"/api/v1/clubs/{club['id']}/history").status_code == 403
    # A new invitation from an organiser lets them back in.
    code = customer.post(f"/api/v1/clubs/{club['id']}/invitations").json()["code"]
    back = join(bea, club, display_name="Bea", invitation=code)
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["role"]) == ("active", "member")
    assert names(client, club) == ["Ada", "Bea"]


def test_a_removed_organiser_comes_back_as_a_member(client, customer):
    club = found(customer)
    bea = sign_up(client)
    join(bea, club)
    base = f"/api/v1/clubs/{club['id']}/members/{bea.id}"
    assert customer.put(f"{base}/role", {"role": "organiser"}).status_code == 200
    assert customer.delete(base).status_code == 204
    code = customer.post(f"/api/v1/clubs/{club['id']}/invitations").json()["code"]
    assert join(bea, club, invitation=code).json()["role"] == "member"


# -- 9: a prize was bought by no one ---------------------------------------------------------


def test_a_prize_the_club_won_names_no_buyer(client, customer, shop):
    club = found(customer)
    now = datetime.now(UTC)
    contest = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/contests",
        {
            "title": "Club points",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "entrants": "clubs",
            "measure": "points",
            "prizes_minor": [1500],
        },
    ).json()
    entry = customer.post(f"/api/v1/contests/{contest['id']}/entries", {"club_id": club["id"]})
    assert entry.status_code == 200, entry.text
    points = shop.owner.post(
        f"/api/v1/contests/{contest['id']}/points",
        {"entry_id": entry.json()["id"], "points": 5},
        key=new_key(),
    )
    assert points.status_code == 201, points.text
    with client.app.state.sessions() as session:
        after = now + timedelta(hours=1, minutes=1)
        keyring = client.app.state.keyring
        assert results.finish_due(session, after, keyring, Channels(email=True, push=False)) == 1
        session.commit()
    [won] = holdings(customer, club)
    assert (won["won_in"], won["bought_by"]) == (contest["id"], None)
    [line] = history(customer, club)["items"]
    assert (line["kind"], line["by"]) == ("prize_won", None)
    # A purchase still names its buyer.
    donate(customer, club, 1000)
    assert buy_for_club(customer, club, shop, 500).json()["bought_by"] == "Ada"


# -- 11: wording ------------------------------------------------------------------------------


def test_a_refund_the_fund_cannot_pay_speaks_of_the_refund(client, customer, shop):
    club = found(customer, name="Readers")
    given = donate(customer, club, 1000).json()
    assert buy_for_club(customer, club, shop, 600).status_code == 201
    short = refund(customer, club, given)
    assert problem(short) == (409, "club-fund-short")
    detail = short.json()["detail"]
    assert detail.startswith("Readers' fund holds £4.00, less than the £10.00 donation")
    assert "refunded once the fund holds £10.00 again" in detail
    assert "spend" not in detail


def test_a_purchase_the_fund_cannot_pay_names_the_club_in_good_english(client, customer, shop):
    club = found(customer, name="Readers")
    short = buy_for_club(customer, club, shop, 100)
    assert short.json()["detail"].startswith("Readers' fund holds £0.00")
    euros = open_shop(client, "Bácús", currency="EUR")
    other = buy_for_club(customer, club, euros, 100)
    assert problem(other) == (422, "wrong-currency")
    assert other.json()["detail"].startswith("Readers' fund is in GBP")


def test_a_donation_over_the_payment_cards_daily_limit_says_donate(client, customer, shop):
    club = found(customer)
    assert donate(customer, club, 100_000).status_code == 201
    assert buy_card(customer, shop, 9_000).status_code == 201
    assert donate(customer, club, 90_000).status_code == 201  # £1,990.00 paid today
    over = donate(customer, club, 2_000)
    assert problem(over) == (409, "payment-card-daily-limit")
    detail = over.json()["detail"]
    assert "donate to clubs" in detail
    assert "Donate at most £10.00" in detail
    bought = buy_card(customer, shop, 2_000)  # a gift-card purchase is told to load
    assert "Load at most £10.00" in bought.json()["detail"]


@pytest.mark.parametrize("amount", [100_001, 10_000_000, 10_000_001, 10**15])
def test_any_donation_over_the_most_is_donation_too_large(client, customer, shop, amount):
    club = found(customer)
    paid = donate(customer, club, amount)
    assert problem(paid) == (422, "donation-too-large")
    assert "£1,000.00" in paid.json()["detail"]
    allow_card_donations(shop)
    card = buy_card(customer, shop, 5000).json()
    from_card = give_from_card(customer, club, card, amount)
    assert problem(from_card) == (422, "donation-too-large")
    assert fund(customer, club) == 0


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("Readers", "Readers'"),
        ("Gamers", "Gamers'"),
        ("CHESS CLUB", "CHESS CLUB's"),
        ("GAMERS", "GAMERS'"),
        ("Ada", "Ada's"),
        ("Race club", "Race club's"),
    ],
)
def test_a_possessive_of_a_name_ending_in_s_takes_only_an_apostrophe(name, said):
    assert possessive(name) == said
