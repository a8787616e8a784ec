"""Gift cards: issue, find (by QR text or id), redeem, hold, refund, transfer, re-issue,
expire. Each function works in the caller's transaction; routes decide when to commit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from sync.money import Money
from sync.tokens import Kind
from sync.wire import CardStatus

from ..db import rowcount
from ..directory.models import Business
from ..errors import (
    AmountAboveHold,
    CardBlocked,
    CardExpired,
    CardNotFound,
    DifferentBusiness,
    HoldClosed,
    InsufficientBalance,
    RedemptionNotFound,
    RefundAboveRedemption,
    SameCard,
)
from ..events import add_with_commit
from ..ids import make_id
from ..keys.keyring import Keyring
from . import ledger
from .ledger import NOWHERE, InsufficientFundsError, Leg, Origin, Postings
from .limits import (
    MoneyLimits,
    check_business_liability,
    check_card_balance,
    reserve_payment_card_load,
)
from .models import GiftCard, Hold, HoldStatus, LedgerAccount, Purpose, Transfer, TransferKind
from .tokens import PresentedCode, presented_subject, revoke_tokens_of, sign_token

__all__ = [
    "CARD_LIFETIME",
    "HistoryItem",
    "Redemption",
    "card_balance",
    "check_purchase",
    "expire_cards",
    "expire_holds",
    "find_card",
    "history",
    "hold",
    "hold_liability",
    "insufficient",
    "issue_card",
    "paid_by",
    "post_hold",
    "prepare_purchase",
    "record_offline_redemption",
    "redeem",
    "redeem_presented",
    "refund",
    "reissue",
    "release_if_expired",
    "transfer_between_cards",
    "void_hold",
    "void_redemption",
]

CARD_LIFETIME = timedelta(days=730)


def _now() -> datetime:
    return datetime.now(UTC)


def card_balance(session: Session, card: GiftCard) -> Money:
    return Money.of(ledger.balance(session, card.account_id), card.currency)


def _sign(session: Session, keyring: Keyring, card: GiftCard, now: datetime) -> tuple[str, str]:
    return sign_token(
        session,
        keyring,
        kind=Kind.GIFT_CARD,
        business_id=card.business_id,
        subject_id=card.id,
        currency=card.currency,
        expires_at=card.expires_at,
        now=now,
    )


def prepare_purchase(
    session: Session,
    business: Business,
    amount: Money,
    payment_card: str | None,
    today: date,
    limits: MoneyLimits,
) -> None:
    """Check a purchase of a card worth `amount` against the money limits, and lock the
    business's liability for it (`check_purchase`, then `hold_liability`), for a sale
    where nothing waits between the checks and the card (a club's fund pays: no payment
    card, `payment_card` None; `community.purchases`)."""
    check_purchase(session, business, amount, payment_card, today, limits)
    hold_liability(session, business, amount, limits)


def check_purchase(
    session: Session,
    business: Business,
    amount: Money,
    payment_card: str | None,
    today: date,
    limits: MoneyLimits,
) -> None:
    """Check a purchase of a card worth `amount` against the money limits before the payment
    is taken, so a refusal is known before anyone is charged: the card's maximum balance,
    the payment card's load today (counted now; rolled back with the transaction if the
    sale fails), and a first look at what the business's cards hold together (unlocked:
    `hold_liability` decides, once the payment is taken). `payment_card`:
    `payments.payment_card_key`, or None when no payment card pays."""
    check_card_balance(amount.minor, amount, limits)
    if payment_card is not None:
        reserve_payment_card_load(session, payment_card, amount, today, limits)
    code = amount.currency.code
    check_business_liability(session, business.id, code, amount.minor, limits, locked=False)


def hold_liability(
    session: Session, business: Business, amount: Money, limits: MoneyLimits
) -> None:
    """Lock the business's clearing row until the sale commits and check that its cards may
    hold `amount` more: purchases at one business take turns from here to the commit, so
    two cannot both pass on the same figure. Taken after the payment, so a business's
    purchases wait on the payment provider side by side, not one by one. (It is taken
    before the new card's account, against `ledger.lock_order`, which is safe because no
    one else can see that account yet.)"""
    ledger.lock_clearing(session, amount.currency.code, business.id)
    check_business_liability(session, business.id, amount.currency.code, amount.minor, limits)


def issue_card(
    session: Session,
    keyring: Keyring,
    business: Business,
    owner_id: str | None,
    amount: Money,
    payment_reference: str,
    now: datetime | None = None,
    *,
    payer: LedgerAccount | None = None,
    kind: TransferKind = TransferKind.PURCHASE,
) -> GiftCard:
    """A new card holding `amount`, paid through the gateway (`payment_reference`) into the
    business's clearing account, or from `payer` (a club's fund, which refuses to go below
    zero: `InsufficientFundsError`; a contest organiser's prizes, `kind` PRIZE, with
    `payment_reference` saying what it is for); a sale checks `prepare_purchase` first
    (or `check_purchase`, then `hold_liability` once paid)."""
    now = now or _now()
    card_id = make_id()
    account = ledger.open_account(
        session, Purpose.CARD, business.currency, business.id, key=ledger.card_account_key(card_id)
    )
    card = GiftCard(
        id=card_id,
        business_id=business.id,
        owner_id=owner_id,
        account_id=account.id,
        currency=business.currency,
        status=CardStatus.ACTIVE,
        issued_at=now,
        expires_at=now + CARD_LIFETIME,
        version=1,
        token_id="",
        token="",
    )
    card.token_id, card.token = _sign(session, keyring, card, now)
    add_with_commit(session, card)  # a round trip less: nothing reads it back
    paid_from = payer or ledger.clearing_account(session, business.currency, business.id)
    memo = (
        f"paid, {paid_by(payment_reference, payer)}"
        if kind is TransferKind.PURCHASE
        else payment_reference
    )
    ledger.post(session, [Leg(paid_from, account, amount.minor, kind, card.id, memo)])
    return card


def paid_by(payment_reference: str, payer: LedgerAccount | None) -> str:
    """A sale's memo: the gateway's reference, or who paid instead (a club's fund)."""
    return f"gateway reference {payment_reference}" if payer is None else payment_reference


def find_card(
    session: Session,
    keyring: Keyring,
    business: Business,
    token: str | PresentedCode | None,
    card_id: str | None,
    now: datetime | None = None,
) -> GiftCard:
    """The card a cashier presents — by QR text (or the code read from it already),
    checked as a terminal would, or by id — if it belongs to `business` and can be spent
    now."""
    now = now or _now()
    if token is not None:
        card_id = presented_subject(session, keyring, business.id, token, Kind.GIFT_CARD, now)
    card = (
        session.get(GiftCard, card_id, options=[joinedload(GiftCard.account)]) if card_id else None
    )
    if card is None or card.business_id != business.id:
        raise CardNotFound("This business has no gift card with that id: check the code.")
    if card.status is CardStatus.BLOCKED:
        raise CardBlocked(
            "This card is blocked for review: it cannot be used until the vendor resolves it."
        )
    if card.status is CardStatus.EXPIRED or card.expires_at <= now:
        raise CardExpired(f"This card expired on {card.expires_at:%d %B %Y}.")
    return card


def insufficient(
    card: GiftCard, error: InsufficientFundsError, doing: str = "redeem"
) -> InsufficientBalance:
    """What to tell someone spending more than `card` holds: at most how much they can
    `redeem` (at a till), `move` (to another card) or `give` (a donation)."""
    available = Money.of(error.available, card.currency)
    wanted = Money.of(error.needed, card.currency)
    rest = ", or take the rest another way" if doing == "redeem" else ""
    return InsufficientBalance(
        f"The card holds {available.format()}, less than {wanted.format()}: "
        f"{doing} at most {available.format()}{rest}.",
        balance_minor=error.available,
    )


def _business_account(session: Session, purpose: Purpose, card: GiftCard) -> LedgerAccount:
    return ledger.account(session, purpose, card.currency, card.business_id)


def redeem(
    session: Session, card: GiftCard, amount: Money, memo: str = "", origin: Origin = NOWHERE
) -> tuple[str, Money]:
    """Spend `amount` of the card at its business (at `origin`); the operation id and the
    balance left, or `InsufficientBalance` if too little."""
    card_account = card.account
    legs = [
        Leg(
            card_account,
            _business_account(session, Purpose.REVENUE, card),
            amount.minor,
            TransferKind.REDEMPTION,
            card.id,
            memo,
        )
    ]
    try:
        operation_id = ledger.post(session, legs, origin=origin)
    except InsufficientFundsError as exc:
        raise insufficient(card, exc) from None
    return operation_id, Money.of(card_account.balance_minor, card.currency)


@dataclass(frozen=True)
class Redemption:
    """A card redeemed at a till: the ledger operation, how much, and what is left."""

    operation_id: str
    card_id: str
    amount: Money
    balance_after: Money


def redeem_presented(
    session: Session,
    keyring: Keyring,
    business: Business,
    token: str | None,
    card_id: str | None,
    amount_minor: int,
    memo: str,
) -> Redemption:
    """Redeem `amount_minor` of the card presented at `business`'s till (its QR text or its
    id), as the till's and the terminals' online redemptions both do."""
    card = find_card(session, keyring, business, token, card_id)
    amount = Money.of(amount_minor, card.currency)
    operation_id, balance_after = redeem(session, card, amount, memo)
    return Redemption(operation_id, card.id, amount, balance_after)


def record_offline_redemption(
    session: Session,
    card: GiftCard,
    amount: Money,
    memo: str,
    postings: Postings,
    origin: Origin = NOWHERE,
) -> tuple[str, int]:
    """Record a redemption a terminal already approved offline: the customer has the goods,
    so it is never refused. What the card cannot cover goes to the business's shortfall
    account and the card is blocked for review. Posted with the sync batch's `postings`.
    Returns (operation id, shortfall)."""
    card_account = card.account
    revenue = _business_account(session, Purpose.REVENUE, card)
    postings.lock([card_account, revenue])
    covered = min(postings.balances[card_account.id], amount.minor)
    shortfall = amount.minor - covered
    legs = []
    if covered:
        legs.append(
            Leg(card_account, revenue, covered, TransferKind.OFFLINE_REDEMPTION, card.id, memo)
        )
    if shortfall:
        legs.append(
            Leg(
                _business_account(session, Purpose.SHORTFALL, card),
                revenue,
                shortfall,
                TransferKind.OFFLINE_SHORTFALL,
                card.id,
                memo,
            )
        )
        card.status = CardStatus.BLOCKED
    return postings.add(legs, origin=origin), shortfall


def hold(
    session: Session,
    card: GiftCard,
    amount: Money,
    expires_at: datetime,
    origin: Origin = NOWHERE,
) -> Hold:
    """Set `amount` aside (pending), e.g. while the rest of a split payment goes through."""
    legs = [
        Leg(
            card.account,
            _business_account(session, Purpose.HOLDS, card),
            amount.minor,
            TransferKind.HOLD,
            card.id,
        )
    ]
    try:
        ledger.post(session, legs, origin=origin)
    except InsufficientFundsError as exc:
        raise insufficient(card, exc) from None
    created = Hold(card_id=card.id, amount_minor=amount.minor, expires_at=expires_at)
    session.add(created)
    session.flush()
    return created


def _close_hold(session: Session, held: Hold, status: HoldStatus, posted: int) -> None:
    """Move the hold from pending to `status` exactly once, even under concurrent calls."""
    closed = rowcount(
        session.execute(
            update(Hold)
            .where(Hold.id == held.id, Hold.status == HoldStatus.PENDING)
            .values(status=status, posted_minor=posted)
            .execution_options(synchronize_session=False)
        )
    )
    if closed != 1:
        session.refresh(held)
        raise HoldClosed(
            f"This hold is already {held.status.value}: nothing more can be posted "
            "or voided on it.",
        )
    session.expire(held)


def release_if_expired(session: Session, held: Hold, now: datetime | None = None) -> bool:
    """Release a pending hold whose time is up (the job does this too); whether it did."""
    if held.status is HoldStatus.PENDING and held.expires_at <= (now or _now()):
        _release(session, held, HoldStatus.EXPIRED)
        return True
    return False


def post_hold(session: Session, held: Hold, amount: Money, origin: Origin = NOWHERE) -> None:
    """Take `amount` (at most what is held) and return the rest to the card."""
    if amount.minor > held.amount_minor:
        held_money = Money(held.amount_minor, amount.currency)
        raise AmountAboveHold(f"Only {held_money.format()} was held: post at most that.")
    card = session.get(GiftCard, held.card_id)
    assert card is not None
    _close_hold(session, held, HoldStatus.POSTED, amount.minor)
    holds = _business_account(session, Purpose.HOLDS, card)
    legs = [
        Leg(
            holds,
            _business_account(session, Purpose.REVENUE, card),
            amount.minor,
            TransferKind.HOLD_POSTED,
            card.id,
        )
    ]
    rest = held.amount_minor - amount.minor
    if rest:
        legs.append(Leg(holds, card.account, rest, TransferKind.HOLD_RELEASED, card.id))
    ledger.post(session, legs, origin=origin)


def _release(session: Session, held: Hold, status: HoldStatus, origin: Origin = NOWHERE) -> None:
    card = session.get(GiftCard, held.card_id)
    assert card is not None
    _close_hold(session, held, status, 0)
    ledger.post(
        session,
        [
            Leg(
                _business_account(session, Purpose.HOLDS, card),
                card.account,
                held.amount_minor,
                TransferKind.HOLD_RELEASED,
                card.id,
            )
        ],
        origin=origin,
    )


def void_hold(session: Session, held: Hold, origin: Origin = NOWHERE) -> None:
    _release(session, held, HoldStatus.VOIDED, origin)


def expire_holds(session: Session, now: datetime | None = None) -> int:
    """Release every pending hold past its expiry; how many."""
    now = now or _now()
    due = session.scalars(
        select(Hold).where(Hold.status == HoldStatus.PENDING, Hold.expires_at <= now)
    ).all()
    for held in due:
        _release(session, held, HoldStatus.EXPIRED)
    return len(due)


# What a refund may give back: the value a redemption took from the card. An offline
# redemption's shortfall was never on the card, so it is not refundable.
REFUNDABLE_KINDS = (TransferKind.REDEMPTION, TransferKind.OFFLINE_REDEMPTION)


def _redemption(session: Session, redemption_id: str) -> tuple[str | None, int]:
    """The card a redemption took value from and how much: a till's or a terminal's
    redemption by its operation id, or a posted hold by its id (what was posted)."""
    taken = session.execute(
        select(Transfer.card_id, func.sum(Transfer.amount_minor))
        .where(Transfer.operation_id == redemption_id, Transfer.kind.in_(REFUNDABLE_KINDS))
        .group_by(Transfer.card_id)
    ).first()
    if taken is not None:
        return taken[0], int(taken[1])
    held = session.get(Hold, redemption_id)
    if held is not None and held.status is HoldStatus.POSTED and held.posted_minor:
        return held.card_id, held.posted_minor
    return None, 0


def refund(
    session: Session,
    business: Business,
    redemption_id: str,
    amount: Money,
    reason: str,
    limits: MoneyLimits,
    card_id: str | None = None,
    origin: Origin = NOWHERE,
) -> tuple[GiftCard, str]:
    """Give back onto its card (goods returned) up to what the redemption `redemption_id`
    took (a redemption's operation id, or a posted hold's id); partial refunds of it add up
    to at most that. A new transfer, never an edit. The card and the refund's operation id."""
    taken_from, taken = _redemption(session, redemption_id)
    card = session.get(GiftCard, taken_from) if taken_from else None
    if card is None or card.business_id != business.id or card_id not in (None, card.id):
        raise RedemptionNotFound(
            f"This business has no gift-card redemption {redemption_id!r}"
            + (f" of card {card_id!r}" if card_id else "")
            + ": a refund names the redemption's id (from its answer), or a posted hold's id."
        )
    # The card's row first (`ledger.lock_order`): refunds of one redemption take turns, so
    # two at once cannot both find the same amount left.
    _lock(session, [card.account_id])
    left = taken - given_back(session, redemption_id)
    if amount.minor > left:
        code = card.currency
        raise RefundAboveRedemption(
            f"That redemption took {Money.of(taken, code).format()} and "
            f"{Money.of(left, code).format()} of it is left to refund: refund at most that.",
            limit_minor=taken,
            available_minor=left,
        )
    # Then the business's clearing and revenue rows, in `ledger.lock_order`: purchases there
    # hold the clearing row from their liability check to their commit, so a refund and a
    # purchase at once take turns and cannot both pass the liability limit on one figure.
    clearing = ledger.clearing_account(session, card.currency, business.id)
    _lock(session, [clearing.id, _business_account(session, Purpose.REVENUE, card).id])
    check_business_liability(session, business.id, card.currency, amount.minor, limits)
    operation_id = _give_back(session, card, amount, reason, redemption_id, origin)
    check_card_balance(card.account.balance_minor, amount, limits)
    return card, operation_id


def given_back(session: Session, redemption_id: str) -> int:
    """What refunds and voids of the redemption `redemption_id` have given back so far. Read
    it with the card's row locked, so that two give-backs at once take turns."""
    refunded = session.scalar(
        select(func.coalesce(func.sum(Transfer.amount_minor), 0)).where(
            Transfer.refund_of == redemption_id
        )
    )
    return int(refunded or 0)


def _lock(session: Session, account_ids: list[int]) -> None:
    """Lock these accounts' rows (by id, as `ledger.lock_order` orders floorless ones) until
    the transaction ends."""
    session.execute(
        select(LedgerAccount.id)
        .where(LedgerAccount.id.in_(account_ids))
        .order_by(LedgerAccount.id)
        .with_for_update()
    )


def void_redemption(
    session: Session,
    card: GiftCard,
    amount: Money,
    memo: str,
    operation_id: str | None,
    origin: Origin = NOWHERE,
) -> str:
    """Give back a redemption its terminal cancelled at the counter (`devices.reconcile`
    voids each once, soon after the sale). Counted as a refund of that redemption."""
    return _give_back(session, card, amount, memo, operation_id, origin, TransferKind.VOID)


def _give_back(
    session: Session,
    card: GiftCard,
    amount: Money,
    memo: str,
    redemption_id: str | None,
    origin: Origin,
    kind: TransferKind = TransferKind.REFUND,
) -> str:
    """Post `amount` from the business's revenue back onto the card, as a refund of
    `redemption_id`; the operation id."""
    return ledger.post(
        session,
        [
            Leg(
                _business_account(session, Purpose.REVENUE, card),
                card.account,
                amount.minor,
                kind,
                card.id,
                memo,
                refund_of=redemption_id,
            )
        ],
        origin=origin,
    )


def transfer_between_cards(
    session: Session, source: GiftCard, target: GiftCard, amount: Money, limits: MoneyLimits
) -> str:
    """Move value between two cards of one holder at one business. Another person's card is
    refused as if it did not exist (value reaches someone else only as a gift, claimed by
    its code), so card ids cannot be probed either."""
    if source.owner_id is None or target.owner_id != source.owner_id:
        raise CardNotFound(
            f"You have no gift card {target.id!r} to move value to: value moves only between "
            "your own cards. To give value to someone, buy them a gift card as a gift."
        )
    if source.business_id != target.business_id or source.currency != target.currency:
        raise DifferentBusiness("Value moves only between cards of the same business.")
    if source.id == target.id:
        raise SameCard("Choose a different card to move value to.")
    legs = [
        Leg(
            source.account,
            target.account,
            amount.minor,
            TransferKind.CARD_TRANSFER,
            source.id,
            f"from card {source.id} to card {target.id}",
        )
    ]
    try:
        operation_id = ledger.post(session, legs)
    except InsufficientFundsError as exc:
        raise insufficient(source, exc, "move") from None
    check_card_balance(target.account.balance_minor, amount, limits)
    return operation_id


def reissue(
    session: Session, keyring: Keyring, card: GiftCard, now: datetime | None = None
) -> None:
    """A new token for a lost phone; the old one goes on the revocation list."""
    now = now or _now()
    revoke_tokens_of(session, card.id, now)
    card.token_id, card.token = _sign(session, keyring, card, now)
    session.flush()


def expire_cards(session: Session, now: datetime | None = None) -> int:
    """Expire cards past their date, moving what is left on them to breakage; how many."""
    now = now or _now()
    due = session.scalars(
        select(GiftCard).where(GiftCard.status == CardStatus.ACTIVE, GiftCard.expires_at <= now)
    ).all()
    for card in due:
        left = ledger.balance(session, card.account_id)
        if left > 0:
            ledger.post(
                session,
                [
                    Leg(
                        card.account,
                        _business_account(session, Purpose.BREAKAGE, card),
                        left,
                        TransferKind.EXPIRY,
                        card.id,
                        "balance left at expiry",
                    )
                ],
            )
        card.status = CardStatus.EXPIRED
    session.flush()
    return len(due)


@dataclass(frozen=True)
class HistoryItem:
    operation_id: str
    kind: str
    amount: Money
    at: datetime
    memo: str


def history(session: Session, card: GiftCard) -> Iterator[HistoryItem]:
    """Every movement into or out of the card, oldest first."""
    query = (
        select(Transfer)
        .where(
            (Transfer.debit_account_id == card.account_id)
            | (Transfer.credit_account_id == card.account_id)
        )
        .order_by(Transfer.id)
    )
    for transfer in session.scalars(query):
        sign = 1 if transfer.credit_account_id == card.account_id else -1
        yield HistoryItem(
            transfer.operation_id,
            transfer.kind,
            Money.of(sign * transfer.amount_minor, card.currency),
            transfer.created_at,
            transfer.memo,
        )
