"""Donors' receipts, and members' notices of what their club handed them: emailed (and in
the inbox) through the notifications outbox, written in the transaction of the change they
tell of, once per donation or holding and kind."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import User
from ..directory.models import Business
from ..notifications import templates
from ..notifications.models import NotificationKind
from ..notifications.outbox import Outbox
from .models import Club, ClubHolding, Donation, HoldingKind

__all__ = ["donated", "handed_out", "refunded"]


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


def handed_out(session: Session, outbox: Outbox, club: Club, held: ClubHolding) -> None:
    """Tell the member a gift card or voucher the club bought is now theirs."""
    assert held.handed_to is not None
    member = session.get_one(User, held.handed_to)
    business = session.get_one(Business, held.business_id)
    what = "gift card" if held.kind is HoldingKind.GIFT_CARD else "voucher"
    message = templates.club_handout(club.name, what, business.name)
    outbox.write(session, member, NotificationKind.CLUB_HANDOUT, held.id, message)
