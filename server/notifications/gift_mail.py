"""Gift emails: the notifications worker claims each gift whose delivery time has come and
emails its recipient the claim link and code.

A gift is its own outbox row (`server.gifts.models.Gift`, leased as notifications are:
`server.outbox.claims`), due at its delivery time — so a scheduled gift is picked up by the
first round at or after that time, by one worker even when several run, and retried with
the notifications' backoff when the mail server refuses. The recipient need not have an
account, which is why it is not a `Notification` (those are to accounts). As with
notifications, a process dying between the mail server's acceptance and the mark may send
it twice; both carry the gift's own Message-ID. The plain code is blanked once sent (or
given up on): only its hash stays."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from sync.money import Money

from ..directory.models import Business
from ..gifts.models import Gift
from ..ids import make_id
from ..outbox import Delivery, DeliveryRound, claim_due, release, still_held
from ..settings import Settings
from ..wallet import cards
from ..wallet.models import GiftCard
from ..wallet.qr_images import qr_png
from . import templates
from .channels import DeliveryError, EmailSender, InlineImage, OutgoingEmail, message_id
from .delivery import after_failure

__all__ = ["GiftMailer", "cards_link", "claim_link"]

log = logging.getLogger("tillpoint.notifications")


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


@dataclass(frozen=True, slots=True)
class _Job:
    gift_id: str
    attempts: int
    email: OutgoingEmail


class GiftMailer:
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
        """Claim the gifts whose time has come (a batch) and email each once."""
        worker = make_id()
        now = self.clock()
        with self.sessions() as session:
            ids = claim_due(
                session, Gift, worker, now, now + self.lease, self.settings.notifications_batch
            )
            session.commit()
        return DeliveryRound.of(self._deliver(worker, i) for i in ids)

    def _deliver(self, worker: str, gift_id: str) -> Delivery | None:
        with self.sessions() as session:
            gift = session.get(Gift, gift_id)
            if gift is None or not still_held(gift, worker, self.clock()):
                return None  # the lease ran out before its turn: another worker has it
            job = _Job(gift.id, gift.attempts, self._email(session, gift))
        # No transaction stays open while the mail server answers.
        try:
            if self.email is None:
                raise DeliveryError("no mail server is set (TILLPOINT_SMTP_HOST)")
            self.email.send(job.email)
        except DeliveryError as exc:
            return self._failed(worker, job, str(exc))
        with self.sessions() as session:
            done = {"status": Delivery.SENT, "sent_at": self.clock(), "code": ""}
            marked = release(session, Gift, job.gift_id, worker, done)
            session.commit()
        if not marked:
            log.warning("gift %s was emailed but its claim had been taken over", job.gift_id)
        return Delivery.SENT

    def _email(self, session: Session, gift: Gift) -> OutgoingEmail:
        business = session.get_one(Business, gift.business_id)
        card = session.get_one(GiftCard, gift.card_id)
        amount: Money = cards.card_balance(session, card)
        sender = gift.from_name or gift.buyer_email or "Someone"  # erased: see erasure
        # The card's QR code, for the till: a gift card spends as it is, claimed or not.
        qr = InlineImage(f"card-{gift.id}@tillpoint", qr_png(card.token), "card.png")
        own = gift.recipient_email.casefold() == gift.buyer_email.casefold()
        message = templates.gift_received(
            business.name,
            amount,
            sender,
            gift.message,
            gift.code,
            # Claimed already (bought for oneself while signed in to the shop): no claiming.
            cards_link(self.settings) if gift.claimed_at else claim_link(self.settings, gift.code),
            (qr.cid, card.token),
            own=own,
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

    def _failed(self, worker: str, job: _Job, error: str) -> Delivery:
        # Given up, the code is not kept: the buyer may cancel the gift, and the card is theirs.
        values, outcome = after_failure(
            self.settings, job.attempts, error, self.clock(), {"code": ""}
        )
        if outcome is Delivery.FAILED:
            log.warning("gift %s failed after %s tries: %s", job.gift_id, job.attempts, error)
        with self.sessions() as session:
            release(session, Gift, job.gift_id, worker, values)
            session.commit()
        return outcome
