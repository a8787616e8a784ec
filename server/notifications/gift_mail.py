"""Gift emails: the notifications worker claims each gift whose delivery time has come and
emails its recipient the claim link and code.

A gift is its own outbox row (`server.gifts.models.Gift`), sent as `leased_mail` sends
them, due at its delivery time — so a scheduled gift is picked up by the first round at or
after that time. The recipient need not have an account, which is why it is not a
`Notification` (those are to accounts). The plain code is blanked once sent (or given up
on): only its hash stays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote

from sqlalchemy.orm import Session

from sync.money import Money

from ..directory.models import Business
from ..gifts.models import Gift
from ..settings import Settings
from ..wallet import cards
from ..wallet.models import GiftCard
from ..wallet.qr_images import qr_png
from . import templates
from .channels import InlineImage, OutgoingEmail, message_id
from .leased_mail import LeasedMailer

__all__ = ["GiftMailer", "cards_link", "claim_link"]


def claim_link(settings: Settings, code: str) -> str:
    """Where a gift email's link points: the app's address when one is set (a universal
    link opens the app on its claim screen with the code filled in); else the shop's claim
    page on this server, where the recipient signs in and claims it."""
    if settings.app_url.strip():
        return f"{settings.app_url.strip().rstrip('/')}/claim-gift?code={quote(code)}"
    return f"{settings.public_url.rstrip('/')}/shop/claim-gift?code={quote(code)}"


def cards_link(settings: Settings) -> str:
    """Where a customer sees the cards in their account on this server: the shop's page."""
    return f"{settings.public_url.rstrip('/')}/shop/my-cards"


class GiftMailer(LeasedMailer[Gift]):
    table = Gift
    what = "gift"
    # Sent or given up on, the code is not kept: the buyer may cancel the gift, and the card
    # is theirs.
    forgotten: ClassVar[Mapping[str, object]] = {"code": ""}

    def email_of(self, session: Session, gift: Gift) -> OutgoingEmail:
        business = session.get_one(Business, gift.business_id)
        card = session.get_one(GiftCard, gift.card_id)
        amount: Money = cards.card_balance(session, card)
        sender = gift.from_name or gift.buyer_email or "Someone"  # erased: see erasure
        # The card's QR code, for the till: a gift card spends as it is, claimed or not.
        qr = InlineImage(f"card-{gift.id}@tillpoint", qr_png(card.token), "card.png")
        message = templates.gift_received(
            business.name,
            amount,
            sender,
            gift.message,
            gift.code,
            # Claimed already (bought for oneself while signed in to the shop): no claiming.
            cards_link(self.settings) if gift.claimed_at else claim_link(self.settings, gift.code),
            (qr.cid, card.token),
            own=gift.for_its_buyer,
            greet=gift.recipient_name,
            in_account=gift.claimed_at is not None,
            receipt=(Money.of(gift.amount_minor, gift.currency), gift.id),
        )
        return OutgoingEmail(
            to=gift.recipient_email,
            subject=message.title,
            text=message.text,
            html=message.html,
            message_id=message_id(f"gift-{gift.id}", self.settings),
            images=(qr,),
        )
