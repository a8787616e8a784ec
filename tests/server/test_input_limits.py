"""Hostile input on every kind of route (DESIGN.md §12): bounded bodies, text and JSON;
refusals that name the field and store nothing; races on one unique thing; references to
another business's objects."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from server.accounts.models import User
from server.devices.models import OfflineLimits
from server.directory.models import Product
from server.wallet.models import GiftCard
from tests.server.api import PASSWORD, buy_card, create_deal, new_key, open_shop, sign_up

PROBLEMS = "https://tillpoint.dev/problems/"
DEEP: dict[str, Any] = {}
_node = DEEP
for _ in range(500):
    _node["a"] = {}
    _node = _node["a"]


def raw_json(text: str, headers: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments that send `text` as the body unchanged (a lone surrogate escape
    such as \\ud800 survives only this way)."""
    return {"content": text.encode(), "headers": headers | {"Content-Type": "application/json"}}


def fields_of(response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


# -- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [True, "2500", 25.0, "25.00", None])
def test_money_that_is_not_a_whole_number_of_minor_units_is_refused_and_charges_no_one(
    shop, customer, sessions, amount
):
    """A checkbox's `true` or a form's "2500" is a client's bug, not a price: it is refused
    naming the field (it used to buy a 1p card, or a £25 one), and nothing is bought."""
    response = buy_card(customer, shop, amount)
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["body.amount_minor"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GiftCard)) == 0
    redeemed = shop.redeem(amount, card_id="any")
    assert redeemed.status_code == 422
    assert fields_of(redeemed) == ["body.amount_minor"]


# -- bodies that are not JSON, paths that are not there ------------------------------------


def test_a_body_that_is_not_json_is_refused_saying_to_send_json(shop, client):
    response = client.post(
        f"/api/v1/businesses/{shop.business_id}/products",
        **raw_json('{"name": "Tea", price_minor: 1', shop.owner.headers),
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        'The body is not valid JSON: send a JSON object, such as {"name": "…"}.'
    )
    assert fields_of(response) == ["body"]  # not a character's position


def test_a_body_sent_as_a_form_is_refused_saying_to_send_json(shop, client):
    response = client.post(
        f"/api/v1/businesses/{shop.business_id}/products",
        headers=shop.owner.headers,
        data={"name": "Tea", "price_minor": "1"},
    )
    assert response.status_code == 422
    assert "application/x-www-form-urlencoded" in response.json()["detail"]
    assert "Content-Type: application/json" in response.json()["detail"]


def test_text_over_its_length_is_counted_in_characters(shop):
    response = shop.owner.patch(
        f"/api/v1/businesses/{shop.business_id}", {"description": "x" * 2_001}
    )
    assert response.status_code == 422
    assert fields_of(response) == ["body.description"]
    assert response.json()["errors"][0]["message"] == (
        "At most 2000 characters, not 2001: shorten it."
    )


def test_text_under_its_length_is_counted_in_characters(shop):
    branch = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/branches",
        {"name": "Camden", "address": "1 High St", "latitude": 51.5, "longitude": -0.1},
    ).json()
    path = f"/api/v1/businesses/{shop.business_id}/branches/{branch['id']}"
    response = shop.owner.patch(path, {"address": ""})
    assert response.status_code == 422
    assert fields_of(response) == ["body.address"]
    assert response.json()["errors"][0]["message"] == "At least 1 character: it may not be empty."


@pytest.mark.parametrize("path", ["/api/v1/businesses", "/api/v1/deals", "/api/v1/clubs"])
def test_a_point_needs_both_lat_and_lon_and_real_numbers(client, path):
    half = client.get(path, params={"lat": 51.5})
    assert half.status_code == 422
    assert fields_of(half) == ["query.lon"]
    assert "Give both lat and lon" in half.json()["errors"][0]["message"]
    for nonsense in ("nan", "inf", "1e400"):
        refused = client.get(path, params={"lat": nonsense, "lon": 0})
        assert refused.status_code == 422, nonsense
        assert fields_of(refused) == ["query.lat"]
    assert client.get(path, params={"lat": 51.5, "lon": -0.1}).status_code == 200


