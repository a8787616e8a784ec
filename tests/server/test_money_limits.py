"""Money limits (issue 12, point 2): refunds only against a redemption and up to what it
took, a card's maximum balance, a payment card's daily load, and what a business's cards may
hold together. Every test ends with the ledger invariant checked (see conftest)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from server.community.models import Donation
from server.db import Base
from server.directory.models import Business
from server.errors import PaymentCardDailyLimit
from server.fraud.models import FraudActivity
from server.payments import SimulatedGateway, payment_card_key
from server.wallet import ledger
from server.wallet.limits import (
    MoneyLimits,
    release_payment_card_load,
    reserve_payment_card_load,
)
from server.wallet.models import GiftCard, PaymentCardLoad, Purpose, TransferKind
from sync.money import Money
from tests.server.api import APPROVE, buy_card, new_key, open_shop, sign_up
from tests.server.test_clubs import donate, found

OTHER_APPROVE = "5555 5555 5555 4444"
CARD_MAX, DAILY_MAX, LIABILITY_MAX = 10_000, 20_000, 25_000


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={
            "max_card_balance_minor": CARD_MAX,
            "max_daily_load_per_payment_card_minor": DAILY_MAX,
            "max_business_card_liability_minor": LIABILITY_MAX,
        }
    )


@pytest.fixture
def card(customer, shop):
    response = buy_card(customer, shop, 5000)
    assert response.status_code == 201, response.text
    return response.json()


def balance(actor, card_id):
    return actor.get(f"/api/v1/gift-cards/{card_id}").json()["balance"]["minor"]


def refund(shop, redemption_id, amount, **extra):
    return shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": redemption_id, "amount_minor": amount, "reason": "returned", **extra},
        key=new_key(),
    )


def problem(response):
    return response.status_code, response.json()["type"].rsplit("/", 1)[-1]


# -- refunds ---------------------------------------------------------------------------------


def test_a_refund_cannot_give_back_more_than_its_redemption_took(shop, card, customer):
    spent = shop.redeem(2000, card_id=card["id"]).json()
    response = refund(shop, spent["id"], 10_000_000)  # the £100,000 onto a £50 card
    assert problem(response) == (409, "refund-above-redemption")
    body = response.json()
    assert (body["limit_minor"], body["available_minor"]) == (2000, 2000)
    assert "£20.00" in body["detail"]
    assert balance(customer, card["id"]) == 3000


def test_partial_refunds_add_up_to_at_most_the_redemption(shop, card, customer):
    spent = shop.redeem(2000, card_id=card["id"]).json()
    assert refund(shop, spent["id"], 1500).status_code == 200
    assert refund(shop, spent["id"], 500, card_id=card["id"]).status_code == 200
    response = refund(shop, spent["id"], 1)
    assert problem(response) == (409, "refund-above-redemption")
    assert response.json()["available_minor"] == 0
    assert balance(customer, card["id"]) == 5000


@pytest.mark.parametrize("what", ["purchase", "unknown", "other card"])
def test_a_refund_names_a_redemption_of_the_card(client, shop, card, customer, what):
    spent = shop.redeem(1000, card_id=card["id"]).json()
    purchase_id = customer.get(f"/api/v1/gift-cards/{card['id']}/history").json()["entries"][0]
    redemption_id, extra = {
        "purchase": (purchase_id["operation_id"], {}),
        "unknown": ("nosuchop000", {}),
        "other card": (spent["id"], {"card_id": buy_card(customer, shop, 100).json()["id"]}),
    }[what]
    assert problem(refund(shop, redemption_id, 100, **extra)) == (404, "redemption-not-found")
    assert balance(customer, card["id"]) == 4000


def test_another_business_cannot_refund_a_redemption(client, shop, card, customer):
    spent = shop.redeem(1000, card_id=card["id"]).json()
    other = open_shop(client, "Other Shop")
    assert problem(refund(other, spent["id"], 100)) == (404, "redemption-not-found")


def test_a_refund_without_its_redemption_is_invalid(shop, card):
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"card_id": card["id"], "amount_minor": 100},
        key=new_key(),
    )
    assert response.status_code == 422
    assert "redemption_id" in response.text


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_refund_says_why_or_is_refused_and_gives_nothing_back(shop, card, customer, reason):
    spent = shop.redeem(2000, card_id=card["id"]).json()
    body = {"redemption_id": spent["id"], "amount_minor": 500}
    if reason is not None:
        body["reason"] = reason
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds", body, key=new_key()
    )
    assert response.status_code == 422
    assert "body.reason" in response.text
    assert balance(customer, card["id"]) == 3000  # nothing given back


def test_a_posted_hold_is_refundable_up_to_what_was_posted(shop, card, customer):
    base = f"/api/v1/businesses/{shop.business_id}/holds"
    held = shop.cashier.post(base, {"card_id": card["id"], "amount_minor": 2000}, key=new_key())
    hold_id = held.json()["id"]
    assert problem(refund(shop, hold_id, 1)) == (404, "redemption-not-found")  # still pending
    shop.cashier.post(f"{base}/{hold_id}/post", {"amount_minor": 1200}, key=new_key())
    assert problem(refund(shop, hold_id, 1201)) == (409, "refund-above-redemption")
    assert refund(shop, hold_id, 1200).status_code == 200
    assert balance(customer, card["id"]) == 5000


def test_a_refund_may_not_take_a_card_past_its_maximum(shop, customer):
    full = buy_card(customer, shop, CARD_MAX).json()
    spent = shop.redeem(1000, card_id=full["id"]).json()
    other = buy_card(customer, shop, 500, card_number=OTHER_APPROVE).json()
    moved = customer.post(
        f"/api/v1/gift-cards/{other['id']}/transfers",
        {"to_card_id": full["id"], "amount_minor": 500},
        key=new_key(),
    )
    assert moved.status_code == 200, moved.text  # back to CARD_MAX - 500
    assert problem(refund(shop, spent["id"], 501)) == (409, "card-balance-limit")
    assert refund(shop, spent["id"], 500).status_code == 200
    assert balance(customer, full["id"]) == CARD_MAX


# -- a card's maximum balance ----------------------------------------------------------------


def test_a_card_above_the_maximum_balance_is_not_sold(customer, shop, sessions):
    response = buy_card(customer, shop, CARD_MAX + 1)
    assert problem(response) == (409, "card-balance-limit")
    body = response.json()
    assert body["limit_minor"] == CARD_MAX
    assert "£100.00" in body["detail"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GiftCard)) == 0
        # the refusal counted nothing against the payment card either
        assert session.scalar(select(func.count()).select_from(PaymentCardLoad)) == 0
    assert buy_card(customer, shop, CARD_MAX).status_code == 201


def test_a_transfer_may_not_take_a_card_past_its_maximum(customer, shop, card):
    other = buy_card(customer, shop, 6000, card_number=OTHER_APPROVE).json()
    response = customer.post(
        f"/api/v1/gift-cards/{other['id']}/transfers",
        {"to_card_id": card["id"], "amount_minor": 5001},
        key=new_key(),
    )
    assert problem(response) == (409, "card-balance-limit")
    assert response.json()["available_minor"] == 5000
    assert (balance(customer, card["id"]), balance(customer, other["id"])) == (5000, 6000)


# -- a payment card's load per day -----------------------------------------------------------


def test_one_payment_card_loads_at_most_the_daily_limit(client, customer, shop, sessions):
    assert buy_card(customer, shop, 10_000).status_code == 201
    elsewhere = open_shop(client, "Elsewhere")  # the limit is the payment card's, everywhere
    assert buy_card(sign_up(client), elsewhere, 10_000).status_code == 201
    response = buy_card(customer, shop, 1)
    assert problem(response) == (409, "payment-card-daily-limit")
    assert response.json()["available_minor"] == 0
    assert "£200.00" in response.json()["detail"]
    assert buy_card(customer, shop, 1, card_number=OTHER_APPROVE).status_code == 201
    with sessions() as session:
        rows = session.scalars(select(PaymentCardLoad)).all()
    assert sorted((row.payment_card, row.loaded_minor) for row in rows) == [
        ("tok_mastercard:4444", 1),
        ("tok_visa:4242", 20_000),
    ]


def test_a_payment_card_is_kept_in_one_form_and_its_number_nowhere(customer, shop, sessions):
    """The daily load and the fraud rules know a payment card by the same key, the gateway's
    token and last four digits; the number is in no column of any table."""
    assert buy_card(customer, shop, 1000, card_number="4242 4242 4242 4242").status_code == 201
    with sessions() as session:
        loads = session.scalars(select(PaymentCardLoad.payment_card)).all()
        screened = session.scalars(
            select(FraudActivity.payment_card).where(FraudActivity.payment_card.is_not(None))
        ).all()
        assert loads == screened == ["tok_visa:4242"]
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                assert "4242424242424242" not in repr(tuple(row)), table.name


def test_purchases_at_once_with_one_payment_card_pass_its_daily_limit_never(
    customer, shop, sessions
):
    """Its first loads of the day, at once: the day's counter is made once, and only what
    fits in the limit is sold (4 × £50.00 of £200.00); the rest is refused, never a 500."""
    from tests.server.test_input_limits import at_once

    responses = at_once(6, lambda _: buy_card(customer, shop, 5_000))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 4 + [409] * 2, [r.text for r in responses]
    with sessions() as session:
        assert session.scalars(select(PaymentCardLoad.loaded_minor)).all() == [DAILY_MAX]


def test_a_counter_made_by_another_purchase_while_this_one_looked_is_counted_on(
    sessions, database_kind
):
    """The first load of the day by two purchases at once: this one's count finds no counter
    (the other's is not committed yet), and by the time it reads the counter the other has
    committed it. There is room: it counts on, rather than saying the limit is reached."""
    if database_kind == "sqlite":
        pytest.skip("SQLite has one writer: no purchase can commit between two statements")
    limits = MoneyLimits(CARD_MAX, DAILY_MAX, LIABILITY_MAX)
    fingerprint = payment_card_key(SimulatedGateway(), APPROVE)
    today, amount = date(2026, 12, 1), Money.of(5_000, "GBP")
    with sessions() as other, sessions() as this:
        reserve_payment_card_load(other, fingerprint, amount, today, limits)  # not committed
        counts = 0

        def other_commits_after_this_counts(conn, cursor, statement, *args):
            nonlocal counts
            if statement.startswith("UPDATE payment_card_loads"):
                counts += 1
            elif counts == 1 and statement.startswith("SELECT payment_card_loads.loaded_minor"):
                other.commit()

        connection = this.connection()
        event.listen(connection, "before_cursor_execute", other_commits_after_this_counts)
        reserve_payment_card_load(this, fingerprint, amount, today, limits)
        this.commit()
    with sessions() as session:
        assert session.scalars(select(PaymentCardLoad.loaded_minor)).all() == [10_000]


def test_a_declined_payment_counts_nothing_against_the_card(customer, shop, sessions):
    declined = "4000 0000 0000 0002"
    assert buy_card(customer, shop, CARD_MAX, card_number=declined).status_code == 402
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PaymentCardLoad)) == 0


def test_the_daily_load_starts_again_the_next_day(sessions):
    limits = MoneyLimits(CARD_MAX, DAILY_MAX, LIABILITY_MAX)
    fingerprint = payment_card_key(SimulatedGateway(), APPROVE)
    assert fingerprint == payment_card_key(SimulatedGateway(), "4242-4242-4242-4242")
    today, amount = date(2026, 12, 1), Money.of(DAILY_MAX, "GBP")
    with sessions() as session:
        reserve_payment_card_load(session, fingerprint, amount, today, limits)
        with pytest.raises(PaymentCardDailyLimit):
            reserve_payment_card_load(session, fingerprint, Money.of(1, "GBP"), today, limits)
        reserve_payment_card_load(session, fingerprint, Money.of(1, "EUR"), today, limits)
        reserve_payment_card_load(session, fingerprint, amount, today + timedelta(days=1), limits)
        session.commit()


def donate_and_refund(customer, club, amount):
    """A donation paid by the approving test card; the refund, to call when wanted."""
    given = donate(customer, club, amount)
    assert given.status_code == 201, given.text

    def refund_it():
        path = f"/api/v1/clubs/{club['id']}/donations/{given.json()['id']}/refund"
        return customer.post(path, key=new_key())

    return refund_it


def loads(sessions):
    with sessions() as session:
        rows = session.execute(select(PaymentCardLoad.day, PaymentCardLoad.loaded_minor))
        return {day: int(loaded) for day, loaded in rows}


def test_a_refunded_donation_no_longer_counts_against_the_payment_card(customer, shop, sessions):
    """Near the limit, a charge more is refused; once the donation is refunded to the card,
    the same charge goes through: the card paid only what it kept."""
    refund_it = donate_and_refund(customer, found(customer), 15_000)
    refused = buy_card(customer, shop, 10_000)
    assert problem(refused) == (409, "payment-card-daily-limit")
    assert refused.json()["available_minor"] == 5_000
    assert refund_it().status_code == 200
    assert buy_card(customer, shop, 10_000).status_code == 201
    assert list(loads(sessions).values()) == [10_000]
    assert buy_card(customer, shop, 10_000).status_code == 201  # the limit: no more
    assert problem(buy_card(customer, shop, 1)) == (409, "payment-card-daily-limit")


def test_a_donation_refunded_days_later_frees_the_day_it_was_paid(customer, shop, sessions):
    """A refund gives back room on the day the charge counted, not on the day of the refund:
    today's limit is what the card paid today."""
    club = found(customer)
    refund_it = donate_and_refund(customer, club, 15_000)
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)  # as if it was paid yesterday
    with sessions() as session:
        session.execute(update(PaymentCardLoad).values(day=yesterday))
        session.execute(update(Donation).values(counted_on=yesterday))
        session.commit()
    assert buy_card(customer, shop, 10_000).status_code == 201  # today: 10_000 of 20_000
    assert refund_it().status_code == 200
    assert loads(sessions) == {yesterday: 0, today: 10_000}
    assert buy_card(customer, shop, 10_000).status_code == 201  # today's limit, no more
    assert problem(buy_card(customer, shop, 1)) == (409, "payment-card-daily-limit")


