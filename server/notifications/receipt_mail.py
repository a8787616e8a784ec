"""Gift receipts: the notifications worker emails the receipt of a gift bought without an
account (the shop page, not signed in) to the email its buyer gave.

A receipt is its own outbox row (`server.gifts.models.GiftReceipt`, leased as gifts and
notifications are: `server.outbox.claims`), written in the purchase's transaction and due
at once — so one purchase has one, sent by one worker even when several run, and retried
with the notifications' backoff when the mail server refuses. As with them, a process
dying between the mail server's acceptance and the mark may send it twice; both carry the
receipt's own Message-ID. It holds no address or text of its own: both are read from the
gift when it is sent. It never carries the card's codes: they are the recipient's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sync.money import Money

from ..directory.models import Business
from ..gifts.models import Gift, GiftReceipt
from ..ids import make_id
from ..outbox import Delivery, DeliveryRound, claim_due, release, still_held
from ..settings import Settings
from . import templates
from .channels import DeliveryError, EmailSender, OutgoingEmail, message_id
from .delivery import after_failure

__all__ = ["ReceiptMailer", "bought_link"]

log = logging.getLogger("tillpoint.notifications")

# A gift due this soon after it was bought goes "now" (the shop's confirmation page's rule).
NOW_ENOUGH = timedelta(minutes=1)


def bought_link(settings: Settings, business_id: str, gift_id: str) -> str:
    """The shop's confirmation page of a purchase, on this server."""
    return f"{settings.public_url.rstrip('/')}/shop/{business_id}/bought/{gift_id}"


@dataclass(frozen=True, slots=True)
class _Job:
    receipt_id: str
    attempts: int
    email: OutgoingEmail


class ReceiptMailer:
    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: Settings,
        email: EmailSender | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions, self.settings, self.email, self.clock = sessions, settings, email, clock
        # Far longer than one send may take, so a claim never runs out mid-send.
        self.lease = timedelta(seconds=max(60.0, 6 * settings.smtp_timeout_seconds))

    def deliver_due(self) -> DeliveryRound:
        """Claim the receipts due (a batch) and email each once."""
        worker = make_id()
        now = self.clock()
        with self.sessions() as session:
            ids = claim_due(
                session,
                GiftReceipt,
                worker,
                now,
                now + self.lease,
                self.settings.notifications_batch,
            )
            session.commit()
        return DeliveryRound.of(self._deliver(worker, i) for i in ids)

    def _deliver(self, worker: str, receipt_id: str) -> Delivery | None:
        with self.sessions() as session:
            receipt = session.get(GiftReceipt, receipt_id)
            if receipt is None or not still_held(receipt, worker, self.clock()):
                return None  # the lease ran out before its turn: another worker has it
            gift = session.get_one(Gift, receipt.id)
            job = _Job(receipt.id, receipt.attempts, self._email(session, gift))
        # No transaction stays open while the mail server answers.
        try:
            if self.email is None:
                raise DeliveryError("no mail server is set (TILLPOINT_SMTP_HOST)")
            self.email.send(job.email)
        except DeliveryError as exc:
            return self._failed(worker, job, str(exc))
        with self.sessions() as session:
            done = {"status": Delivery.SENT, "sent_at": self.clock()}
            marked = release(session, GiftReceipt, job.receipt_id, worker, done)
            session.commit()
        if not marked:
            log.warning("receipt %s was emailed but its claim had been taken over", job.receipt_id)
        return Delivery.SENT

    def _email(self, session: Session, gift: Gift) -> OutgoingEmail:
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

    def _failed(self, worker: str, job: _Job, error: str) -> Delivery:
        values, outcome = after_failure(self.settings, job.attempts, error, self.clock(), {})
        if outcome is Delivery.FAILED:
            log.warning("receipt %s failed after %s tries: %s", job.receipt_id, job.attempts, error)
        with self.sessions() as session:
            release(session, GiftReceipt, job.receipt_id, worker, values)
            session.commit()
        return outcome
