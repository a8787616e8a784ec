"""A test client that speaks the API the way the mobile app and the till do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
APPROVE = "4242 4242 4242 4242"


@dataclass
class Actor:
    """A signed-in user: their id, email and auth header."""

    client: TestClient
    id: str
    email: str
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **kwargs: Any):
        return self.client.get(path, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.client.delete(path, headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, key: str | None = None, **kwargs: Any):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any):
        return self.client.put(path, json=json, headers=self.headers, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):
        return self.client.patch(path, json=json, headers=self.headers, **kwargs)


def new_key() -> str:
    return str(uuid.uuid4())


def sign_up(client: TestClient, role: str = "customer", email: str | None = None) -> Actor:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    return log_in(client, email)


def log_in(
    client: TestClient, email: str, password: str = PASSWORD, mfa_secret: str | None = None
) -> Actor:
    """Sign in; with `mfa_secret`, the second step too (a code of the next time step, so
    it is not one just used)."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    if mfa_secret is not None:
        assert response.status_code == 401, response.text
        response = client.post(
            "/api/v1/auth/login/mfa",
            json={"mfa_ticket": response.json()["mfa_ticket"], "code": next_code(mfa_secret)},
        )
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = client.get("/api/v1/me", headers=headers).json()
    return Actor(client, me["id"], email, headers)


def next_code(secret: str) -> str:
    """The authenticator app's code for the next 30 seconds (accepted now: clocks drift)."""
    import time

    import pyotp

    return pyotp.TOTP(secret).at(time.time() + 30)


def emailed_code(client: TestClient, user_id: str, kind: str) -> str:
    """The one-time code of the latest account mail of `kind` to the user, read from the
    outbox before it is sent (tests/e2e read it from a real SMTP server instead)."""
    import re

    from sqlalchemy import select

    from server.notifications import Notification

    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        body = session.scalars(
            select(Notification.body_text)
            .where(Notification.user_id == user_id, Notification.kind == kind)
            .order_by(Notification.id.desc())
        ).first()
    assert body is not None, f"no {kind} message in the outbox"
    found = re.search(r"Your code is ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", body)
    assert found is not None, body
    return found.group(1)


def verify_email(actor: Actor) -> None:
    """Confirm the actor's email with the code sent to it at sign-up."""
    code = emailed_code(actor.client, actor.id, "email_verification")
    response = actor.client.post("/api/v1/auth/verify-email", json={"code": code})
    assert response.status_code == 200, response.text


def make_admin(client: TestClient) -> Actor:
    """An admin, signed in with two-step sign-in (which admins must use): a customer made
    admin in the database, its email confirmed, enrolled through the API."""
    from server.accounts.models import Role, User

    actor = sign_up(client, "customer")
    verify_email(actor)
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        session.get_one(User, actor.id).role = Role.ADMIN
        session.commit()
    secret = actor.post("/api/v1/me/mfa").json()["secret"]
    confirmed = actor.post("/api/v1/me/mfa/confirm", {"code": current_code(secret)})
    assert confirmed.status_code == 200, confirmed.text
    return log_in(client, actor.email, mfa_secret=secret)


def current_code(secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).now()


@dataclass
class Shop:
    """A vendor with a business, and a cashier who works there."""

    owner: Actor
    cashier: Actor
    business_id: str

    def redeem(
        self,
        amount: int,
        *,
        token: str | None = None,
        card_id: str | None = None,
        key: str | None = None,
        by: Actor | None = None,
    ):
        body: dict[str, Any] = {"amount_minor": amount}
        body.update({"token": token} if token else {"card_id": card_id})
        return (by or self.cashier).post(
            f"/api/v1/businesses/{self.business_id}/redemptions", body, key=key or new_key()
        )


def open_shop(client: TestClient, name: str = "Corner Café", currency: str = "GBP") -> Shop:
    owner = sign_up(client, "vendor")
    response = owner.post(
        "/api/v1/businesses", {"name": name, "category": "cafe", "currency": currency}
    )
    assert response.status_code == 201, response.text
    business_id = response.json()["id"]
    cashier_email = f"till-{uuid.uuid4().hex[:8]}@example.com"
    response = owner.post(
        f"/api/v1/businesses/{business_id}/staff", {"email": cashier_email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return Shop(owner, log_in(client, cashier_email), business_id)


def buy_card(
    customer: Actor, shop: Shop, amount: int, card_number: str = APPROVE, key: str | None = None
):
    return customer.post(
        f"/api/v1/businesses/{shop.business_id}/gift-cards",
        {"amount_minor": amount, "payment": {"card_number": card_number}},
        key=key or new_key(),
    )


def create_deal(shop: Shop, **changes: Any):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    body = {
        "title": "Two coffees for one",
        "original_price_minor": 680,
        "deal_price_minor": 340,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        **changes,
    }
    return shop.owner.post(f"/api/v1/businesses/{shop.business_id}/deals", body)


def buy_voucher(customer: Actor, deal_id: str, card_number: str = APPROVE, key: str | None = None):
    return customer.post(
        f"/api/v1/deals/{deal_id}/vouchers",
        {"payment": {"card_number": card_number}},
        key=key or new_key(),
    )
