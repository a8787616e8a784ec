"""Donations into a club's fund: a ledger account of the club's own (`club:<id>:<currency>`,
never below zero), credited from a clearing account of the club's (`clearing:club:<id>:…`,
the gateway's side) — double entry, the ledger's one invariant, and no row shared with any
other club or business.

Rules (docs/community.md): anyone signed in may donate to a club, in the club's currency,
from 1 to `MAX_DONATION_MINOR`, paid through the gateway; the fraud rules' purchase checks
and the money limits' daily load per payment card apply as to a gift-card purchase. A
donation is final: it is not refunded to the card. A donor may stay anonymous: members then
see "Anonymous" and only the donor's own receipts name them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money

from ..errors import DonationTooLarge
from ..wallet import ledger
from ..wallet.ledger import Leg
from ..wallet.limits import MoneyLimits, reserve_payment_card_load
from ..wallet.models import LedgerAccount, Purpose, TransferKind
from .models import Club, Donation

__all__ = [
    "MAX_DONATION_MINOR",
    "donate",
    "donations",
    "fund",
    "fund_account",
    "prepare",
]

MAX_DONATION_MINOR = 100_000  # £1,000 a donation


def fund_account(session: Session, club: Club) -> LedgerAccount:
    return ledger.account(
        session, Purpose.CLUB, club.currency, key=f"club:{club.id}:{club.currency}"
    )


def _clearing(session: Session, club: Club) -> LedgerAccount:
    return ledger.account(
        session, Purpose.CLEARING, club.currency, key=f"clearing:club:{club.id}:{club.currency}"
    )


def fund(session: Session, club: Club) -> Money:
    return Money.of(fund_account(session, club).balance_minor, club.currency)


def prepare(
    session: Session, club: Club, amount: Money, payment_card: str, today: date, limits: MoneyLimits
) -> None:
    """Before the payment is taken: the amount in range, and the payment card's load today
    (`payment_card`: its `payments.payment_card_key`) counted with gift-card purchases, so a
    refusal charges no one."""
    if amount.minor > MAX_DONATION_MINOR:
        most = Money.of(MAX_DONATION_MINOR, amount.currency.code)
        raise DonationTooLarge(f"A donation is at most {most}: give the rest another time.")
    reserve_payment_card_load(session, payment_card, amount, today, limits)


def donate(
    session: Session,
    club: Club,
    donor_id: str,
    amount: Money,
    payment_reference: str,
    message: str,
    anonymous: bool,
) -> Donation:
    """Record a paid donation: the fund credited, its transfer and the donation in one go."""
    operation = ledger.post(
        session,
        [
            Leg(
                _clearing(session, club),
                fund_account(session, club),
                amount.minor,
                TransferKind.DONATION,
                memo=f"donation to {club.name}",
            )
        ],
    )
    donation = Donation(
        club_id=club.id,
        donor_id=donor_id,
        amount_minor=amount.minor,
        currency=amount.currency.code,
        message=message,
        anonymous=anonymous,
        operation_id=operation,
        payment_reference=payment_reference,
    )
    session.add(donation)
    session.flush()
    return donation


def donations(
    session: Session, club_id: str | None = None, donor_id: str | None = None
) -> list[Donation]:
    query = select(Donation).order_by(Donation.created_at.desc(), Donation.id)
    if club_id is not None:
        query = query.where(Donation.club_id == club_id)
    if donor_id is not None:
        query = query.where(Donation.donor_id == donor_id)
    return list(session.scalars(query))