@pytest.mark.parametrize("sent", ["yes", 1, "false", None])
def test_a_yes_or_no_is_json_true_or_false(shop, sent):
    path = f"/api/v1/businesses/{shop.business_id}/club-donations"
    before = shop.owner.get(path).json()
    refused = shop.owner.client.put(path, json={"allowed": sent}, headers=shop.owner.headers)
    assert refused.status_code == 422
    assert fields_of(refused) == ["body.allowed"]
    assert shop.owner.get(path).json() == before
    taken = shop.owner.client.put(path, json={"allowed": True}, headers=shop.owner.headers)
    assert taken.json()["allowed"] is True


def test_a_misspelt_field_is_refused_and_changes_nothing(client, shop, customer):
    """`anonymus` would have been dropped, and the donor named to every member."""
    card = customer.post(
        f"/api/v1/businesses/{shop.business_id}/gift-cards",
        {"amount_minor": 1000, "payment": {"card_number": "4242424242424242"}, "gift": True},
        key=new_key(),
    )
    assert card.status_code == 422
    assert fields_of(card) == ["body.gift"]
    assert card.json()["errors"][0]["message"] == (
        "This request has no such field: check its spelling against /docs, or leave it out."
    )
    nested = customer.post(
        f"/api/v1/businesses/{shop.business_id}/gift-cards",
        {"amount_minor": 1000, "payment": {"card_number": "4242424242424242", "cvc": "123"}},
        key=new_key(),
    )
    assert fields_of(nested) == ["body.payment.cvc"]
    assert customer.get("/api/v1/me/gift-cards").json()["total"] == 0


def test_every_body_the_api_takes_refuses_fields_it_does_not_have(client):
    """Every request body of the app's own (not the terminals' wire contract, which older and
    newer tills share) forbids extra fields, nested parts too."""
    from fastapi.routing import APIRoute
    from pydantic import BaseModel

    def models(annotation):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield annotation
        for part in getattr(annotation, "__args__", ()):
            yield from models(part)

    lax, seen = [], set()
    todo = [
        (model, f"{sorted(route.methods or ())[0]} {route.path}")
        for route in client.app.routes
        if isinstance(route, APIRoute)
        for param in route.dependant.body_params
        for model in models(param.field_info.annotation)
    ]
    while todo:
        model, where = todo.pop()
        if model in seen or model.__module__.startswith("sync."):
            continue
        seen.add(model)
        if model.model_config.get("extra") != "forbid":
            lax.append(f"{model.__name__} ({where})")
        todo.extend((m, where) for f in model.model_fields.values() for m in models(f.annotation))
    assert len(seen) > 40
    assert lax == []


def test_a_path_or_method_that_is_not_there_says_where_to_look(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        "There is nothing at /api/v1/no-such-thing: see /docs for the API."
    )
    wrong = client.delete("/api/v1/businesses")
    assert wrong.status_code == 405
    assert wrong.json()["detail"].startswith("DELETE is not one of this path's methods (")
    assert "GET" in wrong.json()["detail"]


