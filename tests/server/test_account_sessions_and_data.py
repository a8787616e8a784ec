"""A person's sessions and devices (listed, ended, forgotten; a new device told), the export
of everything held about them, and deleting an account: personal data erased, cards kept
spendable by their code."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.accounts.models import AccountSession, User
from server.fraud.models import ClientDevice
from server.notifications import Notification, NotificationKind
from tests.server.api import PASSWORD, Actor, buy_card, sign_up

LOGIN = "/api/v1/auth/login"


def from_device(client: TestClient, email: str, install_id: str, device_token: str = ""):
    headers = {"X-Install-Id": install_id, "User-Agent": f"TillpointApp/{install_id}"}
    if device_token:
        headers["X-Device-Token"] = device_token
    response = client.post(LOGIN, json={"email": email, "password": PASSWORD}, headers=headers)
    assert response.status_code == 200, response.text
    tokens = response.json()
    tokens["actor"] = Actor(
        client, "", email, {"Authorization": f"Bearer {tokens['access_token']}"}
    )
    return tokens


def new_device_notices(sessions, user_id: str) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.user_id == user_id,
                    Notification.kind == NotificationKind.NEW_DEVICE,
                )
            )
            or 0
        )


# -- sessions and devices --------------------------------------------------------------------


def test_sessions_are_listed_and_one_can_be_ended(client, customer):
    phone = from_device(client, customer.email, "phone")
    listed = phone["actor"].get("/api/v1/me/sessions").json()["items"]
    assert len(listed) == 2  # the fixture's sign-in and the phone's
    [current] = [s for s in listed if s["current"]]
    assert current["user_agent"] == "TillpointApp/phone"
    [other] = [s for s in listed if not s["current"]]

    assert phone["actor"].delete(f"/api/v1/me/sessions/{other['id']}").status_code == 204
    assert customer.get("/api/v1/me").status_code == 401  # its access token at once
    assert [s["id"] for s in phone["actor"].get("/api/v1/me/sessions").json()["items"]] == [
        current["id"]
    ]
    again = phone["actor"].delete(f"/api/v1/me/sessions/{other['id']}")
    assert again.status_code == 404
    assert again.json()["type"].endswith("/session-not-found")


def test_another_persons_session_is_not_found(client, customer):
    stranger = sign_up(client)
    [theirs] = stranger.get("/api/v1/me/sessions").json()["items"]
    assert customer.delete(f"/api/v1/me/sessions/{theirs['id']}").status_code == 404
    assert stranger.get("/api/v1/me").status_code == 200


def test_signing_out_everywhere_else_keeps_this_session(client, customer):
    phone = from_device(client, customer.email, "phone")
    tablet = from_device(client, customer.email, "tablet")
    ended = phone["actor"].post("/api/v1/me/sessions/end-others")
    assert ended.json() == {"ended": 2}
    assert customer.get("/api/v1/me").status_code == 401
    assert tablet["actor"].get("/api/v1/me").status_code == 401
    refused = client.post("/api/v1/auth/refresh", json={"refresh_token": tablet["refresh_token"]})
    assert refused.status_code == 401
    assert phone["actor"].get("/api/v1/me").status_code == 200


def test_a_new_device_tells_the_account_and_a_known_one_does_not(client, sessions):
    actor = sign_up(client)  # the first device: nothing to tell
    assert new_device_notices(sessions, actor.id) == 0
    phone = from_device(client, actor.email, "phone")
    assert new_device_notices(sessions, actor.id) == 1
    from_device(client, actor.email, "phone", phone["device_token"])
    assert new_device_notices(sessions, actor.id) == 1


def test_a_forgotten_device_is_signed_out_and_known_no_more(client, sessions, customer):
    phone = from_device(client, customer.email, "phone")
    devices = customer.get("/api/v1/me/devices").json()["items"]
    [phone_device] = [d for d in devices if d["user_agent"] == "TillpointApp/phone"]
    assert customer.delete(f"/api/v1/me/devices/{phone_device['id']}").status_code == 204
    assert phone["actor"].get("/api/v1/me").status_code == 401
    assert phone_device["id"] not in [
        d["id"] for d in customer.get("/api/v1/me/devices").json()["items"]
    ]
    # Signing in from it again is a new device's sign-in, its old device token no help.
    before = new_device_notices(sessions, customer.id)
    from_device(client, customer.email, "phone", phone["device_token"])
    assert new_device_notices(sessions, customer.id) == before + 1
    with sessions() as session:
        tokens = session.scalars(select(AccountSession.device_id)).all()
    assert len(set(tokens)) == len(tokens)  # the revoked device id was not given again
    assert customer.delete("/api/v1/me/devices/999999").status_code == 404


# -- export ----------------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_person_and_no_secrets(client, shop, customer):
    card = buy_card(customer, shop, 2500).json()
    shop.redeem(500, card_id=card["id"])
    exported = customer.get("/api/v1/me/export")
    assert exported.status_code == 200
    data = exported.json()
    assert data["account"]["email"] == customer.email
    [held] = data["gift_cards"]
    assert held["balance_minor"] == 2000
    assert held["code"] == card["token"]
    assert [h["kind"] for h in held["history"]] == ["purchase", "redemption"]
    assert data["sessions"]
    assert data["devices"]
    text = json.dumps(data)
    assert "argon2" not in text
    assert "refresh" not in text
    assert "Your code is" not in text  # the confirmation code's message is left out


# -- deletion --------------------------------------------------------------------------------


def test_a_deleted_account_is_erased_and_its_card_stays_spendable(client, sessions, shop, customer):
    card = buy_card(customer, shop, 2500).json()
    deleted = customer.post("/api/v1/me/deletion", {"password": PASSWORD})
    assert deleted.status_code == 200, deleted.text
    [kept] = deleted.json()["cards"]
    assert (kept["id"], kept["code"], kept["balance"]["minor"]) == (card["id"], card["token"], 2500)

    assert customer.get("/api/v1/me").status_code == 401
    gone = client.post(LOGIN, json={"email": customer.email, "password": PASSWORD})
    assert gone.status_code == 401
    with sessions() as session:
        user = session.get_one(User, customer.id)
        assert customer.email not in user.email
        assert session.scalar(select(User).where(User.email == customer.email)) is None
        for model in (ClientDevice, AccountSession, Notification):
            left = select(func.count()).select_from(model).where(model.user_id == customer.id)
            assert session.scalar(left) == 0, model
    assert shop.redeem(1000, token=card["token"]).status_code == 200  # spendable by its code
    assert sign_up(client, email=customer.email).id != customer.id  # the email is free again


def test_deleting_needs_the_password_and_an_owner_must_give_up_businesses(client, shop, customer):
    wrong = customer.post("/api/v1/me/deletion", {"password": "not the password"})
    assert wrong.status_code == 403
    assert customer.get("/api/v1/me").status_code == 200
    owner = shop.owner.post("/api/v1/me/deletion", {"password": PASSWORD})
    assert owner.status_code == 409
    assert owner.json()["type"].endswith("/account-owns-businesses")
    assert shop.owner.get("/api/v1/me").status_code == 200