def test_a_refund_frees_what_it_gives_back_and_never_more(sessions):
    """All of a whole refund, the refunded part of a partial one; never below nothing, and
    nothing on a day the card paid nothing."""
    limits = MoneyLimits(CARD_MAX, DAILY_MAX, LIABILITY_MAX)
    card = payment_card_key(SimulatedGateway(), APPROVE)
    today = date(2026, 12, 1)
    with sessions() as session:
        reserve_payment_card_load(session, card, Money.of(DAILY_MAX, "GBP"), today, limits)
        release_payment_card_load(session, card, Money.of(5_000, "GBP"), today)  # a part
        reserve_payment_card_load(session, card, Money.of(5_000, "GBP"), today, limits)
        with pytest.raises(PaymentCardDailyLimit):
            reserve_payment_card_load(session, card, Money.of(1, "GBP"), today, limits)
        release_payment_card_load(session, card, Money.of(5_000, "EUR"), today)  # not GBP's
        release_payment_card_load(session, card, Money.of(5_000, "GBP"), today - timedelta(1))
        session.commit()
        assert loads(sessions) == {today: DAILY_MAX}
        release_payment_card_load(session, card, Money.of(DAILY_MAX + 1, "GBP"), today)
        session.commit()
    assert loads(sessions) == {today: 0}


