"""Donations into a club's fund: a ledger account of the club's own (`club:<id>:<currency>`,
never below zero), credited from a clearing account of the club's (`clearing:club:<id>:…`,
the gateway's side) or from a gift card's balance — double entry, the ledger's one
invariant, and no row shared with any other club or business.

Rules (docs/community.md): anyone signed in may donate to a club, in the club's currency,
from 1 to `MAX_DONATION_MINOR`. Paid through the gateway, the fraud rules' purchase checks
and the money limits' daily load per payment card apply as to a gift-card purchase; from a
gift card, only where the card's business allows it (`CardDonationPolicy`, off unless its
owner turns it on), screened as a move of value off the card. A donor may stay anonymous:
members then see "Anonymous" and only the donor's own receipts name them.

Refunds: within `REFUND_WINDOW` of the donation, the donor or one of the club's organisers
gives the whole donation back where it came from — to the payment card through the
gateway, or onto the gift card — while the fund still holds it; once. Given back to the
payment card, it no longer counts against that card's daily limit on the day it was paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.money import Money

from ..db import page_of, rowcount, utcnow
from ..directory.models import Business
from ..errors import (
    CardBalanceLimit,
    CardDonationsOff,
    CardNotFound,
    ClubFundShort,
    DonationNotFound,
    DonationNotRefundable,
    DonationTooLarge,
    NotOrganiser,
    WrongCurrency,
)
from ..fraud import service as fraud
from ..fraud.models import FraudEvent
from ..keys.keyring import Keyring
from ..pages import PageRequest
from ..payments import PaymentGateway, payment_card_key, take_payment
from ..wallet import cards, ledger
from ..wallet.ledger import InsufficientFundsError, Leg
from ..wallet.limits import (
    MoneyLimits,
    check_card_balance,
    release_payment_card_load,
    reserve_payment_card_load,
)
from ..wallet.models import GiftCard, LedgerAccount, Purpose, TransferKind
from ..wording import possessive
from . import history, service
from .models import CardDonationPolicy, Club, Donation, MovementKind

__all__ = [
    "MAX_DONATION_MINOR",
    "REFUND_WINDOW",
    "card_donations_allowed",
    "donate",
    "donate_from_card",
    "donation",
    "donations",
    "fund",
    "fund_account",
    "fund_short",
    "prepare",
    "refund",
    "set_card_donations",
]

MAX_DONATION_MINOR = 100_000  # £1,000 a donation
REFUND_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class PaidWith:
    """The payment card a donation was paid with (`payments.payment_card_key`) and the UTC
    day its charge counted on against the card's daily limit."""

    payment_card: str
    counted_on: date


@dataclass(frozen=True)
class Donor:
    """Who gives, from which address (for the fraud rules), and what their donation says."""

    id: str
    address: str | None
    message: str
    anonymous: bool


def fund_account(session: Session, club: Club) -> LedgerAccount:
    return ledger.account(session, Purpose.CLUB, club.currency, key=service.fund_key(club))


def _clearing(session: Session, club: Club) -> LedgerAccount:
    return ledger.account(
        session, Purpose.CLEARING, club.currency, key=f"clearing:club:{club.id}:{club.currency}"
    )


def fund(session: Session, club: Club) -> Money:
    return Money.of(fund_account(session, club).balance_minor, club.currency)


def fund_short(club: Club, error: InsufficientFundsError) -> ClubFundShort:
    """What to tell an organiser spending more than the fund holds."""
    held = Money.of(error.available, club.currency)
    wanted = Money.of(error.needed, club.currency)
    return ClubFundShort(
        f"{possessive(club.name)} fund holds {held.format()}, less than {wanted.format()}: "
        "spend at most what it holds, or wait for more donations."
    )


def _refund_by(given: Donation) -> str:
    """The last day a donation may be refunded, in words."""
    return f"{given.created_at + REFUND_WINDOW:%d %B %Y}"


def _refund_short(club: Club, given: Donation, error: InsufficientFundsError) -> ClubFundShort:
    """What to tell someone asking for a refund the fund cannot pay now."""
    held = Money.of(error.available, club.currency)
    amount = Money.of(given.amount_minor, given.currency).format()
    return ClubFundShort(
        f"{possessive(club.name)} fund holds {held.format()}, less than the {amount} donation: "
        f"it can be refunded once the fund holds {amount} again, until {_refund_by(given)} "
        f"({REFUND_WINDOW.days} days from the donation)."
    )


def _card_full(card: GiftCard, given: Donation, full: CardBalanceLimit) -> CardBalanceLimit:
    """What to tell someone whose refund would take its gift card past the most a card may
    hold: a refund is the whole donation, onto the card it came from, so only spending from
    the card makes room."""
    code = given.currency
    limit = Money.of(full.limit_minor, code).format()
    over = Money.of(given.amount_minor - full.available_minor, code).format()
    amount = Money.of(given.amount_minor, code).format()
    return CardBalanceLimit(
        f"The {amount} refund would take gift card {card.id} past the {limit} a card may "
        f"hold, and a refund goes back whole onto the card it came from. Spend at least "
        f"{over} from the card first, then ask again by {_refund_by(given)} "
        f"({REFUND_WINDOW.days} days from the donation).",
        limit_minor=full.limit_minor,
        available_minor=full.available_minor,
    )


