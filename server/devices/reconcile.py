"""Applying pushed terminal events exactly once, in the device's order.

Every redemption a terminal approved is recorded — the customer has the goods. If offline
tills together overspent a card, the card goes to zero, the rest is posted to the
business's shortfall account, the card is blocked, and an incident is opened. A voucher
used twice offline is recorded twice, the second flagged.

A terminal takes back its own gift-card sales two ways: a void (the sale was cancelled at
the counter, within the void window), and a withdrawal (`attempt_withdrawn`: an online
attempt whose answer was lost, which the till then declined offline, so the cashier took
another payment). A withdrawn attempt the server had applied is given back as a void
would be, within the void window and onto a card that can still be spent, with an
incident for the owner; past the window or on an expired or blocked card nothing goes
back by itself, and the incident says what to refund. A withdrawn attempt the server
never applied is kept as withdrawn, so that it is refused should it arrive late.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.money import Money, MoneyError
from sync.wire import (
    VOID_WINDOW,
    CardStatus,
    EventResult,
    EventStatus,
    EventType,
    IncidentKind,
    TerminalEvent,
    public_key_from_text,
)

from ..billing.subscriptions import listing_changed, standing
from ..db import among, insert_rows, where_among
from ..deals.models import Deal, Voucher
from ..deals.service import redeem_voucher
from ..directory.models import Business, Product
from ..errors import VoucherExpired, VoucherUsed
from ..fraud.models import FraudEvent
from ..fraud.pushed import PushedScreening
from ..fraud.service import Activity
from ..ids import ID_LENGTH
from ..wallet import cards, ledger
from ..wallet.idempotency import MAX_KEY_LENGTH
from ..wallet.ledger import Postings
from ..wallet.models import GiftCard, LedgerAccount, Purpose
from ..wallet.schemas import MAX_AMOUNT
from . import branch_edits, redemptions
from .models import Device, Incident, RedeemedItem, SyncEvent, TillRedemption
from .service import origin_of

__all__ = ["apply_events"]

_NEW_ID = re.compile(f"[A-Za-z0-9_-]{{{ID_LENGTH}}}")
_SKEW = timedelta(minutes=1)  # a till's clock may be this far off when it times a void


class _Rejected(Exception):
    pass


def _int(payload: dict[str, object], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise _Rejected(f"payload.{name} must be a whole number of minor units, 1 to {MAX_AMOUNT}")
    return value


def _text(payload: dict[str, object], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        raise _Rejected(f"payload.{name} must be an id")
    return value


@dataclass
class _Batch:
    """What a batch's events look up, fetched once for the whole batch."""

    device: Device
    device_key: Ed25519PublicKey
    postings: Postings
    screening: PushedScreening
    earlier: dict[str, SyncEvent] = field(default_factory=dict)
    # The device's redemptions under the batch's attempt keys, and those the batch makes.
    attempts: dict[str, TillRedemption | redemptions.Noted] = field(default_factory=dict)
    # Held here so they stay in the session's identity map (it keeps only weak references):
    # session.get() then answers from memory, with no query and no autoflush per event.
    loaded: list[object] = field(default_factory=list)
    # Written at the batch's end, each kind in one statement.
    kept: list[redemptions.Noted] = field(default_factory=list)
    recorded: list[dict[str, object]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        """Everything the batch noted: postings, fraud screening, redemptions, answers."""
        self.postings.flush()
        self.screening.write()
        redemptions.insert(session, self.kept)
        insert_rows(session, SyncEvent, self.recorded)
        self.kept, self.recorded = [], []

    @classmethod
    def load(cls, session: Session, device: Device, events: list[TerminalEvent]) -> _Batch:
        ids = [e.id for e in events]
        card_ids = [str(e.payload.get("card_id")) for e in events]
        keys = [str(e.payload.get("attempt_key")) for e in events]
        cards = session.scalars(select(GiftCard).where(among(session, GiftCard.id, card_ids))).all()
        accounts = session.scalars(
            select(LedgerAccount).where(
                among(session, LedgerAccount.id, [c.account_id for c in cards])
            )
        ).all()
        postings = Postings(session)
        # Every account the batch's redemptions will post to, locked up front in one query
        # (in id order, as every posting locks them): no round trip per card later.
        ours = {c.account_id for c in cards if c.business_id == device.business_id}
        revenue = [
            ledger.account(session, Purpose.REVENUE, currency, device.business_id)
            for currency in {a.currency for a in accounts if a.id in ours}
        ]
        postings.lock([a for a in accounts if a.id in ours] + revenue)
        # The fraud rules' counts for every card the batch redeems, read once.
        screening = PushedScreening(
            session,
            [
                _screened(device, card.id, 0, card.currency)
                for card in cards
                if card.business_id == device.business_id
            ],
        )
        return cls(
            device,
            public_key_from_text(device.public_key),
            postings,
            screening,
            {
                e.id: e
                for e in session.scalars(select(SyncEvent).where(among(session, SyncEvent.id, ids)))
            },
            {
                r.attempt_key: r
                for r in session.scalars(
                    where_among(
                        session,
                        select(TillRedemption).where(TillRedemption.device_id == device.id),
                        TillRedemption.attempt_key,
                        keys,
                    )
                )
            },
            [*cards, *accounts],
        )


def _screened(device: Device, card_id: str, amount_minor: int, currency: str) -> Activity:
    """A redemption pushed by `device`, as the fraud rules see it."""
    return Activity(
        FraudEvent.REDEMPTION_PUSHED,
        business_id=device.business_id,
        card_id=card_id,
        terminal=f"device:{device.id}",
        amount_minor=amount_minor,
        currency=currency,
    )


def _attempt_key(event: TerminalEvent) -> str | None:
    attempt = event.payload.get("attempt_key")
    if not isinstance(attempt, str) or not attempt:
        return None
    if len(attempt) > MAX_KEY_LENGTH:
        raise _Rejected(f"payload.attempt_key must be at most {MAX_KEY_LENGTH} characters")
    return attempt


def _went_through_online(batch: _Batch, event: TerminalEvent) -> EventResult | None:
    """The terminal tried online first and got no answer. If that attempt (or an earlier
    event with its key) was recorded, this event is the same redemption: a duplicate."""
    attempt = _attempt_key(event)
    done = batch.attempts.get(attempt) if attempt else None
    if done is None:
        return None
    if done.withdrawn:
        raise _Rejected(
            f"this terminal withdrew that attempt (event {done.event_id}) and told the "
            "cashier it was not taken: it is not recorded now"
        )
    if done.event_id is None:
        return EventResult(
            event.id,
            EventStatus.DUPLICATE,
            "already applied online; the terminal had lost the answer",
        )
    return EventResult(
        event.id, EventStatus.DUPLICATE, f"already recorded as event {done.event_id}"
    )


def _keep(
    session: Session,
    batch: _Batch,
    event: TerminalEvent,
    item: RedeemedItem,
    subject_id: str,
    amount_minor: int,
    operation_id: str | None,
) -> None:
    """Keep the redemption under its attempt key, so that the online request arriving late
    is refused instead of redeeming again, and a void can find it."""
    attempt = _attempt_key(event)
    if attempt is None:
        return
    batch.attempts[attempt] = kept = redemptions.Noted(
        batch.device.id,
        attempt,
        item,
        subject_id,
        amount_minor,
        operation_id,
        event.id,
        _occurred(event),
        cashier_id=_cashier(event),
    )
    batch.kept.append(kept)


def _cashier(event: TerminalEvent) -> str | None:
    """Who the terminal says was signed in; recorded as said (the event is the device's
    signed word), dropped when it is not a short text."""
    cashier = event.payload.get("cashier_id")
    return cashier if isinstance(cashier, str) and 0 < len(cashier) <= 36 else None


def _gift_card_redemption(session: Session, batch: _Batch, event: TerminalEvent) -> EventResult:
    device = batch.device
    card = session.get(GiftCard, _text(event.payload, "card_id"))
    if card is None or card.business_id != device.business_id:
        raise _Rejected("no gift card of this business has that id")
    try:
        amount = Money.of(_int(event.payload, "amount_minor"), card.currency)
    except MoneyError as exc:
        raise _Rejected(str(exc)) from None
    if event.payload.get("currency", card.currency) != card.currency:
        raise _Rejected(f"the card is in {card.currency}")
    if (online := _went_through_online(batch, event)) is not None:
        return online
    operation_id, shortfall = cards.record_offline_redemption(
        session,
        card,
        amount,
        f"offline at terminal {device.name}, event {event.id}",
        batch.postings,
        origin_of(device, _cashier(event)),
    )
    _keep(session, batch, event, RedeemedItem.GIFT_CARD, card.id, amount.minor, operation_id)
    flagged = batch.screening.screen(
        _screened(device, card.id, amount.minor, amount.currency.code), event.id
    )
    if not shortfall:
        if flagged is not None:
            return EventResult(event.id, EventStatus.APPLIED_WITH_INCIDENT, flagged)
        return EventResult(event.id, EventStatus.APPLIED)
    short = Money.of(shortfall, card.currency)
    detail = (
        f"Card {card.id} was overspent offline by {short.format()}: the card is now "
        "at zero and blocked, and the shortfall is on the business's account."
    )
    session.add(
        Incident(
            business_id=device.business_id,
            kind=IncidentKind.OFFLINE_OVERSPEND,
            subject_id=card.id,
            event_id=event.id,
            amount_minor=shortfall,
            currency=card.currency,
            detail=detail,
        )
    )
    return EventResult(event.id, EventStatus.APPLIED_WITH_INCIDENT, detail)


def _voucher_redemption(session: Session, batch: _Batch, event: TerminalEvent) -> EventResult:
    device = batch.device
    voucher = session.get(Voucher, _text(event.payload, "voucher_id"))
    if voucher is None or voucher.business_id != device.business_id:
        raise _Rejected("no voucher of this business has that id")
    if (online := _went_through_online(batch, event)) is not None:
        return online
    _keep(session, batch, event, RedeemedItem.VOUCHER, voucher.id, voucher.face_minor, None)
    try:
        origin = origin_of(device, _cashier(event))
        redeem_voucher(session, voucher, device.id, _occurred(event), origin, offline=True)
        return EventResult(event.id, EventStatus.APPLIED)
    except (VoucherUsed, VoucherExpired) as refused:
        reason = refused.detail
    # Already used (or the deal ended): the till gave the goods, so record it and flag it.
    detail = f"Voucher {voucher.id} was redeemed again offline at terminal {device.name} ({reason})"
    session.add(
        Incident(
            business_id=device.business_id,
            kind=IncidentKind.VOUCHER_REUSED,
            subject_id=voucher.id,
            event_id=event.id,
            amount_minor=voucher.face_minor,
            currency=voucher.currency,
            detail=detail,
        )
    )
    return EventResult(event.id, EventStatus.APPLIED_WITH_INCIDENT, detail)


def _redemption_void(session: Session, batch: _Batch, event: TerminalEvent) -> EventResult:
    """The terminal takes back one of its own gift-card redemptions (the sale was cancelled at
    the counter), within the void window. The value goes back onto the card as a new
    transfer; the redemption stays in the ledger. Each redemption is voided once. The void
    is the redemption's cashier's, whoever was signed in when it came (or no one, as with
    `tillpoint void`): it takes back their takings."""
    device = batch.device
    key = _text(event.payload, "attempt_key")
    sale = batch.attempts.get(key) or redemptions.find(session, device.id, key)
    if sale is None or sale.item != RedeemedItem.GIFT_CARD:
        raise _Rejected("this terminal made no gift-card redemption with that attempt_key")
    if sale.voided_by is not None:
        raise _Rejected("that redemption was already voided")
    if _past_void_window(sale, event):
        raise _Rejected(f"a void must come within {_window()}: ask the owner to refund")
    card = session.get(GiftCard, sale.subject_id)
    assert card is not None
    amount = Money.of(sale.amount_minor, card.currency)
    cards.void_redemption(
        session,
        card,
        amount,
        f"void, event {event.id}",
        sale.operation_id,
        origin_of(device, sale.cashier_id),
    )
    sale.voided_by = event.id
    return EventResult(event.id, EventStatus.APPLIED)


def _window() -> str:
    return f"{int(VOID_WINDOW.total_seconds() // 60)} minutes"


def _past_void_window(sale: redemptions.Noted | TillRedemption, event: TerminalEvent) -> bool:
    """Whether `event` came later after `sale` than a void may (with the clock skew
    allowed): past it, only the owner gives value back."""
    made_at = sale.made_at if sale.made_at.tzinfo else sale.made_at.replace(tzinfo=UTC)
    return _occurred(event) - made_at > VOID_WINDOW + _SKEW


def _not_spendable(card: GiftCard) -> str | None:
    """Why value put back onto `card` would not reach its holder, if it would not."""
    if card.status is CardStatus.BLOCKED:
        return "is blocked for review (it was overspent offline) and its shortfall is open"
    if card.status is CardStatus.EXPIRED or card.expires_at <= datetime.now(UTC):
        return "has expired, so value put back onto it could not be spent"
    return None


def _attempt_withdrawn(session: Session, batch: _Batch, event: TerminalEvent) -> EventResult:
    """The terminal takes back an online attempt whose answer it lost and which it then did
    not approve offline (the cashier took another payment). Applied online, it is given
    back whole, as a void of that redemption (a voucher: the owner is asked to honour it),
    and the owner has an incident; never applied, the attempt is kept as withdrawn, so it is
    refused should it arrive late. Each attempt is withdrawn once. Value goes back onto a
    card only as a void would: within the void window of the sale, and onto a card that
    can still be spent; otherwise the owner's incident names the card, the amount and what
    to do."""
    device = batch.device
    key = _attempt_key(event)
    if key is None:
        raise _Rejected("payload.attempt_key must be the attempt's Idempotency-Key")
    card_given, voucher_given = "card_id" in event.payload, "voucher_id" in event.payload
    if card_given == voucher_given:
        raise _Rejected("payload must name one of card_id and voucher_id")
    subject: GiftCard | Voucher | None
    if card_given:
        item, subject = (
            RedeemedItem.GIFT_CARD,
            session.get(GiftCard, _text(event.payload, "card_id")),
        )
    else:
        item, subject = (
            RedeemedItem.VOUCHER,
            session.get(Voucher, _text(event.payload, "voucher_id")),
        )
    if subject is None or subject.business_id != device.business_id:
        raise _Rejected(
            f"no {'gift card' if card_given else 'voucher'} of this business has that id"
        )
    _int(event.payload, "amount_minor")  # checked; what is given back is what was taken
    sale = batch.attempts.get(key) or redemptions.find(session, device.id, key)
    if sale is None:  # it never came, or not yet: it is refused from now on
        batch.attempts[key] = kept = redemptions.Noted(
            device.id,
            key,
            item,
            subject.id,
            0,  # nothing was taken
            None,
            event.id,
            _occurred(event),
            voided_by=event.id,
            cashier_id=_cashier(event),
        )
        batch.kept.append(kept)
        return EventResult(
            event.id, EventStatus.APPLIED, "the attempt had not been applied: nothing to give back"
        )
    if sale.withdrawn:
        return EventResult(
            event.id, EventStatus.DUPLICATE, f"already withdrawn (event {sale.voided_by})"
        )
    if sale.voided_by is not None:
        return EventResult(
            event.id,
            EventStatus.DUPLICATE,
            f"already voided or withdrawn (event {sale.voided_by})",
        )
    if sale.event_id is not None:
        raise _Rejected(
            f"this terminal approved that attempt offline (event {sale.event_id}): a void "
            "takes it back"
        )
    if sale.item != item or sale.subject_id != subject.id:
        raise _Rejected("that attempt was for another card or voucher")
    sale.voided_by = event.id  # given back, or handed to the owner: once
    if isinstance(subject, Voucher):
        face = Money.of(subject.face_minor, subject.currency)
        detail = (
            f"Voucher {subject.id} ({face.format()}) was used online at terminal {device.name}, "
            "but its answer was lost and the till told the cashier it was not accepted: the "
            "customer may not have had what it buys. Honour it if they come back."
        )
        amount_minor, currency = subject.face_minor, subject.currency
    else:
        card = subject
        left = sale.amount_minor - (
            cards.given_back(session, sale.operation_id) if sale.operation_id else 0
        )
        taken = Money.of(sale.amount_minor, card.currency)
        back = Money.of(max(left, 0), card.currency)
        unspendable, late = _not_spendable(card), _past_void_window(sale, event)
        if left > 0 and unspendable:
            given = (
                f"{back.format()} was not put back, because card {card.id} {unspendable}: "
                f"refund the customer {back.format()} another way (in cash, say) if they "
                "paid for the sale another way."
            )
        elif left > 0 and late:
            given = (
                f"{back.format()} was not put back onto card {card.id}, because the "
                f"withdrawal came more than {_window()} after the sale (a void's limit). "
                "Refund it from the console if the customer paid another way."
            )
        elif left > 0:
            cards.void_redemption(
                session,
                card,
                back,
                f"withdrawn by terminal {device.name}, event {event.id}",
                sale.operation_id,
                origin_of(device, sale.cashier_id),
            )
            given = f"{back.format()} went back onto the card."
            if left < sale.amount_minor:
                given = f"{back.format()} went back onto the card; the rest had been refunded."
        else:
            given = "It had all been refunded already, so nothing more went back."
        detail = (
            f"Terminal {device.name} could not tell whether {taken.format()} had been taken "
            f"from card {card.id} (the server's answer was lost) and told the cashier to take "
            f"another payment. The server had taken it: {given}"
        )
        amount_minor, currency = max(left, 0), card.currency
    session.add(
        Incident(
            business_id=device.business_id,
            kind=IncidentKind.ATTEMPT_WITHDRAWN,
            subject_id=subject.id,
            event_id=event.id,
            amount_minor=amount_minor,
            currency=currency,
            detail=detail,
        )
    )
    return EventResult(event.id, EventStatus.APPLIED_WITH_INCIDENT, detail)


def _editing_allowed(session: Session, business_id: str) -> None:
    allowed = standing(session, business_id)
    if not allowed.editing:
        raise _Rejected(f"listing edits are paused: {allowed.reason}")


def _product_edit(session: Session, batch: _Batch, event: TerminalEvent) -> EventResult:
    """A vendor's product edit made at a terminal, perhaps offline. It applies only to the
    version it was made on; a conflicting edit is refused and reported, never dropped."""
    device = batch.device
    product_id = _text(event.payload, "product_id")
    name = event.payload.get("name")
    price = event.payload.get("price_minor")
    base = event.payload.get("base_version")
    if not isinstance(name, str) or not 0 < len(name) <= 120:
        raise _Rejected("payload.name must be a product name of 1 to 120 characters")
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= MAX_AMOUNT:
        raise _Rejected(f"payload.price_minor must be a whole number from 0 to {MAX_AMOUNT}")
    if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
        raise _Rejected("payload.base_version must be the version the edit was made on")
    business = session.get(Business, device.business_id)
    assert business is not None
    _editing_allowed(session, business.id)
    product = session.get(Product, product_id)
    if product is None and base is None:
        if not _NEW_ID.fullmatch(product_id):
            raise _Rejected(
                f"payload.product_id of a new product must be {ID_LENGTH} URL-safe "
                "base64 characters (8 random bytes)"
            )
        product = Product(
            id=product_id,
            business_id=business.id,
            name=name,
            price_minor=price,
            currency=business.currency,
            attributes={},
            version=1,
        )
        session.add(product)
        session.flush()
        listing_changed(session, business.id, _occurred(event).date())
        return EventResult(event.id, EventStatus.APPLIED)
    if product is None or product.business_id != business.id:
        raise _Rejected("no product of this business has that id")
    if base != product.version:
        detail = (
            f"An edit of '{product.name}' made at terminal {device.name} was not applied: "
            f"it was made on version {base}, but the product is at version "
            f"{product.version} (now '{product.name}' at "
            f"{Money.of(product.price_minor, product.currency).format()}). The edit "
            f"wanted '{name}' at {Money.of(price, product.currency).format()}."
        )
        session.add(
            Incident(
                business_id=business.id,
                kind=IncidentKind.EDIT_CONFLICT,
                subject_id=product.id,
                event_id=event.id,
                amount_minor=0,
                currency=product.currency,
                detail=detail,
            )
        )
        raise _Conflict(detail)
    product.name, product.price_minor = name, price
    return EventResult(event.id, EventStatus.APPLIED)


class _Conflict(_Rejected):
    """Refused, but recorded (with its incident), so sending it again says the same."""


def _conflict(
    session: Session,
    batch: _Batch,
    event: TerminalEvent,
    subject_id: str,
    currency: str,
    base: object,
    current: int,
    what: str,
) -> None:
    """Report an edit made on an older version to the vendor, with what it wanted."""
    detail = (
        f"An edit made at terminal {batch.device.name} was not applied: it was made on "
        f"version {base}, but the listing is at version {current}. {what}"
    )
    session.add(
        Incident(
            business_id=batch.device.business_id,
            kind=IncidentKind.EDIT_CONFLICT,
            subject_id=subject_id,
            event_id=event.id,
            amount_minor=0,
            currency=currency,
            detail=detail,
        )
    )
    raise _Conflict(detail)


def _deal_edit(session: Session, batch: _Batch, event: TerminalEvent) -> EventResult:
    """A vendor's change to a deal's title, description or stock, made at a terminal."""
    deal = session.get(Deal, _text(event.payload, "deal_id"))
    if deal is None or deal.business_id != batch.device.business_id:
        raise _Rejected("no deal of this business has that id")
    _editing_allowed(session, deal.business_id)
    title = event.payload.get("title", deal.title)
    description = event.payload.get("description", deal.description)
    limit = event.payload.get("quantity_limit", deal.quantity_limit)
    base = event.payload.get("base_version")
    if not isinstance(title, str) or not 0 < len(title) <= 120:
        raise _Rejected("payload.title must be a title of 1 to 120 characters")
    if not isinstance(description, str) or len(description) > 2000:
        raise _Rejected("payload.description must be text of at most 2000 characters")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or limit < deal.sold
    ):
        raise _Rejected(f"payload.quantity_limit must be at least the {deal.sold} already sold")
    if base != deal.version:
        _conflict(
            session,
            batch,
            event,
            deal.id,
            deal.currency,
            base,
            deal.version,
            f"The edit of '{deal.title}' wanted the title '{title}'.",
        )
    deal.title, deal.description, deal.quantity_limit = title, description, limit
    return EventResult(event.id, EventStatus.APPLIED)