def test_a_refund_and_a_purchase_with_one_payment_card_at_once_keep_the_count_exact(
    customer, shop, sessions
):
    """Whichever goes first, the counter ends at what the card paid and kept, and the
    purchase passes only if it fits once the refund has freed its room."""
    from tests.server.test_input_limits import at_once

    refund_it = donate_and_refund(customer, found(customer), 15_000)
    refunded, bought = at_once(
        2, lambda i: refund_it() if i == 0 else buy_card(customer, shop, 10_000)
    )
    assert refunded.status_code == 200, refunded.text
    assert bought.status_code in (201, 409), bought.text
    kept = 10_000 if bought.status_code == 201 else 0
    assert list(loads(sessions).values()) == [kept]


# -- what a business's cards hold together ---------------------------------------------------


def test_a_business_s_cards_hold_at_most_its_liability_limit(client, shop, sessions):
    buyers = [sign_up(client) for _ in range(3)]
    assert buy_card(buyers[0], shop, 10_000).status_code == 201
    first = buy_card(buyers[1], shop, 10_000, card_number=OTHER_APPROVE).json()
    response = buy_card(buyers[2], shop, 5_001)
    assert problem(response) == (409, "business-liability-limit")
    body = response.json()
    assert (body["limit_minor"], body["available_minor"]) == (LIABILITY_MAX, 5_000)
    assert "£250.00" in body["detail"]
    assert buy_card(buyers[2], shop, 5_000).status_code == 201
    # Spent value is no longer owed: there is room again.
    assert shop.redeem(3_000, card_id=first["id"]).status_code == 200
    assert buy_card(buyers[2], shop, 3_000, card_number=OTHER_APPROVE).status_code == 201
    with sessions() as session:
        assert ledger.card_liability(session, shop.business_id, "GBP") == LIABILITY_MAX
    other = open_shop(client, "Other Shop")  # another business has its own limit
    assert buy_card(sign_up(client), other, 100, card_number=OTHER_APPROVE).status_code == 201


def test_the_platform_clearing_balance_sums_every_business_and_the_old_account(sessions):
    with sessions() as session:
        for business_id in ("biz00000001", "biz00000002"):
            session.add(Business(id=business_id, name="B", category="c", currency="GBP"))
        session.flush()
        legacy = ledger.account(session, Purpose.CLEARING, "GBP")  # before the split
        assert legacy.key == "clearing:platform:GBP"
        for amount, clearing in (
            (100, legacy),
            (200, ledger.clearing_account(session, "GBP", "biz00000001")),
            (400, ledger.clearing_account(session, "GBP", "biz00000002")),
        ):
            card = ledger.account(
                session, Purpose.CARD, "GBP", "biz00000001", key=f"card:c{amount}"
            )
            ledger.post(session, [ledger.Leg(clearing, card, amount, TransferKind.PURCHASE)])
        assert ledger.clearing_account(session, "GBP", "biz00000002").key == (
            "clearing:biz00000002:GBP"
        )
        assert ledger.clearing_balance(session, "GBP") == -700
        assert ledger.clearing_balance(session, "EUR") == 0
        session.commit()