def _in_range(amount: Money) -> None:
    if amount.minor > MAX_DONATION_MINOR:
        most = Money.of(MAX_DONATION_MINOR, amount.currency.code)
        raise DonationTooLarge(
            f"A donation is at most {most.format()}: give the rest another time."
        )


def prepare(
    session: Session, club: Club, amount: Money, payment_card: str, today: date, limits: MoneyLimits
) -> None:
    """Before the payment is taken: the amount in range, and the payment card's load today
    (`payment_card`: its `payments.payment_card_key`) counted with gift-card purchases, so a
    refusal charges no one."""
    _in_range(amount)
    reserve_payment_card_load(session, payment_card, amount, today, limits, verb="Donate")


def _record(
    session: Session,
    club: Club,
    donor_id: str,
    amount: Money,
    operation: str,
    message: str,
    anonymous: bool,
    *,
    payment_reference: str = "",
    card_id: str | None = None,
    paid_with: PaidWith | None = None,
) -> Donation:
    made = Donation(
        club_id=club.id,
        donor_id=donor_id,
        amount_minor=amount.minor,
        currency=amount.currency.code,
        message=message,
        anonymous=anonymous,
        operation_id=operation,
        payment_reference=payment_reference,
        card_id=card_id,
        payment_card=paid_with.payment_card if paid_with else None,
        counted_on=paid_with.counted_on if paid_with else None,
    )
    session.add(made)
    session.flush()
    history.record(
        session,
        club,
        MovementKind.DONATION,
        amount,
        donor_id,
        made.id,
        message,
        anonymous=anonymous,
    )
    return made


def donate(
    session: Session,
    club: Club,
    donor_id: str,
    amount: Money,
    payment_reference: str,
    message: str,
    anonymous: bool,
    paid_with: PaidWith | None = None,
) -> Donation:
    """Record a paid donation: the fund credited, its transfer and the donation in one go;
    `paid_with`, the payment card and the day its charge counted on (`prepare`), for its
    refund to free."""
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
    return _record(
        session,
        club,
        donor_id,
        amount,
        operation,
        message,
        anonymous,
        payment_reference=payment_reference,
        paid_with=paid_with,
    )


def give(
    session: Session,
    gateway: PaymentGateway,
    limits: MoneyLimits,
    club: Club,
    donor: Donor,
    amount: Money,
    card_number: str,
    payment_key: str,
) -> Donation:
    """A donation paid by payment card: the amount, the card's load today and the fraud
    rules' purchase checks first (a refusal charges no one), then the payment and the
    donation (`donate`). `payment_key` makes a retried payment the same one."""
    paid_with = PaidWith(payment_card_key(gateway, card_number), datetime.now(UTC).date())
    prepare(session, club, amount, paid_with.payment_card, paid_with.counted_on, limits)
    fraud.screen(
        session,
        fraud.Activity(
            FraudEvent.PURCHASE,
            payment_card=paid_with.payment_card,
            customer_id=donor.id,
            address=donor.address,
            amount_minor=amount.minor,
            currency=amount.currency.code,
        ),
    )
    reference = take_payment(gateway, amount, card_number, payment_key)
    return donate(
        session, club, donor.id, amount, reference, donor.message, donor.anonymous, paid_with
    )


def give_from_card(
    session: Session, keyring: Keyring, club: Club, donor: Donor, card_id: str, amount_minor: int
) -> Donation:
    """A donation from the donor's own gift card `card_id` (anyone else's is not found),
    screened by the fraud rules as a move of value off the card, then made
    (`donate_from_card`)."""
    _in_range(Money.of(amount_minor, club.currency))  # before anything looks at it
    owned = session.get(GiftCard, card_id)
    business = session.get(Business, owned.business_id) if owned is not None else None
    if owned is None or business is None or owned.owner_id != donor.id:
        raise CardNotFound(f"You have no gift card {card_id!r}: check the id.")
    card = cards.find_card(session, keyring, business, None, owned.id)
    amount = Money.of(amount_minor, card.currency)
    fraud.screen(
        session,
        fraud.Activity(
            FraudEvent.TRANSFER,
            business_id=card.business_id,
            card_id=card.id,
            customer_id=donor.id,
            address=donor.address,
            amount_minor=amount.minor,
            currency=amount.currency.code,
        ),
    )
    return donate_from_card(session, club, card, donor.id, amount, donor.message, donor.anonymous)


def card_donations_allowed(session: Session, business_id: str) -> bool:
    policy = session.get(CardDonationPolicy, business_id)
    return policy is not None and policy.allowed


