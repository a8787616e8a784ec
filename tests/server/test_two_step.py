"""Two-step sign-in (TOTP): enrolment, sign-in as a second step, codes used once, recovery
codes, throttling; required for admins, who can do nothing else before enrolling."""

from __future__ import annotations

import time

import pyotp
import pytest
from fastapi.testclient import TestClient

from server.accounts.models import Role, User
from tests.server.api import (
    PASSWORD,
    Actor,
    current_code,
    next_code,
    sign_up,
    verify_email,
)

LOGIN = "/api/v1/auth/login"


def enrolled(client: TestClient) -> tuple[Actor, str, list[str]]:
    """A customer with two-step sign-in on: the actor, the app's secret, recovery codes."""
    actor = sign_up(client)
    verify_email(actor)
    started = actor.post("/api/v1/me/mfa")
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Tillpoint:")
    confirmed = actor.post("/api/v1/me/mfa/confirm", {"code": current_code(secret)})
    assert confirmed.status_code == 200, confirmed.text
    return actor, secret, confirmed.json()["recovery_codes"]


def first_step(client: TestClient, email: str) -> str:
    response = client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["type"].endswith("/mfa-required")
    assert "access_token" not in body
    return str(body["mfa_ticket"])


def second_step(client: TestClient, ticket: str, **code: str):
    return client.post(f"{LOGIN}/mfa", json={"mfa_ticket": ticket, **code})


def test_a_wrong_code_does_not_turn_it_on(client):
    actor = sign_up(client)
    verify_email(actor)
    secret = actor.post("/api/v1/me/mfa").json()["secret"]
    wrong = str((int(current_code(secret)) + 1) % 1_000_000).zfill(6)
    refused = actor.post("/api/v1/me/mfa/confirm", {"code": wrong})
    assert refused.status_code == 400
    assert refused.json()["type"].endswith("/mfa-code-wrong")
    assert actor.get("/api/v1/me").json()["mfa_enabled"] is False


def test_sign_in_takes_a_code_as_a_second_step_and_each_code_once(client):
    actor, secret, _ = enrolled(client)
    assert actor.get("/api/v1/me").json()["mfa_enabled"] is True
    code = next_code(secret)
    tokens = second_step(client, first_step(client, actor.email), code=code)
    assert tokens.status_code == 200, tokens.text
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.json()["id"] == actor.id
    replayed = second_step(client, first_step(client, actor.email), code=code)
    assert replayed.status_code == 401
    assert replayed.json()["type"].endswith("/mfa-code-wrong")


def test_a_recovery_code_signs_in_once(client):
    actor, _, recovery = enrolled(client)
    assert len(recovery) == 10 == len(set(recovery))
    used = second_step(client, first_step(client, actor.email), recovery_code=recovery[0].upper())
    assert used.status_code == 200, used.text
    again = second_step(client, first_step(client, actor.email), recovery_code=recovery[0])
    assert again.status_code == 401
    assert actor.get("/api/v1/me/mfa").json()["recovery_codes_left"] == 9


def test_a_ticket_takes_five_tries_then_is_used_up(client):
    actor, secret, _ = enrolled(client)
    ticket = first_step(client, actor.email)
    wrong = str((int(current_code(secret)) + 500_000) % 1_000_000).zfill(6)
    assert [second_step(client, ticket, code=wrong).status_code for _ in range(5)] == [401] * 5
    used_up = second_step(client, ticket, code=next_code(secret))
    assert used_up.status_code == 401
    assert used_up.json()["type"].endswith("/invalid-mfa-ticket")


def test_wrong_codes_count_in_the_sign_in_throttle(client):
    actor, secret, _ = enrolled(client)
    wrong = str((int(current_code(secret)) + 500_000) % 1_000_000).zfill(6)
    for _ in range(2):
        ticket = first_step(client, actor.email)
        for _ in range(3):
            second_step(client, ticket, code=wrong)
    # Six wrong codes: the account now waits, the right password notwithstanding.
    waiting = client.post(LOGIN, json={"email": actor.email, "password": PASSWORD})
    assert waiting.status_code == 429


@pytest.mark.parametrize(
    "body",
    [{}, {"code": "123456", "recovery_code": "abcde-fghjk"}, {"code": "12345"}, {"code": "abcdef"}],
)
def test_the_second_step_takes_exactly_one_well_formed_code(client, body):
    refused = client.post(f"{LOGIN}/mfa", json={"mfa_ticket": "x", **body})
    assert refused.status_code == 422


def test_a_forged_ticket_is_refused(client):
    forged = second_step(client, "not-a-ticket", code="123456")
    assert forged.status_code == 401
    assert forged.json()["type"].endswith("/invalid-mfa-ticket")


def test_turning_it_off_needs_a_code_and_new_recovery_codes_replace_the_old(client):
    actor, _secret, recovery = enrolled(client)
    renewed = actor.post("/api/v1/me/mfa/recovery-codes", {"recovery_code": recovery[1]})
    assert renewed.status_code == 200
    assert actor.post("/api/v1/me/mfa/disable", {"recovery_code": recovery[2]}).status_code == 400
    fresh = renewed.json()["recovery_codes"]
    assert actor.post("/api/v1/me/mfa/disable", {"recovery_code": fresh[0]}).status_code == 204
    signed = client.post(LOGIN, json={"email": actor.email, "password": PASSWORD})
    assert signed.status_code == 200  # one step again


def test_an_admin_without_it_can_only_set_it_up(client, sessions):
    actor = sign_up(client)
    verify_email(actor)
    with sessions() as session:
        session.get_one(User, actor.id).role = Role.ADMIN
        session.commit()
    refused = client.post(LOGIN, json={"email": actor.email, "password": PASSWORD})
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/mfa-enrolment-required")
    enrolment = {"Authorization": f"Bearer {refused.json()['enrolment_token']}"}
    me = client.get("/api/v1/me", headers=enrolment)
    assert me.status_code == 401
    assert "only sets up two-step sign-in" in me.json()["detail"]
    assert client.get("/api/v1/admin/fraud/rules", headers=enrolment).status_code == 401

    secret = client.post("/api/v1/me/mfa", headers=enrolment).json()["secret"]
    confirmed = client.post(
        "/api/v1/me/mfa/confirm",
        json={"code": pyotp.TOTP(secret).at(time.time())},
        headers=enrolment,
    )
    assert confirmed.status_code == 200, confirmed.text
    tokens = second_step(client, first_step(client, actor.email), code=next_code(secret))
    admin = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert client.get("/api/v1/admin/fraud/rules", headers=admin).status_code == 200
    kept = client.post(
        "/api/v1/me/mfa/disable",
        json={"recovery_code": confirmed.json()["recovery_codes"][0]},
        headers=admin,
    )
    assert kept.status_code == 409
    assert kept.json()["type"].endswith("/mfa-required")
