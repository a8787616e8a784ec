"""The worker's delivery: claim due notifications, send each, mark it sent; inbox items,
which are sent nowhere, a batch at once.

Claims are leases (`server.outbox.claims`): sending happens outside any transaction — no
row lock or SQLite write lock is held while a mail server answers — and the lease is far
longer than a send may take (the SMTP timeout). So one row is sent once by one worker.
A failed try is its row's alone (`server.outbox.try_once`, which the gift mailers and the
webhook sender share): refused by the channel or met by a fault of ours (a message that
cannot be made), the row is released to be tried again or given up, and the rest of the
round goes on.

What is not possible without the receiver's help: if the process dies after the mail
server accepted a message and before the mark commits, the row is sent again when its lease
ends. Delivery is therefore at least once, and each attempt carries the same identity so
repeats can be recognised: the email's Message-ID and the push message's collapse key are
the notification's own. The inbox is exactly once: its item is written in the transaction
that marks the row sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..db import utcnow
from ..ids import make_id
from ..outbox import DeliveryRound, claim_due, lease_for, release, still_held, try_once
from ..outbox.metrics import count_deliveries, delivered, expect_deliveries
from ..settings import Settings
from .channels import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    PushMessage,
    PushTransport,
    email_message_id,
)
from .models import ACCOUNT_MAIL_KINDS, Channel, Delivery, InboxItem, Notification, NotificationKind
from .repository import forget_push_tokens, push_tokens

__all__ = ["Deliverer", "after_failure", "retry_delay"]

log = logging.getLogger("tillpoint.notifications")

MAX_RETRY_DELAY = timedelta(hours=6)


def retry_delay(attempts: int, first: float) -> timedelta:
    """The wait after the `attempts`-th failed try: `first` seconds, doubled each time."""
    return min(timedelta(seconds=first * 2 ** (attempts - 1)), MAX_RETRY_DELAY)


def after_failure(
    settings: Settings, attempts: int, error: str, now: datetime, given_up: dict[str, object]
) -> tuple[dict[str, object], Delivery]:
    """What a failed try leaves on its row, and the outcome: given up after the last try
    (with `given_up`'s values too), or tried again after `retry_delay`."""
    if attempts >= settings.notifications_max_attempts:
        return {"status": Delivery.FAILED, "last_error": error, **given_up}, Delivery.FAILED
    delay = retry_delay(attempts, settings.notifications_retry_seconds)
    return {"next_attempt_at": now + delay, "last_error": error}, Delivery.PENDING


class Deliverer:
    def __init__(
        self,
        sessions: Callable[[], Session],
        settings: Settings,
        email: EmailSender | None,
        push: PushTransport | None,
        clock: Callable[[], datetime] = utcnow,
        inbox_changed: Callable[[str], None] = lambda user_id: None,
    ) -> None:
        self.sessions, self.settings, self.email, self.push = sessions, settings, email, push
        self.clock = clock
        self.inbox_changed = inbox_changed  # told the person's id once an item is written
        self.lease = lease_for(settings.smtp_timeout_seconds)
        expect_deliveries(*Channel)  # each try is counted by its channel, as it is made

    def deliver_due(self) -> DeliveryRound:
        """Deliver a batch of due inbox items at once; claim a batch of the other due
        notifications and try each once."""
        worker = make_id()
        now = self.clock()
        batch = self.settings.notifications_batch
        with self.sessions() as session:
            told = _into_inboxes(session, now, batch)
            ids = claim_due(
                session,
                Notification,
                worker,
                now,
                now + self.lease,
                batch,
                Notification.channel != Channel.INBOX,
            )
            session.commit()
        for user_id in sorted(set(told)):
            self.inbox_changed(user_id)
        count_deliveries(Channel.INBOX, DeliveryRound(sent=len(told)))
        sent = DeliveryRound.of(self._deliver(worker, i) for i in ids)
        return replace(sent, sent=sent.sent + len(told))

    def _deliver(self, worker: str, notification_id: int) -> Delivery | None:
        return try_once(
            "notification",
            notification_id,
            lambda: self._send(worker, notification_id),
            lambda sent: self._sent(worker, *sent),
            lambda error: self._failed(worker, notification_id, error),
        )

    def _send(self, worker: str, notification_id: int) -> tuple[_Job, tuple[str, ...]] | None:
        """Send the notification, read while this worker's lease on it runs: the job, and
        push tokens the service no longer knows. None when there is nothing to send."""
        with self.sessions() as session:
            row = session.get(Notification, notification_id)
            if row is None:
                return None  # its account was deleted meanwhile: nothing to send
            if not still_held(row, worker, self.clock()):
                return None  # the lease ran out before its turn: another worker has it
            job = _Job(
                row.id,
                row.kind,
                row.channel,
                row.title,
                row.body_text,
                row.body_html,
                address=session.get_one(User, row.user_id).email,
                tokens=push_tokens(session, row.user_id),
            )
        # No transaction stays open while a mail server or push service answers.
        if job.channel is Channel.EMAIL:
            if self.email is None:
                raise DeliveryError("no mail server is set (TILLPOINT_SMTP_HOST)")
            self.email.send(self._email_of(job))
            return job, ()
        return job, self._push(job)

    def _email_of(self, job: _Job) -> OutgoingEmail:
        return OutgoingEmail(
            to=job.address,
            subject=job.title,
            text=job.text,
            html=job.html,
            message_id=email_message_id(job.id, self.settings),
        )

    def _push(self, job: _Job) -> tuple[str, ...]:
        """Push tokens the service no longer knows."""
        if self.push is None:
            raise DeliveryError("no push transport is set (TILLPOINT_PUSH_TRANSPORT)")
        if not job.tokens:
            raise DeliveryError("the person has no phone registered for push")
        first_line = job.text.split("\n", 1)[0]
        message = PushMessage(job.tokens, job.title, first_line, f"notification-{job.id}")
        try:
            return self.push.send(message).gone
        except DeliveryError as exc:
            self._forget_phones(exc.gone)
            raise

    def _sent(self, worker: str, job: _Job, gone: tuple[str, ...]) -> Delivery:
        self._forget_phones(gone)
        with self.sessions() as session:
            done: dict[str, object] = {"status": Delivery.SENT, "sent_at": self.clock()}
            marked = release(session, Notification, job.id, worker, done | _spent(job.kind))
            session.commit()
        if not marked:
            log.warning("notification %s was sent but its claim had been taken over", job.id)
        return delivered(job.channel, Delivery.SENT)

    def _forget_phones(self, tokens: tuple[str, ...]) -> None:
        if tokens:
            with self.sessions() as session:
                forget_push_tokens(session, tokens)
                session.commit()

    def _failed(self, worker: str, notification_id: int, error: str) -> Delivery | None:
        with self.sessions() as session:
            row = session.get(Notification, notification_id)
            if row is None:
                return None  # its account was deleted meanwhile
            kind, channel, attempts = row.kind, row.channel, row.attempts
            values, outcome = after_failure(
                self.settings, attempts, error, self.clock(), _spent(kind)
            )
            release(session, Notification, notification_id, worker, values)
            session.commit()
        if outcome is Delivery.FAILED:
            log.warning(
                "notification %s failed after %s tries: %s", notification_id, attempts, error
            )
        else:
            log.warning(
                "notification %s (%s by %s) not sent on try %s, tried again later: %s",
                notification_id, kind.value, channel.value, attempts, error,
            )  # fmt: skip
        return delivered(channel, outcome)


def _into_inboxes(session: Session, now: datetime, limit: int) -> list[str]:
    """Mark up to `limit` due inbox notifications sent and write their items, in the
    caller's transaction: nothing is sent elsewhere, so no claim is needed and each is
    delivered exactly once. Two statements for the batch: an UPDATE that takes the due
    rows (FOR UPDATE SKIP LOCKED on PostgreSQL: two workers take different ones) and
    returns them, and the items' INSERT. The people told, once an item."""
    due = (
        select(Notification.id)
        .where(
            Notification.channel == Channel.INBOX,
            Notification.status == Delivery.PENDING,
            Notification.next_attempt_at <= now,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    sent = session.execute(
        update(Notification)
        .where(Notification.id.in_(due.scalar_subquery()))
        .values(
            status=Delivery.SENT,
            sent_at=now,
            attempts=Notification.attempts + 1,
            claimed_by=None,
            claimed_until=None,
        )
        .returning(
            Notification.id,
            Notification.user_id,
            Notification.kind,
            Notification.title,
            Notification.body_text,
            Notification.created_at,
        )
        .execution_options(synchronize_session=False)
    ).all()
    if sent:
        session.execute(
            insert(InboxItem),
            [
                {
                    "id": make_id(),
                    "user_id": user_id,
                    "notification_id": notification_id,
                    "kind": kind,
                    "title": title,
                    "body": body,
                    "created_at": created_at,
                }
                for notification_id, user_id, kind, title, body, created_at in sorted(sent)
            ],
        )
    return [user_id for _id, user_id, *_rest in sent]


def _spent(kind: NotificationKind) -> dict[str, object]:
    """Account mail's one-time code is not kept once the message is sent (or given up on):
    the outbox is no second place to read it from."""
    if kind not in ACCOUNT_MAIL_KINDS:
        return {}
    blank = "(a one-time code was sent here; it is not kept)"
    return {"body_text": blank, "body_html": blank}


@dataclass(frozen=True, slots=True)
class _Job:
    """What sending one notification needs, read before the send."""

    id: int
    kind: NotificationKind
    channel: Channel
    title: str
    text: str
    html: str
    address: str
    tokens: tuple[str, ...]
