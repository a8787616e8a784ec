"""What a scanned code is, before anything is redeemed: a gift card (and what it held when
this terminal last heard), a voucher (and its face value), or not ours at all.

Nothing here is trusted: the till verifies the signature when it redeems. This only tells the
cashier what they are holding and which question comes next (an amount, or just Enter)."""

from __future__ import annotations

from dataclasses import dataclass

from sync.money import Money
from sync.tokens import PREFIX, Kind, TokenError, decode, id_text

from .store import TerminalStore

__all__ = ["NotATokenError", "Presented", "looks_like_token", "present"]


@dataclass(frozen=True)
class Presented:
    token: str
    kind: Kind
    subject_id: str
    currency: str
    known_balance: Money | None  # a gift card's balance as this terminal last knew it
    face_value: Money | None  # a voucher's
    deal_title: str | None = None  # a voucher's deal, as last synced: what to hand over
    used: bool = False  # a voucher this terminal knows is used (here, or synced)

    @property
    def short_id(self) -> str:
        return "…" + self.subject_id[-6:]

    @property
    def label(self) -> str:
        return "Gift card" if self.kind is Kind.GIFT_CARD else "Voucher"


class NotATokenError(ValueError):
    """The code is not a Tillpoint gift card or voucher; the message says so in words."""


def looks_like_token(text: str) -> bool:
    return text.strip().upper().startswith(PREFIX)


def present(text: str, store: TerminalStore) -> Presented:
    token = text.strip()
    if not looks_like_token(token):
        raise NotATokenError(
            "That is not a Tillpoint gift card or voucher: ask for the code in the "
            "customer's Tillpoint app."
        )
    try:
        claims = decode(token).tillpoint
    except TokenError as exc:
        raise NotATokenError(
            f"The code could not be read ({exc.message}): scan it again."
        ) from None
    assert claims is not None  # our prefix: the claims are Tillpoint's
    pairing = store.pairing()
    if pairing is not None and id_text(claims.issuer) != pairing.business_id:
        raise NotATokenError(
            "This code was issued by another business: it can only be redeemed there."
        )
    subject = id_text(claims.subject)
    if claims.kind is Kind.GIFT_CARD:
        card = store.card(subject)
        balance = None if card is None else Money.of(card.balance_minor, card.currency)
        return Presented(token, claims.kind, subject, claims.currency, balance, None)
    # The voucher's code names its deal; the title is the deal's as last synced.
    deal_id = id_text(claims.deal_id) if claims.deal_id else store.voucher_deal_id(subject)
    return Presented(
        token,
        claims.kind,
        subject,
        claims.currency,
        None,
        claims.face_value,
        deal_title=None if deal_id is None else store.deal_title(deal_id),
        used=store.voucher_used(subject),
    )
