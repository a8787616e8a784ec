"""A real SMTP server on loopback (aiosmtpd) that keeps what it is given, and the settings
and fake push transport a notifying app is built with. The fixtures are the server suite's
(imported by its conftest)."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage as Message

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from server.app import create_app
from server.notifications import FakePushTransport, NotificationWorker

# Sign-ups are sent a code to confirm their email: not what most tests are about.
ACCOUNT_MAIL = {"Confirm your email for Tillpoint"}


class Sink:
    """An SMTP server's handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Rcpt"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        """What was sent to `address`, but for account mail (tests/server/test_account_mail)."""
        return [m for m in self.receipts() if m["X-Rcpt"] == address]

    def receipts(self) -> list[Message]:
        return [m for m in self.messages if m["Subject"] not in ACCOUNT_MAIL]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mail() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


@pytest.fixture
def notify_settings(settings, mail):
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": mail[1], "smtp_timeout_seconds": 5}
    )


@pytest.fixture
def push() -> FakePushTransport:
    return FakePushTransport()


@pytest.fixture
def sink(mail: tuple[Sink, int]) -> Sink:
    return mail[0]


# A test module that mails imports these two (`from tests.server.mailbox import
# mailing_client, notification_worker`): its `client` is an app that sends email through
# the loopback server and pushes through the fake transport, its `worker` the notifications
# worker that does the sending.


@pytest.fixture(name="client")
def mailing_client(notify_settings, engine, push) -> Iterator[TestClient]:
    with TestClient(create_app(notify_settings, engine=engine, push=push)) as client:
        yield client


@pytest.fixture(name="worker")
def notification_worker(sessions, notify_settings, push) -> NotificationWorker:
    return NotificationWorker(sessions, notify_settings, push=push)
