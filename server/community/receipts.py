"""Donors' receipts, emailed (and in the inbox) through the notifications outbox, written
in the transaction of the donation or refund they tell of: once per donation and kind."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import User
from ..notifications import templates
from ..notifications.models import NotificationKind
from ..notifications.outbox import Outbox
from .models import Club, Donation

__all__ = ["donated", "refunded"]


def _paid_with(donation: Donation) -> str:
    if donation.card_id:
        return f"from gift card {donation.card_id}"
    return f"by payment card (reference {donation.payment_reference})"


def donated(session: Session, outbox: Outbox, club: Club, donation: Donation) -> None:
    donor = session.get_one(User, donation.donor_id)
    amount = Money.of(donation.amount_minor, donation.currency)
    message = templates.donation_receipt(club.name, amount, _paid_with(donation), donation.id)
    outbox.write(session, donor, NotificationKind.DONATION_RECEIPT, donation.id, message)


def refunded(session: Session, outbox: Outbox, club: Club, donation: Donation) -> None:
    donor = session.get_one(User, donation.donor_id)
    amount = Money.of(donation.amount_minor, donation.currency)
    back_to = f"onto gift card {donation.card_id}" if donation.card_id else "to the payment card"
    message = templates.donation_refunded(club.name, amount, back_to, donation.id)
    outbox.write(session, donor, NotificationKind.DONATION_REFUNDED, donation.id, message)
