"""Email verification and password resets: one-time codes emailed through the notifications
outbox — single use, expiring, rate-limited on every worker, never telling who has an
account — and the security message a password change sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from server.accounts.models import AccountCode, CodePurpose, User
from server.app import create_app
from server.notifications import Channel, Notification, NotificationKind
from tests.server.api import PASSWORD, emailed_code, log_in, sign_up, verify_email

NEW_PASSWORD = "a brand new password"


def kinds_sent(sessions, user_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Notification.kind)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        )


def ask_reset(client: TestClient, email: str):
    return client.post("/api/v1/auth/password-reset", json={"email": email})


def confirm_reset(client: TestClient, code: str, password: str = NEW_PASSWORD):
    return client.post(
        "/api/v1/auth/password-reset/confirm", json={"code": code, "new_password": password}
    )


# -- email verification ----------------------------------------------------------------------


def test_a_sign_up_is_emailed_a_code_that_confirms_the_address_once(client, customer):
    assert customer.get("/api/v1/me").json()["email_verified"] is False
    code = emailed_code(client, customer.id, "email_verification")
    confirmed = client.post("/api/v1/auth/verify-email", json={"code": code.lower()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email_verified"] is True
    again = client.post("/api/v1/auth/verify-email", json={"code": code})
    assert again.status_code == 400
    assert again.json()["type"].endswith("/code-not-valid")


def test_a_new_confirmation_code_retires_the_old_one(client, customer):
    old = emailed_code(client, customer.id, "email_verification")
    assert customer.post("/api/v1/me/email-verification").status_code == 202
    new = emailed_code(client, customer.id, "email_verification")
    assert new != old
    assert client.post("/api/v1/auth/verify-email", json={"code": old}).status_code == 400
    assert client.post("/api/v1/auth/verify-email", json={"code": new}).status_code == 200
    again = customer.post("/api/v1/me/email-verification")
    assert again.status_code == 409
    assert again.json()["type"].endswith("/email-already-verified")


def test_an_unconfirmed_account_cannot_set_up_two_step_sign_in(client, customer):
    refused = customer.post("/api/v1/me/mfa")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/email-not-verified")
    verify_email(customer)
    assert customer.post("/api/v1/me/mfa").status_code == 201


def test_an_unconfirmed_address_is_emailed_receipts_but_not_alerts(settings, engine):
    from server.notifications.outbox import channels_for

    with TestClient(create_app(settings, engine=engine)) as client:
        customer = sign_up(client)
        with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            user = session.get_one(User, customer.id)
            on = {"email": True, "push": False}
            alert = channels_for(session, user, NotificationKind.LOW_BALANCE, **on)
            receipt = channels_for(session, user, NotificationKind.CARD_REDEEMED, **on)
            assert alert == {Channel.INBOX}
            assert receipt == {Channel.INBOX, Channel.EMAIL}
            user.email_verified_at = datetime.now(UTC)
            alert = channels_for(session, user, NotificationKind.LOW_BALANCE, **on)
            assert alert == {Channel.INBOX, Channel.EMAIL}


# -- password reset --------------------------------------------------------------------------


def test_a_reset_code_sets_a_new_password_and_ends_every_session(client, sessions, customer):
    elsewhere = log_in(client, customer.email)
    asked = ask_reset(client, customer.email)
    assert asked.status_code == 202, asked.text
    code = emailed_code(client, customer.id, "password_reset")
    assert confirm_reset(client, code).status_code == 204

    for actor in (customer, elsewhere):
        assert actor.get("/api/v1/me").status_code == 401
    assert (
        client.post("/api/v1/auth/login", json={"email": customer.email, "password": PASSWORD})
        .json()["type"]
        .endswith("/invalid-credentials")
    )
    assert log_in(client, customer.email, NEW_PASSWORD).get("/api/v1/me").status_code == 200
    assert "password_changed" in kinds_sent(sessions, customer.id)  # a security message
    assert confirm_reset(client, code, "yet another password").status_code == 400  # once


def test_a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(
    client, sessions, customer
):
    known = ask_reset(client, customer.email)
    unknown = ask_reset(client, "nobody-here@example.com")
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    with sessions() as session:
        addressed = set(session.scalars(select(Notification.user_id)))
        assert session.scalar(select(User).where(User.email == "nobody-here@example.com")) is None
    assert addressed == {customer.id}


def test_an_expired_reset_code_is_refused(client, sessions, customer):
    ask_reset(client, customer.email)
    code = emailed_code(client, customer.id, "password_reset")
    with sessions() as session:
        session.execute(
            update(AccountCode)
            .where(AccountCode.purpose == CodePurpose.RESET_PASSWORD)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    refused = confirm_reset(client, code)
    assert refused.status_code == 400
    assert "ask for a new one" in refused.json()["detail"]
    assert log_in(client, customer.email)  # the password is unchanged


def test_a_newer_reset_code_retires_the_older(client, customer):
    ask_reset(client, customer.email)
    older = emailed_code(client, customer.id, "password_reset")
    ask_reset(client, customer.email)
    assert confirm_reset(client, older).status_code == 400
    assert (
        confirm_reset(client, emailed_code(client, customer.id, "password_reset")).status_code
        == 204
    )


def test_the_sent_reset_code_is_not_kept_in_the_outbox(client, sessions, customer):
    from server.notifications import NotificationWorker

    ask_reset(client, customer.email)
    code = emailed_code(client, customer.id, "password_reset")
    worker = NotificationWorker(sessions, client.app.state.settings)
    worker.run_once()  # no mail server: the try fails, and waits for the next
    with sessions() as session:
        body = session.scalars(
            select(Notification.body_text).where(
                Notification.kind == NotificationKind.PASSWORD_RESET
            )
        ).one()
    assert code in body  # not sent yet: kept for the next try
    settings = client.app.state.settings.model_copy(update={"notifications_max_attempts": 1})
    with sessions() as session:
        session.execute(update(Notification).values(next_attempt_at=datetime.now(UTC)))
        session.commit()
    NotificationWorker(sessions, settings).run_once()  # the last try: given up
    with sessions() as session:
        body = session.scalars(
            select(Notification.body_text).where(
                Notification.kind == NotificationKind.PASSWORD_RESET
            )
        ).one()
    assert code not in body


def test_reset_requests_are_limited_per_email_across_workers(settings, engine, redis_settings):
    shared = settings.model_copy(update={**redis_settings, "password_resets_per_hour": 3})
    with (
        TestClient(create_app(shared, engine=engine)) as one,
        TestClient(create_app(shared, engine=engine)) as other,
    ):
        statuses = [ask_reset(c, "someone@example.com").status_code for c in (one, other) * 2]
        assert statuses == [202, 202, 202, 429]
        limited = ask_reset(one, "SOMEONE@example.com")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0
        assert ask_reset(other, "someone-else@example.com").status_code == 202


@pytest.mark.parametrize("code", ["", "x" * 41, "ABCD\x00EFGH", "ABCD/EFGH"])
def test_a_malformed_code_is_refused_plainly(client, code):
    refused = confirm_reset(client, code)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/invalid-request")


# -- password change -------------------------------------------------------------------------


def test_a_password_change_tells_the_account(client, sessions, customer):
    changed = customer.post(
        "/api/v1/auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    assert kinds_sent(sessions, customer.id)[-1] == "password_changed"
    # Security messages cannot be turned off.
    refused = client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"kind": "password_changed", "channel": "email", "enabled": False}]},
        headers=customer.headers,
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/notification-required")


def test_a_reset_answers_before_any_database_work_known_email_or_not(client, engine, customer):
    """Timing without a timed test: count the database statements run before the answer
    starts. None either way, so a known and an unknown email take as long to answer; the
    work (and the mail) follows the answer."""
    from sqlalchemy import event

    counted = {"statements": 0}
    before_answer: list[int] = []

    def count(*_: object) -> None:
        counted["statements"] += 1

    app = client.app

    async def watching(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                before_answer.append(counted["statements"])
            await send(message)

        await app(scope, receive, sending)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with TestClient(watching) as watched:
            for email in (customer.email, "nobody-here@example.com"):
                counted["statements"] = 0
                assert ask_reset(watched, email).status_code == 202
                after = counted["statements"]
                assert before_answer[-1] == 0, email
                assert after > 0  # the lookup ran, after the answer
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert emailed_code(client, customer.id, "password_reset")