def _occurred(event: TerminalEvent) -> datetime:
    try:
        moment = datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))
    except ValueError:
        raise _Rejected("occurred_at must be an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# By the event's type as sent (a string): EventType's members are those strings.
_HANDLERS: dict[str, Callable[[Session, _Batch, TerminalEvent], EventResult]] = {
    EventType.GIFT_CARD_REDEMPTION: _gift_card_redemption,
    EventType.VOUCHER_REDEMPTION: _voucher_redemption,
    EventType.PRODUCT_EDIT: _product_edit,
    EventType.DEAL_EDIT: _deal_edit,
    EventType.REDEMPTION_VOID: _redemption_void,
    EventType.BRANCH_EDIT: branch_edits.apply_branch_edit,
    EventType.ATTEMPT_WITHDRAWN: _attempt_withdrawn,
}
# Handlers that validate everything before they change anything, and post through the
# batch's postings: they need no savepoint of their own (one per event was the push's
# biggest cost).
_BATCHED: frozenset[str] = frozenset({EventType.GIFT_CARD_REDEMPTION})


def _apply_one(session: Session, batch: _Batch, event: TerminalEvent, last_seq: int) -> EventResult:
    device = batch.device
    earlier = batch.earlier.get(event.id)
    if earlier is not None:
        if earlier.device_id != device.id:
            return EventResult(
                event.id, EventStatus.REJECTED, "another device already sent this event id"
            )
        return _duplicate(event.id, earlier.status, earlier.detail)
    if not event.signature_holds(batch.device_key):
        return EventResult(event.id, EventStatus.REJECTED, "the device signature does not match")
    if event.type not in _HANDLERS:
        return EventResult(event.id, EventStatus.REJECTED, f"unknown event type {event.type!r}")
    if event.seq <= last_seq:
        return EventResult(
            event.id,
            EventStatus.REJECTED,
            f"sequence {event.seq} is not after {last_seq}: replayed?",
        )
    try:
        _occurred(event)
        if event.type in _BATCHED:
            # Checks come first and writes wait for the batch's end: nothing to undo.
            result = _HANDLERS[event.type](session, batch, event)
        else:
            batch.postings.forget()  # this handler posts to the ledger itself
            with session.begin_nested():
                try:
                    result = _HANDLERS[event.type](session, batch, event)
                except _Conflict as conflict:
                    # Keep the incident and the record of the event; nothing else changed.
                    result = EventResult(event.id, EventStatus.REJECTED, f"conflict: {conflict}")
    except _Rejected as exc:
        return EventResult(event.id, EventStatus.REJECTED, str(exc))
    batch.recorded.append(
        {
            "id": event.id,
            "device_id": device.id,
            "seq": event.seq,
            "type": event.type,
            "occurred_at": event.occurred_at,
            "payload": event.payload,
            "status": result.status,
            "detail": result.detail,
        }
    )
    return result


def _duplicate(event_id: str, status: EventStatus, detail: str) -> EventResult:
    """The answer to an event recorded before (by an earlier push, or earlier in this
    batch): `duplicate`, carrying the incident the first answer reported, if any, since
    the till may never have had that answer (lost on the way, or sent twice)."""
    raised = status is EventStatus.APPLIED_WITH_INCIDENT or (
        status is EventStatus.REJECTED and detail.startswith("conflict: ")
    )
    return EventResult(
        event_id, EventStatus.DUPLICATE, f"already {status}", incident=detail if raised else ""
    )


def _apply_batch(
    session: Session, device_id: str, events: list[TerminalEvent]
) -> list[EventResult]:
    # The device's row is locked first, so two pushes from one device take turns.
    device = session.scalar(select(Device).where(Device.id == device_id).with_for_update())
    assert device is not None
    answers: dict[str, EventResult] = {}
    last_seq = device.last_seq
    batch = _Batch.load(session, device, events)
    for event in sorted(events, key=lambda e: e.seq):
        if event.id in answers:
            continue
        answers[event.id] = _apply_one(session, batch, event, last_seq)
        if answers[event.id].status in {EventStatus.APPLIED, EventStatus.APPLIED_WITH_INCIDENT}:
            last_seq = event.seq
    recorded = {row["id"] for row in batch.recorded}
    batch.write(session)
    device.last_seq = last_seq
    device.last_seen_at = datetime.now(UTC)
    session.commit()  # one commit for the batch: all of it is recorded, or none of it
    # In the order sent. An event sent twice in the batch is answered once: its copies are
    # duplicates of what the first recorded (one not recorded, rejected, is said again).
    results: list[EventResult] = []
    given: set[str] = set()
    for event in events:
        answer = answers[event.id]
        if event.id in given and event.id in recorded:
            answer = _duplicate(event.id, answer.status, answer.detail)
        given.add(event.id)
        results.append(answer)
    return results


def apply_events(
    session: Session, device: Device, events: list[TerminalEvent]
) -> list[EventResult]:
    """Apply a batch in the device's order and in one transaction; a bad event holds back
    none of the others (gift-card redemptions check everything before they note anything,
    other events take a savepoint each). What the events write — postings, fraud screening,
    till redemptions, the answers — goes in a few statements at the batch's end. Answers
    come back in the order the events were sent."""
    device_id = device.id
    session.rollback()  # start the batch's transaction afresh
    try:
        return _apply_batch(session, device_id, events)
    except IntegrityError:  # an event id arrived through another request just now
        session.rollback()
        return _apply_batch(session, device_id, events)
