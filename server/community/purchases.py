"""Club purchases: an organiser spends the club's fund on a gift card or a deal voucher of
a listed business — the very sale customers make (`wallet.cards`, `deals.service`), with
the fund paying instead of a payment card — and the club holds it (no one's account, so no
one can show its code) until an organiser hands it to a member, into their account.

The fund cannot go below zero: of two organisers spending its last pounds at once, the
ledger's conditional update lets one through and the other is told the fund is short.
Every purchase and hand-over is a line of the club's history (`history`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.money import Money

from ..billing.subscriptions import require_selling
from ..db import page_of, rowcount, utcnow
from ..deals import service as deals
from ..deals.models import Deal, Voucher
from ..directory.models import Business
from ..errors import (
    BusinessNotFound,
    DealNotFound,
    HoldingHandedOver,
    HoldingNotFound,
    MemberNotFound,
    WrongCurrency,
)
from ..fraud import service as fraud
from ..fraud.models import FraudEvent
from ..keys.keyring import Keyring
from ..pages import PageRequest
from ..wallet import cards
from ..wallet.ledger import InsufficientFundsError
from ..wallet.limits import MoneyLimits
from ..wallet.models import GiftCard
from ..wording import possessive
from . import donations, history, service
from .models import Club, ClubHolding, HoldingKind, Membership, MovementKind

__all__ = ["buy_card", "buy_voucher", "hand_over", "hold_prize", "holding", "holdings"]


def _paid_by(club: Club) -> str:
    return f"club {club.id}'s fund"


def _same_currency(club: Club, currency: str, what: str) -> None:
    if currency != club.currency:
        raise WrongCurrency(
            f"{possessive(club.name)} fund is in {club.currency} and {what} is sold in "
            f"{currency}: buy from a business that sells in the club's currency."
        )


def _held(
    session: Session,
    club: Club,
    organiser_id: str,
    kind: HoldingKind,
    item_id: str,
    business: Business,
    amount: Money,
    memo: str,
) -> ClubHolding:
    held = ClubHolding(
        club_id=club.id,
        kind=kind,
        item_id=item_id,
        business_id=business.id,
        amount_minor=amount.minor,
        currency=amount.currency.code,
        bought_by=organiser_id,
    )
    session.add(held)
    session.flush()
    negative = Money.of(-amount.minor, amount.currency.code)
    history.record(session, club, MovementKind.PURCHASE, negative, organiser_id, held.id, memo)
    return held


def _screened(
    session: Session, business_id: str, organiser_id: str, address: str | None, amount: Money
) -> None:
    """The fraud rules' purchase checks, as for a customer's purchase (no payment card)."""
    fraud.screen(
        session,
        fraud.Activity(
            FraudEvent.PURCHASE,
            business_id=business_id,
            customer_id=organiser_id,
            address=address,
            amount_minor=amount.minor,
            currency=amount.currency.code,
        ),
    )


def buy_card(
    session: Session,
    keyring: Keyring,
    organiser: service.InClub,
    address: str | None,
    business_id: str,
    amount_minor: int,
    today: date,
    limits: MoneyLimits,
) -> ClubHolding:
    """A gift card of the business holding `amount_minor` of its currency, paid from the
    fund, for the club; the organiser's purchase (`organiser`: as `service.require_manager`
    found them) screened by the fraud rules (`address`: where they asked from)."""
    club, organiser_id = organiser.club, organiser.me.user_id
    business = session.get(Business, business_id)
    if business is None:
        raise BusinessNotFound(f"There is no business {business_id!r}.")
    amount = Money.of(amount_minor, business.currency)
    _screened(session, business.id, organiser_id, address, amount)
    require_selling(session, business.id)
    _same_currency(club, business.currency, business.name)
    cards.prepare_purchase(session, business, amount, None, today, limits)
    try:
        card = cards.issue_card(
            session,
            keyring,
            business,
            None,
            amount,
            _paid_by(club),
            payer=donations.fund_account(session, club),
        )
    except InsufficientFundsError as exc:
        raise donations.fund_short(club, exc) from None
    memo = f"gift card of {business.name} holding {amount.format()}"
    return _held(
        session, club, organiser_id, HoldingKind.GIFT_CARD, card.id, business, amount, memo
    )


def buy_voucher(
    session: Session, keyring: Keyring, organiser: service.InClub, address: str | None, deal_id: str
) -> ClubHolding:
    """A voucher of the deal, paid from the fund, for the club; the organiser's purchase
    (`organiser`: as `service.require_manager` found them) screened by the fraud rules
    (`address`: where they asked from)."""
    club, organiser_id = organiser.club, organiser.me.user_id
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise DealNotFound(f"There is no deal {deal_id!r}.")
    price = Money.of(deal.deal_price_minor, deal.currency)
    _screened(session, deal.business_id, organiser_id, address, price)
    require_selling(session, deal.business_id)
    business = session.get_one(Business, deal.business_id)
    _same_currency(club, deal.currency, f"{possessive(business.name)} deal")
    try:
        voucher = deals.buy_voucher(
            session,
            keyring,
            deal,
            None,
            _paid_by(club),
            payer=donations.fund_account(session, club),
        )
    except InsufficientFundsError as exc:
        raise donations.fund_short(club, exc) from None
    memo = f"voucher of {business.name}: {deal.title}"
    return _held(
        session, club, organiser_id, HoldingKind.VOUCHER, voucher.id, business, price, memo
    )


def hold_prize(
    session: Session,
    club: Club,
    card: GiftCard,
    business: Business,
    prize: Money,
    contest_id: str,
    entered_by: str,
    memo: str,
) -> ClubHolding:
    """A prize card the club won in a contest (issued to no one's account), held by the club
    until an organiser hands it to a member, as what the fund buys is. `entered_by`, who
    entered the club in the contest, is kept on the record, but members are shown no one as
    having bought it or acted (the contest's organiser paid). No money moves in the club:
    its line of history is 0."""
    held = ClubHolding(
        club_id=club.id,
        kind=HoldingKind.GIFT_CARD,
        item_id=card.id,
        business_id=business.id,
        amount_minor=0,  # the fund paid nothing
        currency=prize.currency.code,
        bought_by=entered_by,
        contest_id=contest_id,
    )
    session.add(held)
    session.flush()
    nothing = Money.of(0, prize.currency.code)
    history.record(session, club, MovementKind.PRIZE_WON, nothing, entered_by, held.id, memo)
    return held


def holding(session: Session, club: Club, holding_id: str) -> ClubHolding:
    found = session.get(ClubHolding, holding_id)
    if found is None or found.club_id != club.id:
        raise HoldingNotFound(f"{club.name} holds no gift card or voucher {holding_id!r}.")
    return found


def holdings(session: Session, club: Club, asked: PageRequest) -> tuple[list[ClubHolding], int]:
    """One page of everything the club bought, newest first (handed over or still held), and
    how many it bought in all."""
    query = select(ClubHolding).where(ClubHolding.club_id == club.id)
    return page_of(session, query.order_by(ClubHolding.bought_at.desc(), ClubHolding.id), asked)


def hand_over(
    session: Session, organiser: service.InClub, holding_id: str, member_id: str
) -> ClubHolding:
    """Put a held gift card or voucher into an active member's account: theirs from now
    on (their wallet shows it and its code). Once. `organiser`: as `service.require_manager`
    found them."""
    club, organiser_id = organiser.club, organiser.me.user_id
    held = holding(session, club, holding_id)
    member = service.membership(session, club.id, member_id)
    if member is None or member.status is not Membership.ACTIVE:
        raise MemberNotFound("That person is not a member of this club: hand it to a member.")
    taken = rowcount(
        session.execute(
            update(ClubHolding)
            .where(ClubHolding.id == held.id, ClubHolding.handed_to.is_(None))
            .values(handed_to=member_id, handed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    if taken != 1:
        raise HoldingHandedOver("This was already handed to a member.")
    session.expire(held)
    item: GiftCard | Voucher
    if held.kind is HoldingKind.GIFT_CARD:
        item = session.get_one(GiftCard, held.item_id)
    else:
        item = session.get_one(Voucher, held.item_id)
    item.owner_id = member_id  # its event (Recorded) tells the terminals
    session.flush()
    what = "gift card" if held.kind is HoldingKind.GIFT_CARD else "voucher"
    history.record(
        session,
        club,
        MovementKind.HANDED_OVER,
        Money.of(0, held.currency),
        organiser_id,
        held.id,
        f"{what} handed to {member.display_name}",
    )
    return held
