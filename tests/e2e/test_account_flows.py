"""Accounts end to end: the real server (uvicorn on loopback) sending its mail to a real SMTP
server (aiosmtpd on loopback) — an email confirmed and a password reset with the codes read
from the mail received; two-step sign-in enrolled, used, and a recovery code used once."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pyotp
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import PASSWORD, free_port, migrated_server

CODE = re.compile(r"Your code is ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")
NEW_PASSWORD = "a brand new password"


class Mailbox:
    """An SMTP server's handler keeping what it is given, and waiting for what is due."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Rcpt"] = ", ".join(envelope.rcpt_tos)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, to: str, subject: str, timeout: float = 30) -> EmailMessage:
        """The first message to `to` whose subject is `subject`, waiting for it to come."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for message in self.messages:
                    if message["X-Rcpt"] == to and message["Subject"] == subject:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(m["X-Rcpt"], m["Subject"]) for m in self.messages]
                    raise AssertionError(f"no {subject!r} to {to} in time; got {got}")
                self.arrived.wait(left)

    def to(self, address: str) -> list[str]:
        with self.arrived:
            return [str(m["Subject"]) for m in self.messages if m["X-Rcpt"] == address]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


@pytest.fixture
def server(database_url, tmp_path, mailbox) -> Iterator[str]:
    env = {
        "TILLPOINT_SMTP_HOST": "127.0.0.1",
        "TILLPOINT_SMTP_PORT": str(mailbox[1]),
        "TILLPOINT_NOTIFICATIONS_INTERVAL_SECONDS": "0.2",
        "TILLPOINT_APP_URL": "https://app.example/tillpoint",
    }
    with migrated_server(database_url, tmp_path / "data", env=env) as base:
        yield base


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_an_email_confirmed_and_a_password_reset_by_the_codes_mailed(server, mailbox):
    box = mailbox[0]
    address = "reset-me@example.com"
    api = f"{server}/api/v1"
    signup = httpx.post(f"{api}/auth/signup", json={"email": address, "password": PASSWORD})
    assert signup.status_code == 201, signup.text

    confirm = box.wait_for(address, "Confirm your email for Tillpoint")
    [code] = CODE.findall(text_of(confirm))
    assert f"https://app.example/tillpoint/verify-email?code={code}" in text_of(confirm)
    assert code in html_of(confirm)
    confirmed = httpx.post(f"{api}/auth/verify-email", json={"code": code})
    assert confirmed.json()["email_verified"] is True

    signed = httpx.post(f"{api}/auth/login", json={"email": address, "password": PASSWORD})
    old_session = bearer(signed.json())
    asked = httpx.post(f"{api}/auth/password-reset", json={"email": address})
    nobody = httpx.post(f"{api}/auth/password-reset", json={"email": "nobody@example.com"})
    assert asked.status_code == nobody.status_code == 202
    assert asked.json() == nobody.json()

    reset_mail = box.wait_for(address, "Reset your Tillpoint password")
    [reset_code] = CODE.findall(text_of(reset_mail))
    done = httpx.post(
        f"{api}/auth/password-reset/confirm",
        json={"code": reset_code, "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 204, done.text
    again = httpx.post(
        f"{api}/auth/password-reset/confirm",
        json={"code": reset_code, "new_password": "yet another password"},
    )
    assert again.json()["type"].endswith("/code-not-valid")

    assert httpx.get(f"{api}/me", headers=old_session).status_code == 401
    old = httpx.post(f"{api}/auth/login", json={"email": address, "password": PASSWORD})
    assert old.status_code == 401
    new = httpx.post(f"{api}/auth/login", json={"email": address, "password": NEW_PASSWORD})
    assert new.status_code == 200, new.text
    told = box.wait_for(address, "Your Tillpoint password was changed")
    assert "reset your password at once" in text_of(told)
    assert "nobody@example.com" not in {m["X-Rcpt"] for m in box.messages}


def test_two_step_sign_in_enrolled_used_and_recovered(server, mailbox):
    box = mailbox[0]
    address = "two-step@example.com"
    api = f"{server}/api/v1"
    httpx.post(f"{api}/auth/signup", json={"email": address, "password": PASSWORD})
    [code] = CODE.findall(text_of(box.wait_for(address, "Confirm your email for Tillpoint")))
    httpx.post(f"{api}/auth/verify-email", json={"code": code})
    session = bearer(
        httpx.post(f"{api}/auth/login", json={"email": address, "password": PASSWORD}).json()
    )

    started = httpx.post(f"{api}/me/mfa", headers=session)
    assert started.status_code == 201, started.text
    app = pyotp.parse_uri(started.json()["otpauth_uri"])  # as an authenticator app reads it
    assert isinstance(app, pyotp.TOTP)
    confirmed = httpx.post(f"{api}/me/mfa/confirm", json={"code": app.now()}, headers=session)
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]

    def first_step() -> str:
        answer = httpx.post(f"{api}/auth/login", json={"email": address, "password": PASSWORD})
        assert answer.status_code == 401, answer.text
        assert answer.json()["type"].endswith("/mfa-required")
        return str(answer.json()["mfa_ticket"])

    with_code = httpx.post(
        f"{api}/auth/login/mfa",
        json={"mfa_ticket": first_step(), "code": app.at(time.time() + 30)},
        headers={"User-Agent": "another phone"},
    )
    assert with_code.status_code == 200, with_code.text
    assert httpx.get(f"{api}/me", headers=bearer(with_code.json())).json()["mfa_enabled"]

    with_recovery = httpx.post(
        f"{api}/auth/login/mfa", json={"mfa_ticket": first_step(), "recovery_code": recovery[0]}
    )
    assert with_recovery.status_code == 200, with_recovery.text
    reused = httpx.post(
        f"{api}/auth/login/mfa", json={"mfa_ticket": first_step(), "recovery_code": recovery[0]}
    )
    assert reused.status_code == 401
    assert reused.json()["type"].endswith("/mfa-code-wrong")

    sessions = httpx.get(f"{api}/me/sessions", headers=session).json()
    assert sessions["total"] == len(sessions["items"]) == 3
    # The sign-in from another phone was a new device: a security email said so.
    told = box.wait_for(address, "New sign-in to your Tillpoint account")
    assert "another phone" in text_of(told)