# -- body size ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_by_its_declared_size(shop, client):
    body = {"name": "Big", "price_minor": 1, "attributes": {"blob": "x" * 2_000}}
    big = json.dumps(body | {"padding": "y" * (2 * 1024 * 1024)})
    response = client.post(
        f"/api/v1/businesses/{shop.business_id}/products",
        headers=shop.owner.headers | {"Content-Type": "application/json"},
        content=big,
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEMS + "body-too-large"
    assert "1048576 bytes" in response.json()["detail"]


def test_a_streamed_body_is_counted_not_trusted(shop, client):
    def chunks():
        yield b'{"name": "Big", "price_minor": 1, "attributes": {"blob": "'
        for _ in range(11):
            yield b"x" * (1024 * 1024)  # 11 MB, with no Content-Length
        yield b'"}}'

    response = client.post(
        f"/api/v1/businesses/{shop.business_id}/products",
        headers=shop.owner.headers | {"Content-Type": "application/json"},
        content=chunks(),
    )
    assert response.status_code == 413
    assert client.get(f"/api/v1/businesses/{shop.business_id}").json()["products"] == []


# -- text fields ----------------------------------------------------------------------------

HOSTILE_TEXT = {
    "nul": "Caf\x00e",
    "escape": "Caf\x1b[2Je",
    "lone surrogate": "Caf\ud800e",
    "over-long": "x" * 10_000,
}


def _route_cases(shop) -> list[tuple[str, str, Callable[[str], dict[str, Any]], str]]:
    """(method, path, body with the hostile text put in, the field that carries it)."""
    b = f"/api/v1/businesses/{shop.business_id}"
    return [
        (
            "post",
            "/api/v1/businesses",
            lambda t: {"name": t, "category": "cafe", "currency": "GBP"},
            "body.name",
        ),
        (
            "post",
            "/api/v1/businesses",
            lambda t: {"name": "A", "category": "cafe", "currency": "GBP", "description": t},
            "body.description",
        ),
        ("post", f"{b}/products", lambda t: {"name": t, "price_minor": 1}, "body.name"),
        (
            "post",
            f"{b}/products",
            lambda t: {"name": "A", "price_minor": 1, "attributes": {"k": t}},
            "body.attributes",
        ),
        (
            "post",
            f"{b}/branches",
            lambda t: {"name": "High St", "address": t, "latitude": 1, "longitude": 1},
            "body.address",
        ),
        (
            "post",
            f"{b}/staff",
            lambda t: {"email": "a@example.com", "password": t + "long enough"},
            "body.password",
        ),
        (
            "post",
            f"{b}/deals",
            lambda t: {
                "title": t,
                "original_price_minor": 2,
                "deal_price_minor": 1,
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-02-01T00:00:00Z",
            },
            "body.title",
        ),
        (
            "post",
            f"{b}/deals",
            lambda t: {
                "title": "A",
                "original_price_minor": 2,
                "deal_price_minor": 1,
                "branch_ids": [t],
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-02-01T00:00:00Z",
            },
            "body.branch_ids.0",
        ),
        ("post", f"{b}/redemptions", lambda t: {"token": t, "amount_minor": 1}, "body.token"),
        ("post", f"{b}/refunds", lambda t: {"card_id": t, "amount_minor": 1}, "body.card_id"),
        (
            "post",
            "/api/v1/auth/login",
            lambda t: {"email": "a@example.com", "password": t},
            "body.password",
        ),
        ("post", "/api/v1/auth/refresh", lambda t: {"refresh_token": t}, "body.refresh_token"),
        (
            "post",
            "/api/v1/devices/pair",
            lambda t: {"code": "ABCD-EFGH", "public_key": "x", "name": t},
            "body.name",
        ),
    ]


@pytest.mark.parametrize("hostile", HOSTILE_TEXT.values(), ids=HOSTILE_TEXT.keys())
def test_hostile_text_is_refused_naming_the_field(shop, client, hostile):
    for method, path, body, field in _route_cases(shop):
        text = json.dumps(body(hostile))  # escapes: \u0000, \ud800 arrive as sent
        headers = shop.owner.headers | {"Idempotency-Key": str(uuid.uuid4())}
        response = client.request(method, path, **raw_json(text, headers))
        assert response.status_code == 422, (path, field, response.text)
        assert response.json()["type"] == PROBLEMS + "invalid-request"
        assert field in fields_of(response), (path, response.json())
        response.content.decode("utf-8")  # the answer itself is valid UTF-8


def test_prose_keeps_newlines_and_tabs_and_names_are_trimmed(shop, client):
    response = shop.owner.post(
        "/api/v1/businesses",
        {
            "name": "  Second Shop  ",
            "category": " bakery ",
            "currency": "GBP",
            "description": "Bread.\n\tCakes.",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Second Shop"
    assert response.json()["category"] == "bakery"
    assert response.json()["description"] == "Bread.\n\tCakes."


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_a_blank_name_is_refused(shop, name):
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/products", {"name": name, "price_minor": 1}
    )
    assert response.status_code == 422
    assert fields_of(response) == ["body.name"]


# -- free-form JSON -------------------------------------------------------------------------

HOSTILE_ATTRIBUTES = {
    "500 deep": DEEP,
    "6 deep": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
    "lone surrogate key": '{"\\ud800": 1}',
    "NUL key": {"a\x00": 1},
    "long key": {"k" * 101: 1},
    "long value": {"k": "v" * 2_001},
    "too large": {f"k{i}": "v" * 1_000 for i in range(20)},
    "NaN": '{"k": NaN}',
    "huge number": '{"k": 1' + "0" * 30 + "}",
}


@pytest.mark.parametrize("attributes", HOSTILE_ATTRIBUTES.values(), ids=HOSTILE_ATTRIBUTES.keys())
def test_hostile_attributes_are_refused_and_nothing_is_stored(shop, client, sessions, attributes):
    inner = attributes if isinstance(attributes, str) else json.dumps(attributes)
    response = client.post(
        f"/api/v1/businesses/{shop.business_id}/products",
        **raw_json(
            '{"name": "Odd", "price_minor": 100, "attributes": ' + inner + "}", shop.owner.headers
        ),
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["body.attributes"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0
    assert client.get(f"/api/v1/businesses/{shop.business_id}").status_code == 200


def test_attributes_within_the_bounds_are_kept(shop):
    attributes = {"size": {"cup": {"ml": 350}}, "vegan": True, "tags": ["hot", "oat"]}
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/products",
        {"name": "Latte", "price_minor": 300, "attributes": attributes},
    )
    assert response.status_code == 201, response.text
    assert response.json()["attributes"] == attributes


def test_a_stored_hostile_value_never_breaks_the_public_page(shop, client, sessions):
    """Rows stored before the limits (or by any other way in) are left out, not served."""
    with sessions() as session:
        for attributes in (DEEP, {"\ud800": 1}, {"k": "v" * 10_000}):
            session.add(
                Product(
                    business_id=shop.business_id,
                    name="Stored",
                    price_minor=100,
                    currency="GBP",
                    attributes=attributes,
                )
            )
        session.commit()
    response = client.get(f"/api/v1/businesses/{shop.business_id}")
    assert response.status_code == 200, response.text
    assert [p["attributes"] for p in response.json()["products"]] == [{}, {}, {}]
    assert client.get("/api/v1/businesses").status_code == 200


# -- opening hours --------------------------------------------------------------------------


def _branch(shop, hours: Any):
    return shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/branches",
        {
            "name": "High St",
            "address": "1 High St",
            "latitude": 51.5,
            "longitude": -0.1,
            "opening_hours": hours,
        },
    )


def test_opening_hours_are_days_of_periods(shop):
    response = _branch(
        shop,
        {
            "mon": [{"opens": "13:30", "closes": "18:00"}, {"opens": "08:00", "closes": "12:30"}],
            "sat": "09:00-13:00",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["opening_hours"] == {
        "mon": [{"opens": "08:00", "closes": "12:30"}, {"opens": "13:30", "closes": "18:00"}],
        "sat": [{"opens": "09:00", "closes": "13:00"}],
    }


@pytest.mark.parametrize(
    "hours",
    [
        {"funday": []},
        {"mon": "all day"},
        {"mon": [{"opens": "18:00", "closes": "08:00"}]},
        {"mon": [{"opens": "25:00", "closes": "26:00"}]},
        {"mon": [{"opens": "08:00", "closes": "12:00"}, {"opens": "11:00", "closes": "14:00"}]},
        {"mon": [{"opens": "08:00", "closes": "09:00", "extra": DEEP}]},
        {"mon": [{"opens": f"0{h}:00", "closes": f"0{h}:30"} for h in range(5)]},
        ["mon"],
    ],
)
def test_opening_hours_out_of_schema_are_refused(shop, hours):
    response = _branch(shop, hours)
    assert response.status_code == 422, response.text
    assert all(f.startswith("body.opening_hours") for f in fields_of(response))


# -- path and query -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/businesses?q=%00",
        "/api/v1/businesses?category=caf%00e",
        "/api/v1/deals?category=%1b",
        "/api/v1/gift-cards/%00",
        "/api/v1/businesses/%00",
        "/api/v1/businesses/a%00b/offline-limits",
        "/api/v1/businesses?q=line%0Abreak",
    ],
)
def test_control_characters_in_the_path_or_query_are_a_4xx(customer, path):
    response = customer.get(path)
    assert 400 <= response.status_code < 500, response.text
    response.content.decode("utf-8")


def test_a_nul_in_the_query_names_the_parameter(client):
    response = client.get("/api/v1/businesses?q=%00")
    assert response.status_code == 422
    assert fields_of(response) == ["query.q"]


# -- one unique thing, asked for at once ----------------------------------------------------


def at_once(n: int, call: Callable[[int], Any]) -> list[Any]:
    """`call(i)` from n threads released together; their results."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_sign_ups_with_one_email_at_once_give_one_account(client, sessions):
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    responses = at_once(
        6,
        lambda _: client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD}),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 5, [r.text for r in responses]
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {
        PROBLEMS + "email-taken"
    }
    with sessions() as session:
        assert session.scalar(select(func.count()).where(User.email == email)) == 1


def test_two_cashiers_with_one_email_at_once_give_one_account(shop):
    email = f"till-{uuid.uuid4().hex[:8]}@example.com"
    responses = at_once(
        6,
        lambda _: shop.owner.post(
            f"/api/v1/businesses/{shop.business_id}/staff", {"email": email, "password": PASSWORD}
        ),
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {
        PROBLEMS + "email-taken"
    }


def test_identical_offline_limits_at_once_for_a_new_business_all_succeed(client, sessions):
    shop = open_shop(client)
    limits = {
        "max_single_minor": 1_000,
        "max_per_card_minor": 2_000,
        "max_unsynced_minor": 9_000,
        "max_cache_age_seconds": 3600,
        "stale_cache_max_minor": 0,
    }
    path = f"/api/v1/businesses/{shop.business_id}/offline-limits"
    responses = at_once(6, lambda _: client.put(path, json=limits, headers=shop.owner.headers))
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert shop.owner.get(path).json() == limits
    with sessions() as session:
        rows = session.scalars(select(OfflineLimits)).all()
    assert [r.business_id for r in rows] == [shop.business_id]


def test_identical_notification_preferences_at_once_all_succeed(customer, sessions):
    from server.notifications.models import NotificationPreference

    change = {"preferences": [{"kind": "low_balance", "channel": "email", "enabled": False}]}
    path = "/api/v1/me/notification-preferences"
    responses = at_once(
        6, lambda _: customer.client.put(path, json=change, headers=customer.headers)
    )
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    low_balance_email = {"kind": "low_balance", "channel": "email", "enabled": False}
    assert (
        low_balance_email.items()
        <= next(
            p
            for p in customer.get(path).json()
            if p["kind"] == "low_balance" and p["channel"] == "email"
        ).items()
    )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotificationPreference)) == 1


def test_one_phone_registered_at_once_by_many_requests_is_one_device(customer, sessions):
    from server.notifications.models import PushDevice

    token = f"fcm-{uuid.uuid4().hex}"
    responses = at_once(6, lambda _: customer.post("/api/v1/me/push-devices", {"token": token}))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    with sessions() as session:
        devices = session.scalars(select(PushDevice)).all()
    assert [(d.token, d.user_id) for d in devices] == [(token, customer.id)]


def test_sign_ins_at_once_from_one_new_device_note_it_once(client, shop, sessions):
    from server.fraud.models import ClientDevice, SignInNotice

    def sign_in(_: int) -> Any:
        body = {"email": shop.owner.email, "password": PASSWORD}
        return client.post("/api/v1/auth/login", json=body, headers={"X-Install-Id": "phone-9"})

    responses = at_once(4, sign_in)
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    with sessions() as session:
        device = session.scalars(
            select(ClientDevice).where(ClientDevice.install_id == "phone-9")
        ).one()
        assert device.sign_ins == 4
        notices = session.scalars(select(SignInNotice).where(SignInNotice.device_id == device.id))
        assert len(notices.all()) == 1


def test_one_exchange_rate_stored_at_once_by_many_requests_is_one_rate(client, sessions):
    from server.billing.models import ExchangeRate
    from tests.server.api import make_admin

    admin = make_admin(client)  # signed in with two-step sign-in, as admins must be
    rate = [{"currency": "EUR", "rate": "0.85", "valid_from": "2026-11-01"}]
    responses = at_once(6, lambda _: admin.post("/api/v1/admin/exchange-rates", rate))
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExchangeRate)) == 1


# -- another business's objects -------------------------------------------------------------


def test_a_deal_at_another_business_branch_is_refused(client, shop, sessions):
    other = open_shop(client, "Rival Café")
    theirs = _branch(other, {}).json()["id"]
    ours = _branch(shop, {}).json()["id"]
    response = create_deal(shop, branch_ids=[ours, theirs])
    assert response.status_code == 404, response.text
    assert response.json()["type"] == PROBLEMS + "branch-not-found"
    assert response.json()["branch_ids"] == [theirs]
    assert create_deal(shop, branch_ids=[ours, ours]).status_code == 201


def test_sign_up_is_refused_once_the_email_exists(client):
    customer = sign_up(client)
    response = client.post(
        "/api/v1/auth/signup", json={"email": customer.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEMS + "email-taken"
