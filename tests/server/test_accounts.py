"""Sign-up, sign-in, refresh tokens and their limits."""

import pytest

from server.accounts.jwt_tokens import TokenSigner
from server.accounts.models import Role
from tests.server.api import PASSWORD, open_shop, sign_up


def signup(client, email="ann@example.com", password=PASSWORD, role="customer"):
    return client.post(
        "/api/v1/auth/signup", json={"email": email, "password": password, "role": role}
    )


def login(client, email="ann@example.com", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_sign_up_then_sign_in(client):
    created = signup(client, role="vendor")
    assert created.status_code == 201
    assert created.json()["role"] == "vendor_owner"
    tokens = login(client).json()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["email"] == "ann@example.com"
    assert tokens["expires_in"] == 900


def test_emails_are_one_account_whatever_their_case(client):
    assert signup(client).status_code == 201
    again = signup(client, email="ANN@example.com")
    assert again.status_code == 409
    assert again.json()["type"].endswith("/email-taken")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "body.email"),
        ({"email": "a@example.com", "password": "short"}, "body.password"),
        ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, "body.role"),
    ],
)
def test_bad_sign_ups_name_the_field(client, body, field):
    response = client.post("/api/v1/auth/signup", json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    ("email", "password"), [("ann@example.com", "wrong password"), ("nobody@example.com", PASSWORD)]
)
def test_wrong_credentials_do_not_say_which_part_was_wrong(client, email, password):
    signup(client)
    response = login(client, email, password)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-credentials")


def test_refresh_tokens_rotate_and_work_once(client):
    signup(client)
    first = login(client).json()
    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert renewed.status_code == 200
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/invalid-refresh-token")


def test_logout_revokes_the_refresh_token(client):
    signup(client)
    tokens = login(client).json()
    assert (
        client.post(
            "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
        ).status_code
        == 204
    )
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nonsense",
        "Bearer "
        + TokenSigner(b"another secret, 32 bytes or more!").access_token("x", Role.ADMIN, "s"),
    ],
)
def test_bad_or_missing_access_tokens_are_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_staff_see_the_business_they_work_for(client):
    shop = open_shop(client)
    assert shop.cashier.get("/api/v1/me").json()["businesses"] == [shop.business_id]
    assert sign_up(client).get("/api/v1/me").json()["businesses"] == []
