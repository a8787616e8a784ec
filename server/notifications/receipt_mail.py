"""Gift receipts: the notifications worker emails the receipt of a gift bought without an
account (the shop page, not signed in) to the email its buyer gave.

A receipt is its own outbox row (`server.gifts.models.GiftReceipt`), sent as `leased_mail`
sends them, written in the purchase's transaction and due at once — so one purchase has
one. It holds no address or text of its own: both are read from the gift when it is sent.
It never carries the card's codes: they are the recipient's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from sync.money import Money

from ..directory.models import Business
from ..gifts.models import Gift, GiftReceipt
from ..settings import Settings
from . import templates
from .channels import OutgoingEmail, message_id
from .leased_mail import LeasedMailer

__all__ = ["ReceiptMailer", "bought_link"]

# A gift due this soon after it was bought goes "now" (the shop's confirmation page's rule).
NOW_ENOUGH = timedelta(minutes=1)


def bought_link(settings: Settings, business_id: str, gift_id: str) -> str:
    """The shop's confirmation page of a purchase, on this server."""
    return f"{settings.public_url.rstrip('/')}/shop/{business_id}/bought/{gift_id}"


class ReceiptMailer(LeasedMailer[GiftReceipt]):
    table = GiftReceipt
    what = "receipt"

    def email_of(self, session: Session, receipt: GiftReceipt) -> OutgoingEmail:
        gift = session.get_one(Gift, receipt.id)
        business = session.get_one(Business, gift.business_id)
        later = gift.deliver_at > gift.created_at + NOW_ENOUGH
        message = templates.gift_receipt(
            business.name,
            Money.of(gift.amount_minor, gift.currency),
            greet=gift.from_name,
            recipient=gift.recipient_name,
            recipient_email=gift.recipient_email,
            deliver_at=gift.deliver_at if later else None,
            reference=gift.id,
            bought_at=gift.created_at,
            link=bought_link(self.settings, business.id, gift.id),
        )
        return OutgoingEmail(
            to=gift.buyer_email,
            subject=message.title,
            text=message.text,
            html=message.html,
            message_id=message_id(f"receipt-{gift.id}", self.settings),
        )
