"""The channels a notification leaves by: email over SMTP (aiosmtplib) and push behind an
adapter. The in-app inbox needs no channel object: delivering to it is a row written in the
transaction that marks the notification sent (see `delivery`)."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiosmtplib

from ..outbox import SendRefused
from ..settings import Settings

__all__ = [
    "DeliveryError",
    "EmailSender",
    "FakePushTransport",
    "InlineImage",
    "OutgoingEmail",
    "PushMessage",
    "PushTransport",
    "SmtpSender",
    "make_push_transport",
]


class DeliveryError(SendRefused):
    """A channel could not take the message now; the worker tries again later. `gone`: push
    tokens the service said will never work again (forgotten even so)."""

    def __init__(self, reason: str, gone: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.gone = gone


@dataclass(frozen=True, slots=True)
class InlineImage:
    """A PNG the HTML shows as `<img src="cid:{cid}">`, also an attachment named `filename`
    for mail readers that show no HTML."""

    cid: str
    png: bytes
    filename: str


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str  # the same on every attempt, so a repeat can be recognised downstream
    images: tuple[InlineImage, ...] = ()


class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> None:
        """Hand the email to the mail server, or raise `DeliveryError`."""


class SmtpSender:
    """Email through an SMTP server (TILLPOINT_SMTP_*), one connection a message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, email: OutgoingEmail) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        html = message.get_body(preferencelist=("html",))
        for image in email.images:
            assert html is not None
            html.add_related(
                image.png,
                maintype="image",
                subtype="png",
                cid=f"<{image.cid}>",
                disposition="inline",
                filename=image.filename,
            )
        try:
            asyncio.run(
                aiosmtplib.send(
                    message,
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    username=s.smtp_username or None,
                    password=s.smtp_password.get_secret_value() or None,
                    start_tls=s.smtp_starttls,
                    timeout=s.smtp_timeout_seconds,
                )
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {s.smtp_host}:{s.smtp_port}: {exc}") from exc


def email_message_id(notification_id: int, settings: Settings) -> str:
    return message_id(f"notification-{notification_id}", settings)


def message_id(idstring: str, settings: Settings) -> str:
    """An email's Message-ID, the same on every attempt: `idstring` names what it is."""
    domain = settings.smtp_from.rpartition("@")[2].rstrip(">") or "tillpoint.invalid"
    return make_msgid(idstring=idstring, domain=domain)


@dataclass(frozen=True, slots=True)
class PushMessage:
    tokens: tuple[str, ...]  # the person's phones (FCM registration tokens)
    title: str
    body: str
    collapse_key: str  # the same on every attempt: FCM shows one of repeats


@dataclass(frozen=True, slots=True)
class PushOutcome:
    gone: tuple[str, ...] = ()  # tokens the service no longer knows: the phones are forgotten


class PushTransport(Protocol):
    """Where push messages go: FCM HTTP v1 (`fcm.FcmTransport`), a fake in tests. Raise
    `DeliveryError` to have the message tried again."""

    def send(self, message: PushMessage) -> PushOutcome: ...


@dataclass
class FakePushTransport:
    """Keeps what it is given (nothing here reaches the internet); `fail` refuses the next
    that many messages."""

    sent: list[PushMessage] = field(default_factory=list)
    fail: int = 0
    gone: set[str] = field(default_factory=set)  # tokens it answers as unregistered

    def send(self, message: PushMessage) -> PushOutcome:
        if self.fail > 0:
            self.fail -= 1
            raise DeliveryError("the fake push transport was told to fail")
        self.sent.append(message)
        return PushOutcome(gone=tuple(t for t in message.tokens if t in self.gone))


def make_push_transport(settings: Settings) -> PushTransport | None:
    """The transport TILLPOINT_PUSH_TRANSPORT names: `fcm` (Firebase Cloud Messaging), or
    `module:factory` (the factory taking the settings); none when it is empty, and then
    nothing is sent by push."""
    if not settings.push_transport:
        return None
    if settings.push_transport == "fcm":
        from .fcm import FcmTransport

        return FcmTransport(settings)
    module_name, _, factory = settings.push_transport.partition(":")
    transport: PushTransport = getattr(importlib.import_module(module_name), factory)(settings)
    return transport
