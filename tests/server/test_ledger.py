"""The ledger itself: all-or-nothing operations and the invariant check."""

import pytest
from sqlalchemy import update

from server.directory.models import Business
from server.wallet import ledger
from server.wallet.models import LedgerAccount, Purpose, TransferKind


@pytest.fixture
def session(sessions):
    with sessions() as session:
        session.add(Business(id="biz00000001", name="B", category="c", currency="GBP"))
        session.commit()
        yield session


def card(session, name):
    return ledger.account(session, Purpose.CARD, "GBP", "biz00000001", key=f"card:{name}")


def test_transfers_move_balances_and_sum_to_zero(session):
    clearing = ledger.account(session, Purpose.CLEARING, "GBP")
    a = card(session, "a")
    ledger.post(session, [ledger.Leg(clearing, a, 500, TransferKind.PURCHASE)])
    session.commit()
    assert ledger.balance(session, a.id) == 500
    assert ledger.balance(session, clearing.id) == -500
    assert ledger.invariant_violations(session) == []


def test_a_failed_leg_undoes_the_whole_operation(session):
    clearing = ledger.account(session, Purpose.CLEARING, "GBP")
    a, b = card(session, "a"), card(session, "b")
    ledger.post(session, [ledger.Leg(clearing, a, 100, TransferKind.PURCHASE)])
    session.commit()
    with pytest.raises(ledger.InsufficientFundsError) as caught:
        ledger.post(
            session,
            [
                ledger.Leg(clearing, b, 50, TransferKind.PURCHASE),
                ledger.Leg(a, b, 101, TransferKind.CARD_TRANSFER),
            ],
        )
    session.rollback()
    assert caught.value.available == 100
    assert (ledger.balance(session, a.id), ledger.balance(session, b.id)) == (100, 0)
    assert ledger.invariant_violations(session) == []


@pytest.mark.parametrize("amount", [0, -5])
def test_transfers_move_positive_amounts_only(session, amount):
    with pytest.raises(ValueError, match="positive"):
        ledger.post(
            session,
            [
                ledger.Leg(
                    ledger.account(session, Purpose.CLEARING, "GBP"),
                    card(session, "a"),
                    amount,
                    TransferKind.PURCHASE,
                )
            ],
        )


def test_currencies_never_mix(session):
    with pytest.raises(ValueError, match="one currency"):
        ledger.post(
            session,
            [
                ledger.Leg(
                    ledger.account(session, Purpose.CLEARING, "EUR"),
                    card(session, "a"),
                    5,
                    TransferKind.PURCHASE,
                )
            ],
        )


def test_the_invariant_check_catches_a_tampered_balance(session):
    clearing = ledger.account(session, Purpose.CLEARING, "GBP")
    a = card(session, "a")
    ledger.post(session, [ledger.Leg(clearing, a, 500, TransferKind.PURCHASE)])
    session.execute(update(LedgerAccount).where(LedgerAccount.id == a.id).values(balance_minor=900))
    problems = ledger.invariant_violations(session)
    assert any("card:a: balance 900 but transfers say 500" in p for p in problems)
    assert any("GBP: balances sum to 400" in p for p in problems)


def test_accounts_are_made_once(session):
    first = ledger.account(session, Purpose.REVENUE, "GBP", "biz00000001")
    again = ledger.account(session, Purpose.REVENUE, "GBP", "biz00000001")
    assert first.id == again.id


# -- postings: many operations written together (the sync push) ------------------------------


def test_postings_write_many_operations_at_once_with_the_same_rules(session):
    clearing = ledger.account(session, Purpose.CLEARING, "GBP")
    a, b = card(session, "a"), card(session, "b")
    ledger.post(session, [ledger.Leg(clearing, a, 300, TransferKind.PURCHASE)])
    session.commit()
    postings = ledger.Postings(session)
    postings.add([ledger.Leg(a, b, 100, TransferKind.CARD_TRANSFER)])
    postings.add([ledger.Leg(a, b, 150, TransferKind.CARD_TRANSFER)])
    with pytest.raises(ledger.InsufficientFundsError):
        postings.add(
            [ledger.Leg(a, b, 51, TransferKind.CARD_TRANSFER)]
        )  # 50 left, checked in memory
    assert ledger.balance(session, a.id) == 300  # nothing written before the flush
    postings.flush()
    session.commit()
    assert (ledger.balance(session, a.id), ledger.balance(session, b.id)) == (50, 250)
    assert ledger.invariant_violations(session) == []


def test_postings_read_balances_again_after_another_posting(session):
    clearing = ledger.account(session, Purpose.CLEARING, "GBP")
    a, b = card(session, "a"), card(session, "b")
    ledger.post(session, [ledger.Leg(clearing, a, 100, TransferKind.PURCHASE)])
    postings = ledger.Postings(session)
    postings.add([ledger.Leg(a, b, 60, TransferKind.CARD_TRANSFER)])
    postings.forget()  # written; `post` may now change the same accounts
    ledger.post(session, [ledger.Leg(clearing, a, 500, TransferKind.PURCHASE)])
    postings.add(
        [ledger.Leg(a, b, 540, TransferKind.CARD_TRANSFER)]
    )  # only right if 540 is really there
    postings.flush()
    session.commit()
    assert (ledger.balance(session, a.id), ledger.balance(session, b.id)) == (0, 600)
    assert ledger.invariant_violations(session) == []
