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

    def post(self, path: str, json: Any = None, key: str | None = None, **kwargs: Any):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any):
        return self.client.put(path, json=json, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.client.delete(path, headers=self.headers, **kwargs)


def new_key() -> str:
    return str(uuid.uuid4())


def sign_up(client: TestClient, role: str = "customer", email: str | None = None) -> Actor:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    return log_in(client, email)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> Actor:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = client.get("/api/v1/me", headers=headers).json()
    return Actor(client, me["id"], email, headers)


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
