"""What the vendor audit found in fraud rules and reviews: a closed review is not resolved
again differently, a rule's PATCH refuses what it cannot change, a rule that could never
fire is refused saying why, names are trimmed, and a review's reason reads as English."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.server.api import Actor, Shop, buy_card, make_admin, sign_up

RULES = "/api/v1/admin/fraud/rules"
OTHER_CARD = "5555 5555 5555 4444"
CLOSED = "https://tillpoint.dev/problems/fraud-review-closed"
NEVER_FIRES = "https://tillpoint.dev/problems/fraud-rule-never-fires"


@pytest.fixture
def admin(client) -> Actor:
    """An admin, with the default rules switched off so each test sees only its own."""
    admin = make_admin(client)
    for rule in admin.get(RULES, params={"limit": 100}).json()["items"]:
        path = f"{RULES}/{rule['id']}"
        assert admin.client.patch(path, json={"enabled": False}, headers=admin.headers).is_success
    return admin


def own_rules(shop: Shop) -> str:
    return f"/api/v1/businesses/{shop.business_id}/fraud/rules"


def one_purchase_a_day(**changes: Any) -> dict[str, Any]:
    return {
        "name": "one purchase a day",
        "subject": "customer",
        "event": "purchase",
        "window_seconds": 86_400,
        "max_count": 1,
        "action": "review",
        "mode": "enforced",
        **changes,
    }


def _patch(actor: Actor, path: str, body: dict[str, Any]) -> Any:
    return actor.client.patch(path, json=body, headers=actor.headers)


def _fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


# -- a closed review (finding 6) ----------------------------------------------------------------


@pytest.fixture
def review(admin, client, shop) -> dict[str, Any]:
    """An open review at the shop: a customer paying with two payment cards in a day."""
    admin.post(
        RULES,
        one_purchase_a_day(name="many payment cards", counting="distinct_payment_cards"),
    )
    customer = sign_up(client, "customer")
    assert buy_card(customer, shop, 1_000).status_code == 201
    assert buy_card(customer, shop, 1_000, card_number=OTHER_CARD).status_code == 201
    [found] = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/fraud/reviews").json()["items"]
    assert found["status"] == "open"
    return dict(found)


def _resolve_path(shop: Shop, review: dict[str, Any]) -> str:
    return f"/api/v1/businesses/{shop.business_id}/fraud/reviews/{review['id']}/resolve"


def _shown(shop: Shop, review: dict[str, Any]) -> dict[str, Any]:
    items = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/fraud/reviews").json()["items"]
    [found] = [r for r in items if r["id"] == review["id"]]
    return dict(found)


@pytest.mark.parametrize(
    "again",
    [
        {"status": "confirmed", "resolution": "changed my mind"},
        {"status": "cleared", "resolution": "other words"},
        {"status": "confirmed", "resolution": "a family's cards"},
    ],
)
def test_a_closed_review_is_not_resolved_again_differently(shop, review, again):
    path = _resolve_path(shop, review)
    first = shop.owner.post(path, {"status": "cleared", "resolution": "a family's cards"})
    assert first.status_code == 200, first.text
    closed = first.json()

    refused = shop.owner.post(path, again)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"] == CLOSED
    assert "already resolved" in problem["detail"]
    assert "cleared" in problem["detail"]
    assert "a family's cards" in problem["detail"]
    assert _shown(shop, review) == closed


def test_an_admin_cannot_resolve_a_review_its_owner_closed_differently(admin, shop, review):
    shop.owner.post(_resolve_path(shop, review), {"status": "cleared", "resolution": "known"})
    path = f"/api/v1/admin/fraud/reviews/{review['id']}/resolve"
    refused = admin.post(path, {"status": "confirmed", "resolution": "it was fraud"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == CLOSED
    assert _shown(shop, review)["status"] == "cleared"


def test_the_same_resolution_sent_again_answers_the_review_as_it_stands(shop, review):
    path = _resolve_path(shop, review)
    body = {"status": "confirmed", "resolution": "stolen cards"}
    first = shop.owner.post(path, body)
    again = shop.owner.post(path, body)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()


@pytest.mark.parametrize("resolution", ["", "   "])
def test_a_resolution_says_what_was_done(shop, review, resolution):
    path = _resolve_path(shop, review)
    refused = shop.owner.post(path, {"status": "cleared", "resolution": resolution})
    assert refused.status_code == 422, refused.text
    assert _fields(refused) == ["body.resolution"]
    missing = shop.owner.post(path, {"status": "cleared"})
    assert missing.status_code == 422
    assert _fields(missing) == ["body.resolution"]
    assert _shown(shop, review)["status"] == "open"


# -- a rule's PATCH refuses what it does not have or cannot change (finding 7) ------------------


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "card"},
        {"event": "transfer"},
        {"counting": "failures"},
        {"foo": 1},
        {"business_id": None},
        {"id": "somethingel"},
    ],
)
def test_a_rule_s_patch_refuses_a_field_it_cannot_change(admin, shop, change):
    rule = shop.owner.post(own_rules(shop), one_purchase_a_day()).json()
    [field] = change
    for actor, path in (
        (shop.owner, f"{own_rules(shop)}/{rule['id']}"),
        (admin, f"{RULES}/{admin.post(RULES, one_purchase_a_day()).json()['id']}"),
    ):
        response = _patch(actor, path, change)
        assert response.status_code == 422, response.text
        assert _fields(response) == [f"body.{field}"]
    assert shop.owner.get(own_rules(shop)).json()["items"] == [rule]


# -- rules that could never fire, and names (finding 8) -------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (
            {"max_count": None, "max_amount_minor": 500, "currency": "EUR"},
            "body.currency",
            "sells in GBP",
        ),
        (
            {"subject": "card", "event": "redemption_online", "counting": "distinct_payment_cards"},
            "body.counting",
            "only purchases carry a payment card",
        ),
        ({"counting": "failures"}, "body.counting", "only code lookups fail"),
        (
            {"subject": "payment_card", "event": "transfer"},
            "body.subject",
            "only purchases carry a payment card",
        ),
        (
            {
                "subject": "terminal",
                "event": "code_lookup",
                "max_amount_minor": 500,
                "currency": "GBP",
            },
            "body.max_amount_minor",
            "code lookups carry no amount",
        ),
    ],
)
def test_a_rule_that_could_never_fire_is_refused_saying_why(shop, body, field, says):
    response = shop.owner.post(own_rules(shop), one_purchase_a_day(**body))
    assert response.status_code == 422, response.text
    assert response.json()["type"] == NEVER_FIRES
    assert _fields(response) == [field]
    assert says in response.json()["detail"]
    assert shop.owner.get(own_rules(shop)).json()["items"] == []


def test_a_platform_rule_that_could_never_fire_is_refused_too(admin):
    body = one_purchase_a_day(event="transfer", subject="card", counting="failures")
    response = admin.post(RULES, body)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == NEVER_FIRES


def test_a_change_that_makes_a_rule_never_fire_is_refused(shop):
    rule = shop.owner.post(
        own_rules(shop), one_purchase_a_day(max_amount_minor=900, currency="GBP")
    )
    path = f"{own_rules(shop)}/{rule.json()['id']}"
    response = _patch(shop.owner, path, {"currency": "EUR"})
    assert response.status_code == 422, response.text
    assert response.json()["type"] == NEVER_FIRES
    assert shop.owner.get(own_rules(shop)).json()["items"] == [rule.json()]


def test_rule_names_are_trimmed_so_they_stay_unique(admin, shop):
    created = shop.owner.post(own_rules(shop), one_purchase_a_day(name="  two a day  "))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "two a day"
    again = shop.owner.post(own_rules(shop), one_purchase_a_day(name="two a day"))
    assert again.status_code == 409
    other = shop.owner.post(own_rules(shop), one_purchase_a_day(name="other"))
    renamed = _patch(shop.owner, f"{own_rules(shop)}/{other.json()['id']}", {"name": " two a day"})
    assert renamed.status_code == 409
    blank = shop.owner.post(own_rules(shop), one_purchase_a_day(name="   "))
    assert blank.status_code == 422
    platform = admin.post(RULES, one_purchase_a_day(name=" spaced "))
    assert platform.json()["name"] == "spaced"


# -- a review's reason in plain English (finding 15) --------------------------------------------


def test_a_review_s_reason_names_the_event_in_plain_english(admin, shop, customer):
    admin.post(
        RULES,
        {
            "name": "redemptions per card",
            "subject": "card",
            "event": "redemption_online",
            "window_seconds": 600,
            "max_count": 1,
            "action": "review",
            "mode": "enforced",
        },
    )
    card = buy_card(customer, shop, 1000).json()
    for _ in range(2):
        assert shop.redeem(100, card_id=card["id"]).status_code == 200
    [review] = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/fraud/reviews").json()[
        "items"
    ]
    assert review["reason"].startswith(f"2 online redemptions of card {card['id']} within")
    assert "onlines" not in review["reason"]


@pytest.mark.parametrize(
    ("event", "counting", "count", "words"),
    [
        ("purchase", "attempts", 1, "1 purchase from address"),
        ("purchase", "attempts", 3, "3 purchases from address"),
        ("redemption_online", "attempts", 2, "2 online redemptions from address"),
        ("redemption_pushed", "attempts", 1, "1 offline redemption from address"),
        ("transfer", "attempts", 4, "4 transfers from address"),
        ("login", "attempts", 5, "5 sign-ins from address"),
        ("code_lookup", "attempts", 2, "2 code lookups from address"),
        ("code_lookup", "failures", 1, "1 failed code lookup from address"),
    ],
)
def test_every_event_reads_as_english(event, counting, count, words):
    from server.fraud import service
    from server.fraud.models import Counting, FraudAction, FraudEvent, FraudSubject, RuleMode

    rule = service.Rule(
        id="r",
        name="rule",
        business_id=None,
        subject=FraudSubject.ADDRESS,
        event=FraudEvent(event),
        counting=Counting(counting),
        window_seconds=60,
        max_count=0,
        max_amount_minor=None,
        currency=None,
        action=FraudAction.REVIEW,
        mode=RuleMode.ENFORCED,
    )

    decided = SimpleNamespace(inputs={"count": count}, subject_key="203.0.113.9")
    reason = service.review_reason(rule, decided)
    assert reason.startswith(f"{words} 203.0.113.9 within 60 seconds"), reason
