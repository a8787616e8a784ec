"""Session rules: login throttles that cannot lock an owner out, refresh-token families,
access tokens denied after logout and password changes, metrics behind a token, no card
numbers stored — and, with Redis, all of it shared by every app."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.app import create_app
from server.billing.models import Subscription
from server.ratelimit import too_many
from tests.server.api import PASSWORD, buy_card, open_shop, sign_up

EMAIL = "owner@example.com"
WRONG = "not the password"


def signup(client, email=EMAIL):
    response = client.post(
        "/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": "vendor"}
    )
    assert response.status_code == 201, response.text


def login(client, email=EMAIL, password=PASSWORD, device=None):
    headers = {"X-Device-Token": device} if device else {}
    return client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


def me(client, tokens):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})


def refresh(client, token):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def fail_logins(client, count, email=EMAIL, device=None):
    return [login(client, email, WRONG, device).status_code for _ in range(count)]


def test_wrong_passwords_past_the_free_ones_make_the_account_wait(client):
    signup(client)
    assert fail_logins(client, 5) == [401] * 5
    assert login(client, password=WRONG).status_code == 401  # the sixth starts the wait
    limited = login(client)  # even the right password, from a device never seen
    assert limited.status_code == 429
    assert limited.json()["type"].endswith("/rate-limited")
    assert int(limited.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("left", "after", "said"),
    [
        (0.2, "1", "1 second"),
        (1.0, "1", "1 second"),
        (1.2, "2", "2 seconds"),
        (59.5, "60", "60 seconds"),
    ],
)
def test_a_wait_is_whole_seconds_said_as_such(left, after, said):
    problem = too_many("password", left)
    assert problem.headers["Retry-After"] == after
    assert problem.detail == f"Too many password attempts: wait {said}, then try again."


def test_a_known_device_signs_in_while_the_account_is_throttled(client):
    signup(client)
    device = login(client).json()["device_token"]
    fail_logins(client, 8)  # someone else guessing
    assert login(client).status_code == 429
    known = login(client, device=device)
    assert known.status_code == 200, known.text
    assert me(client, known.json()).status_code == 200


def test_a_known_device_guessing_is_throttled_on_its_own(client):
    signup(client)
    device = login(client).json()["device_token"]
    assert fail_logins(client, 6, device=device) == [401] * 6
    assert login(client, device=device).status_code == 429
    assert login(client).status_code == 200  # the account itself is not held up


def test_another_accounts_device_token_is_no_known_device(client):
    signup(client)
    signup(client, "other@example.com")
    other_device = login(client, "other@example.com").json()["device_token"]
    fail_logins(client, 6)
    assert login(client, device=other_device).status_code == 429


def test_wrong_passwords_from_one_address_throttle_that_address(client):
    signup(client)
    for n in range(6):  # one wrong try at each of six accounts, all from one address
        assert login(client, f"guess{n}@example.com", WRONG).status_code == 401
    assert login(client).status_code == 429


def test_reusing_a_rotated_refresh_token_ends_the_whole_family(client):
    signup(client)
    first = login(client).json()
    second = refresh(client, first["refresh_token"]).json()
    assert me(client, second).status_code == 200
    reused = refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["type"].endswith("/invalid-refresh-token")
    assert refresh(client, second["refresh_token"]).status_code == 401  # the newer one too
    assert me(client, second).status_code == 401  # and the family's access tokens


def test_other_sessions_survive_a_reuse_in_one(client):
    signup(client)
    mine, other = login(client).json(), login(client).json()
    renewed = refresh(client, mine["refresh_token"]).json()
    refresh(client, mine["refresh_token"])
    assert me(client, renewed).status_code == 401
    assert me(client, other).status_code == 200
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_logout_denies_the_access_token_at_once(client):
    signup(client)
    tokens = login(client).json()
    out = client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert out.status_code == 204
    denied = me(client, tokens)
    assert denied.status_code == 401
    assert denied.json()["type"].endswith("/unauthorized")


def test_logout_with_the_refresh_token_alone_ends_its_access_tokens(client):
    signup(client)
    tokens = login(client).json()
    client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert me(client, tokens).status_code == 401


def test_a_password_change_ends_every_other_session(client):
    signup(client)
    here, elsewhere = login(client).json(), login(client).json()
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
        headers={"Authorization": f"Bearer {here['access_token']}"},
    )
    assert changed.status_code == 204, changed.text
    assert me(client, elsewhere).status_code == 401
    assert refresh(client, elsewhere["refresh_token"]).status_code == 401
    assert me(client, here).status_code == 200  # the session that changed it goes on
    assert refresh(client, here["refresh_token"]).status_code == 200
    assert login(client).status_code == 401
    assert login(client, password="a brand new password").status_code == 200


def test_a_password_change_needs_the_current_password(client):
    signup(client)
    tokens = login(client).json()
    refused = client.post(
        "/api/v1/auth/password",
        json={"current_password": WRONG, "new_password": "a brand new password"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/wrong-password")
    assert me(client, tokens).status_code == 200


def test_metrics_are_off_without_a_token(client):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/metrics-off")


def test_metrics_need_the_metrics_token(settings, engine):
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-me"}), engine=engine)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200
        assert "tillpoint_http_requests_total" in right.text


def test_with_a_metrics_port_the_api_port_never_serves_metrics(settings, engine):
    changes = {"metrics_token": "scrape-me", "metrics_port": 9464}
    app = create_app(settings.model_copy(update=changes), engine=engine)
    with TestClient(app) as client:
        response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert response.status_code == 404
        assert "metrics port" in response.json()["detail"]


def test_the_billing_card_is_kept_as_the_gateways_token_and_last_four(client, sessions):
    shop = open_shop(client)
    path = f"/api/v1/businesses/{shop.business_id}/subscription/payment-card"
    answer = shop.owner.client.put(
        path, json={"card_number": "4242424242424242"}, headers=shop.owner.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["payment_card"] == "…4242"
    with sessions() as session:
        row = session.scalar(
            select(Subscription).where(Subscription.business_id == shop.business_id)
        )
        assert row is not None
        stored = {c.key: getattr(row, c.key) for c in Subscription.__table__.columns}
    assert stored["payment_card_token"] == "tok_visa"
    assert stored["payment_card_last4"] == "4242"
    assert not any("4242424242424242" in str(value) for value in stored.values())


# -- many apps, one Redis -------------------------------------------------------------


@pytest.fixture
def two_apps(settings, engine, redis_settings):
    """Two apps (as two workers or hosts would be) over one database and one Redis."""
    shared = settings.model_copy(update=redis_settings)
    with (
        TestClient(create_app(shared, engine=engine)) as first,
        TestClient(create_app(shared, engine=engine)) as second,
    ):
        yield first, second


def test_login_throttles_count_across_apps_sharing_redis(two_apps):
    first, second = two_apps
    signup(first)
    codes = [login(app, password=WRONG).status_code for app in (first, second) * 3]
    assert codes == [401] * 6
    assert login(first).status_code == 429
    assert login(second).status_code == 429


def test_a_logout_on_one_app_is_seen_by_the_other(two_apps):
    first, second = two_apps
    signup(first)
    tokens = login(first).json()
    assert me(second, tokens).status_code == 200
    first.post(
        "/api/v1/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert me(second, tokens).status_code == 401


def test_a_cashier_s_redemptions_count_across_apps_and_a_logout_stops_them_first(
    settings, engine, redis_settings
):
    """The deny list and the redemption limit are asked in one round trip: the limit counts
    across apps, and a signed-out cashier is told to sign in again, not to wait."""
    shared = settings.model_copy(update={**redis_settings, "redemptions_per_minute": 3})
    with (
        TestClient(create_app(shared, engine=engine)) as first,
        TestClient(create_app(shared, engine=engine)) as second,
    ):
        shop = open_shop(first)
        card = buy_card(sign_up(first, "customer"), shop, 1000).json()
        at_second = replace(shop, cashier=replace(shop.cashier, client=second))
        answers = [
            till.redeem(100, card_id=card["id"]).status_code
            for till in (shop, at_second, shop, at_second)
        ]
        assert answers == [200, 200, 200, 429]
        signed_out = shop.cashier.post("/api/v1/auth/logout", {"refresh_token": "not kept"})
        assert signed_out.status_code == 204, signed_out.text
        ended = at_second.redeem(100, card_id=card["id"])
        assert ended.status_code == 401, ended.text
        assert "sign in again" in ended.json()["detail"]