def set_card_donations(session: Session, business_id: str, allowed: bool) -> CardDonationPolicy:
    """A business lets its gift cards' balances be donated to clubs, or stops it."""
    policy = session.get(CardDonationPolicy, business_id)
    if policy is None:
        policy = CardDonationPolicy(business_id=business_id)
        session.add(policy)
    policy.allowed, policy.changed_at = allowed, utcnow()
    session.flush()
    return policy


def donate_from_card(
    session: Session,
    club: Club,
    card: GiftCard,
    donor_id: str,
    amount: Money,
    message: str,
    anonymous: bool,
) -> Donation:
    """Move `amount` of the donor's gift card (found spendable: `cards.find_card`) into the
    fund, where the card's business allows it."""
    _in_range(amount)
    if card.currency != club.currency:
        raise WrongCurrency(
            f"{possessive(club.name)} fund is in {club.currency} and this card holds "
            f"{card.currency}: donate from a card in the club's currency, or by payment card."
        )
    if not card_donations_allowed(session, card.business_id):
        raise CardDonationsOff(
            "The business that sold this card does not let its cards be given to clubs: "
            "donate by payment card instead."
        )
    legs = [
        Leg(
            card.account,
            fund_account(session, club),
            amount.minor,
            TransferKind.DONATION,
            card.id,
            f"donation to {club.name}",
        )
    ]
    try:
        operation = ledger.post(session, legs)
    except InsufficientFundsError as exc:
        raise cards.insufficient(card, exc, "give") from None
    return _record(session, club, donor_id, amount, operation, message, anonymous, card_id=card.id)


def donation(session: Session, club: Club, donation_id: str) -> Donation:
    found = session.get(Donation, donation_id)
    if found is None or found.club_id != club.id:
        raise DonationNotFound(f"{club.name} has no donation {donation_id!r}.")
    return found


def refund(
    session: Session,
    club: Club,
    given: Donation,
    by_user_id: str,
    gateway: PaymentGateway,
    limits: MoneyLimits,
    now: datetime,
) -> str:
    """Give the whole donation back where it came from (see the module's rules); the
    refund's ledger operation id."""
    if by_user_id != given.donor_id:
        try:
            service.require_manager(session, club, by_user_id)
        except NotOrganiser:
            raise NotOrganiser(
                f"Only the donor or the organisers of {club.name} refund a donation."
            ) from None
    if now - given.created_at > REFUND_WINDOW:
        raise DonationNotRefundable(
            f"A donation is refunded within {REFUND_WINDOW.days} days; this one was made on "
            f"{given.created_at:%d %B %Y}."
        )
    card = session.get(GiftCard, given.card_id) if given.card_id else None
    if card is not None and card.expires_at <= now:
        raise DonationNotRefundable(
            f"The gift card this donation came from expired on {card.expires_at:%d %B %Y}: "
            "it cannot take the money back."
        )
    # Once, even if the donor and an organiser ask at the same moment.
    claimed = rowcount(
        session.execute(
            update(Donation)
            .where(Donation.id == given.id, Donation.refunded_at.is_(None))
            .values(refunded_at=now, refunded_by=by_user_id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        raise DonationNotRefundable("This donation was already refunded.")
    session.expire(given)
    amount = Money.of(given.amount_minor, given.currency)
    if given.payment_card is not None and given.counted_on is not None:
        # Before the ledger's rows, as a donation takes the counter before them: one order.
        release_payment_card_load(session, given.payment_card, amount, given.counted_on)
    back_to = card.account if card is not None else _clearing(session, club)
    legs = [
        Leg(
            fund_account(session, club),
            back_to,
            amount.minor,
            TransferKind.DONATION_REFUND,
            card.id if card is not None else None,
            f"refund of donation {given.id} to {club.name}",
        )
    ]
    try:
        operation = ledger.post(session, legs)
    except InsufficientFundsError as exc:
        raise _refund_short(club, given, exc) from None
    if card is not None:
        try:
            check_card_balance(card.account.balance_minor, amount, limits)
        except CardBalanceLimit as full:
            raise _card_full(card, given, full) from None
    else:
        gateway.refund(given.payment_reference, amount, f"donation:{given.id}")
    history.record(
        session,
        club,
        MovementKind.DONATION_REFUNDED,
        Money.of(-amount.minor, amount.currency.code),
        by_user_id,
        given.id,
        "to the gift card it came from" if card is not None else "to the payment card",
        # The donor asking for their own anonymous donation back stays anonymous.
        anonymous=given.anonymous and by_user_id == given.donor_id,
    )
    return operation


def donations(
    session: Session, asked: PageRequest, club_id: str | None = None, donor_id: str | None = None
) -> tuple[list[Donation], int]:
    """One page of the donations to a club or by a donor, newest first, and how many."""
    query = select(Donation)
    if club_id is not None:
        query = query.where(Donation.club_id == club_id)
    if donor_id is not None:
        query = query.where(Donation.donor_id == donor_id)
    return page_of(session, query.order_by(Donation.created_at.desc(), Donation.id), asked)
