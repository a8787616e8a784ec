"""Fraud rules as data: each kind of rule blocks when enforced, opens a review when it
reviews, only records in shadow mode, and never refuses a redemption a terminal pushed."""

from __future__ import annotations

from typing import Any

import pytest

from sync.client import ServerRefusedError
from tests.server.api import (
    PASSWORD,
    Actor,
    buy_card,
    log_in,
    make_admin,
    new_key,
    open_shop,
    sign_up,
)
from tests.server.test_sync_push import Terminal

RULES = "/api/v1/admin/fraud/rules"
FRAUD_BLOCKED = "https://tillpoint.dev/problems/fraud-blocked"
OTHER_CARD = "5555 5555 5555 4444"


@pytest.fixture
def admin(client, sessions) -> Actor:
    """An admin, with the default rules switched off so each test sees only its own."""
    admin = make_admin(client)
    for rule in admin.get(RULES, params={"limit": 100}).json()["items"]:
        assert (
            admin.client.patch(
                f"{RULES}/{rule['id']}", json={"enabled": False}, headers=admin.headers
            ).status_code
            == 200
        )
    return admin


def add_rule(admin: Actor, **rule) -> Any:
    body = {"name": "rule under test", "mode": "enforced", **rule}
    response = admin.post(RULES, body)
    assert response.status_code == 201, response.text
    return response.json()


def decisions(admin: Actor, rule: Any) -> Any:
    return admin.get("/api/v1/admin/fraud/decisions", params={"rule_id": rule["id"]}).json()[
        "items"
    ]


def reviews(shop, status: str | None = None) -> Any:
    params = {"status": status} if status else {}
    path = f"/api/v1/businesses/{shop.business_id}/fraud/reviews"
    return shop.owner.get(path, params=params).json()["items"]


def assert_blocked(response) -> None:
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"] == FRAUD_BLOCKED
    assert "rule" not in problem["detail"]  # nothing of the rule's internals
    assert problem["reference"]


# -- purchases per payment card --------------------------------------------------------------


def per_payment_card(admin, action="block", mode="enforced"):
    return add_rule(
        admin,
        subject="payment_card",
        event="purchase",
        window_seconds=86_400,
        max_count=2,
        action=action,
        mode=mode,
    )


def test_an_enforced_block_refuses_the_purchase_past_the_limit_and_records_why(
    admin, client, shop, customer
):
    rule = per_payment_card(admin)
    for _ in range(2):
        assert buy_card(customer, shop, 1000).status_code == 201
    assert_blocked(buy_card(customer, shop, 1000))
    assert (
        len(customer.get("/api/v1/me/gift-cards").json()["items"]) == 2
    )  # nothing charged or issued
    latest = decisions(admin, rule)
    assert [d["action"] for d in latest] == ["block", "allow", "allow"]
    flagged = admin.get(
        "/api/v1/admin/fraud/decisions", params={"rule_id": rule["id"], "flagged": True, "limit": 1}
    ).json()
    assert ([d["action"] for d in flagged["items"]], flagged["total"]) == (["block"], 1)
    older = admin.get(
        "/api/v1/admin/fraud/decisions", params={"rule_id": rule["id"], "offset": 1, "limit": 1}
    ).json()
    assert ([d["action"] for d in older["items"]], older["total"], older["next_offset"]) == (
        ["allow"],
        3,
        2,
    )
    assert (latest[0]["inputs"]["count"], latest[0]["mode"]) == (3, "enforced")
    # Blocked attempts keep counting, and another payment card is another subject.
    assert_blocked(buy_card(customer, shop, 1000))
    assert buy_card(customer, shop, 1000, card_number=OTHER_CARD).status_code == 201


def test_a_blocked_purchase_is_refused_again_when_retried_with_its_key(admin, shop, customer):
    per_payment_card(admin)
    for _ in range(2):
        buy_card(customer, shop, 1000)
    key = new_key()
    assert_blocked(buy_card(customer, shop, 1000, key=key))
    assert_blocked(buy_card(customer, shop, 1000, key=key))


def test_a_rule_in_shadow_mode_records_but_allows(admin, shop, customer):
    rule = per_payment_card(admin, mode="shadow")
    for _ in range(3):
        assert buy_card(customer, shop, 1000).status_code == 201
    latest = decisions(admin, rule)[0]
    assert (latest["action"], latest["mode"]) == ("block", "shadow")
    assert reviews(shop) == []


def test_an_amount_limit_per_payment_card(admin, shop, customer):
    add_rule(
        admin,
        subject="payment_card",
        event="purchase",
        window_seconds=86_400,
        max_amount_minor=5_000,
        currency="GBP",
        action="block",
    )
    assert buy_card(customer, shop, 4_000).status_code == 201
    assert_blocked(buy_card(customer, shop, 1_500))
    assert buy_card(customer, shop, 1_000).status_code == 201  # £50 exactly is allowed


# -- distinct payment cards per customer: review ---------------------------------------------


def test_a_review_allows_the_purchase_and_opens_one_review_the_vendor_resolves(
    admin, shop, customer
):
    add_rule(
        admin,
        subject="customer",
        event="purchase",
        counting="distinct_payment_cards",
        window_seconds=86_400,
        max_count=1,
        action="review",
    )
    assert buy_card(customer, shop, 1000).status_code == 201
    assert buy_card(customer, shop, 1000).status_code == 201  # the same payment card
    assert reviews(shop) == []
    assert buy_card(customer, shop, 1000, card_number=OTHER_CARD).status_code == 201
    assert buy_card(customer, shop, 1000, card_number=OTHER_CARD).status_code == 201
    (review,) = reviews(shop, "open")
    assert (review["subject"], review["subject_key"], review["hits"]) == (
        "customer",
        customer.id,
        2,
    )
    assert "2 different payment cards" in review["reason"]
    path = f"/api/v1/businesses/{shop.business_id}/fraud/reviews/{review['id']}/resolve"
    resolved = shop.owner.post(path, {"status": "cleared", "resolution": "a family's cards"})
    assert resolved.json()["status"] == "cleared"
    assert reviews(shop, "open") == []
    # Another business's owner neither sees nor resolves it; the admin sees it.
    other = open_shop(admin.client, "Elsewhere")
    assert reviews(other) == []
    stranger = f"/api/v1/businesses/{other.business_id}/fraud/reviews/{review['id']}/resolve"
    assert other.owner.post(stranger, {"status": "confirmed", "resolution": "x"}).status_code == 404
    assert [r["id"] for r in admin.get("/api/v1/admin/fraud/reviews").json()["items"]] == [
        review["id"]
    ]


# -- redemption attempts per card (online) ---------------------------------------------------


def test_redemption_attempts_per_card_are_blocked_past_the_limit(admin, client, shop, customer):
    add_rule(
        admin,
        subject="card",
        event="redemption_online",
        window_seconds=600,
        max_count=2,
        action="block",
    )
    card = buy_card(customer, shop, 1000).json()
    for _ in range(2):
        assert shop.redeem(100, card_id=card["id"]).status_code == 200
    assert_blocked(shop.redeem(100, card_id=card["id"]))
    balance = customer.get(f"/api/v1/gift-cards/{card['id']}").json()["balance"]["minor"]
    assert balance == 800
    till = Terminal(client, shop)
    with pytest.raises(ServerRefusedError) as refused:
        till.api.redeem_online(card["token"], 100, new_key())  # every till, every channel
    assert refused.value.kind == "fraud-blocked"


def test_a_card_redeemed_far_past_its_limit_is_reviewed_on_each_sale_past_it(admin, shop, customer):
    """The window is read only as far as the limit (a busy card's holds thousands of rows):
    the rule still fires from the first sale past it, on every one after, and the review
    says how far it went without a count it did not make."""
    add_rule(
        admin,
        subject="card",
        event="redemption_online",
        window_seconds=600,
        max_count=2,
        action="review",
    )
    card = buy_card(customer, shop, 1000).json()
    hits = []
    for _ in range(6):
        assert shop.redeem(100, card_id=card["id"]).status_code == 200
        hits.append(sum(review["hits"] for review in reviews(shop, "open")))
    assert hits == [0, 0, 1, 2, 3, 4]
    (review,) = reviews(shop, "open")
    assert "more than 2 online redemptions of card" in review["reason"]


# -- failed code lookups per terminal --------------------------------------------------------


def test_failed_code_lookups_stop_the_till_after_the_limit(admin, client, shop, customer):
    add_rule(
        admin,
        subject="terminal",
        event="code_lookup",
        counting="failures",
        window_seconds=300,
        max_count=2,
        action="block",
    )
    card = buy_card(customer, shop, 1000).json()
    for _ in range(3):  # lookups that found their card are not failures
        assert shop.redeem(100, card_id=card["id"]).status_code == 200
    for _ in range(2):
        assert shop.redeem(100, card_id="nosuchcard1").status_code == 404
    assert_blocked(shop.redeem(100, card_id=card["id"]))  # even a good code now
    other_till = open_shop(client).cashier  # another till is not stopped
    assert other_till.id != shop.cashier.id
    owner_till = shop.redeem(100, card_id=card["id"], by=shop.owner)
    assert owner_till.status_code == 200


def test_failed_lookups_by_a_paired_terminal_are_counted_per_terminal(admin, client, shop):
    add_rule(
        admin,
        subject="terminal",
        event="code_lookup",
        counting="failures",
        window_seconds=300,
        max_count=1,
        action="block",
    )
    till = Terminal(client, shop)
    with pytest.raises(ServerRefusedError) as first:
        till.api.redeem_online("not a code", 100, new_key())
    assert first.value.kind != "fraud-blocked"
    with pytest.raises(ServerRefusedError) as second:
        till.api.redeem_online("not a code", 100, new_key())
    assert second.value.kind == "fraud-blocked"


# -- redemptions pushed by a terminal: flagged, never refused --------------------------------


@pytest.mark.parametrize("action", ["block", "review"])
def test_a_pushed_redemption_past_the_limit_is_recorded_and_flagged(
    admin, client, shop, customer, action
):
    add_rule(
        admin,
        subject="card",
        event="redemption_pushed",
        window_seconds=600,
        max_count=1,
        action=action,
    )
    card = buy_card(customer, shop, 1000).json()
    till = Terminal(client, shop)
    first = till.event(card_id=card["id"], amount_minor=100)
    second = till.event(card_id=card["id"], amount_minor=100)
    statuses = [status for status, _ in till.push(first, second)]
    incidents = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/incidents").json()["items"]
    if action == "block":
        assert statuses == ["applied", "applied_with_incident"]
        assert [i["kind"] for i in incidents] == ["fraud_flagged"]
    else:
        assert statuses == ["applied", "applied"]
        assert incidents == []
    balance = customer.get(f"/api/v1/gift-cards/{card['id']}").json()["balance"]["minor"]
    assert balance == 800  # both recorded
    (review,) = reviews(shop, "open")
    assert review["event"] == "redemption_pushed"


# -- transfers per card ----------------------------------------------------------------------


def test_transfers_per_card_are_blocked_past_the_limit(admin, shop, customer):
    add_rule(
        admin, subject="card", event="transfer", window_seconds=3600, max_count=1, action="block"
    )
    source = buy_card(customer, shop, 1000).json()
    target = buy_card(customer, shop, 1000).json()
    path = f"/api/v1/gift-cards/{source['id']}/transfers"
    body = {"to_card_id": target["id"], "amount_minor": 100}
    assert customer.post(path, body, key=new_key()).status_code == 200
    assert_blocked(customer.post(path, body, key=new_key()))
    balance = customer.get(f"/api/v1/gift-cards/{source['id']}").json()["balance"]["minor"]
    assert balance == 900


# -- sign-ins per address --------------------------------------------------------------------


def test_sign_ins_per_address_are_blocked_past_the_limit_and_the_block_is_recorded(admin, client):
    rule = add_rule(
        admin,
        subject="address",
        event="login",
        window_seconds=600,
        max_count=10**6,
        action="block",
    )
    user = sign_up(client, "customer")
    seen = decisions(admin, rule)[0]["inputs"]["count"]  # every test client shares an address
    path = f"{RULES}/{rule['id']}"
    admin.client.patch(path, json={"max_count": seen + 1}, headers=admin.headers)
    assert log_in(client, user.email)  # the limit itself is allowed
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert_blocked(response)
    latest = decisions(admin, rule)[0]  # kept though the request was refused
    assert (latest["action"], latest["inputs"]["count"]) == ("block", seen + 2)


# -- devices and new-device notices ----------------------------------------------------------


def sign_in_from(client, email: str, install_id: str) -> Actor:
    response = client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Install-Id": install_id, "User-Agent": "TillpointApp/1.0"},
    )
    assert response.status_code == 200, response.text
    return Actor(client, "", email, {"Authorization": f"Bearer {response.json()['access_token']}"})


def test_an_owner_signing_in_from_a_new_device_is_told(client, shop):
    owner = sign_in_from(client, shop.owner.email, "phone-1")
    assert (
        len(owner.get("/api/v1/me/sign-in-notices").json()["items"]) == 1
    )  # new after the signup's
    sign_in_from(client, shop.owner.email, "phone-1")
    assert len(owner.get("/api/v1/me/sign-in-notices").json()["items"]) == 1  # a known device
    sign_in_from(client, shop.owner.email, "phone-2")
    notices = owner.get("/api/v1/me/sign-in-notices").json()["items"]
    assert len(notices) == 2
    assert "new device" in notices[0]["detail"]
    devices = owner.get("/api/v1/me/devices").json()["items"]
    assert {d["install_id"] for d in devices} == {None, "phone-1", "phone-2"}


def test_devices_and_notices_answer_a_page_newest_first(client, shop):
    owner = sign_in_from(client, shop.owner.email, "phone-1")
    sign_in_from(client, shop.owner.email, "phone-2")
    sign_in_from(client, shop.owner.email, "phone-3")
    devices = owner.get("/api/v1/me/devices").json()
    assert [d["install_id"] for d in devices["items"]] == ["phone-3", "phone-2", "phone-1", None]
    notices = owner.get("/api/v1/me/sign-in-notices").json()
    assert len(notices["items"]) == notices["total"] == 3
    for path, whole in (("devices", devices), ("sign-in-notices", notices)):
        first = owner.get(f"/api/v1/me/{path}", params={"limit": 2}).json()
        assert (first["items"], first["total"], first["next_offset"]) == (
            whole["items"][:2],
            whole["total"],
            2,
        )
        rest = owner.get(f"/api/v1/me/{path}", params={"offset": 2, "limit": 2}).json()
        assert (rest["items"], rest["total"], rest["next_offset"]) == (
            whole["items"][2:],
            whole["total"],
            None,
        )


def test_a_customer_on_a_new_device_gets_no_owner_notice(client, customer):
    signed_in = sign_in_from(client, customer.email, "phone-1")
    assert signed_in.get("/api/v1/me/sign-in-notices").json()["items"] == []
    assert len(signed_in.get("/api/v1/me/devices").json()["items"]) == 2


# -- the rules themselves --------------------------------------------------------------------


def test_only_admins_manage_rules_and_rules_must_make_sense(admin, shop):
    assert shop.owner.get(RULES).status_code == 403
    assert shop.owner.post(RULES, {}).status_code in (403, 422)
    base = {"subject": "card", "event": "transfer", "window_seconds": 60, "action": "block"}
    assert admin.post(RULES, {**base, "name": "no limit"}).status_code == 422
    amount_without_currency = {**base, "name": "x", "max_amount_minor": 5}
    assert admin.post(RULES, amount_without_currency).status_code == 422
    rule = add_rule(admin, **base, max_count=3)
    assert rule["mode"] == "enforced"
    assert admin.post(RULES, {**base, "name": rule["name"], "max_count": 1}).status_code == 409
    patched = admin.client.patch(
        f"{RULES}/{rule['id']}", json={"max_count": None}, headers=admin.headers
    )
    assert patched.status_code == 422
    patched = admin.client.patch(
        f"{RULES}/{rule['id']}", json={"mode": "shadow"}, headers=admin.headers
    )
    assert patched.json()["mode"] == "shadow"


def test_a_new_database_starts_with_the_default_rules(client, sessions):
    from server.fraud.defaults import DEFAULT_RULES
    from server.fraud.models import FraudRule

    with sessions() as session:
        names = {r.name for r in session.query(FraudRule)}
    assert names == {r.name for r in DEFAULT_RULES}


# -- a business's own rules ------------------------------------------------------------------


def own_rules(shop) -> str:
    return f"/api/v1/businesses/{shop.business_id}/fraud/rules"


def one_purchase_a_day(**changes) -> dict[str, Any]:
    return {
        "name": "one purchase a day",
        "subject": "customer",
        "event": "purchase",
        "window_seconds": 86_400,
        "max_count": 1,
        "action": "block",
        "mode": "enforced",
        **changes,
    }


def test_a_business_s_own_rule_counts_and_applies_only_there(admin, client, shop, customer):
    elsewhere = open_shop(client, "Elsewhere")
    created = shop.owner.post(own_rules(shop), one_purchase_a_day())
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["business_id"] == shop.business_id
    # A purchase elsewhere is not counted by this business's rule ...
    assert buy_card(customer, elsewhere, 1000).status_code == 201
    assert buy_card(customer, shop, 1000).status_code == 201
    assert_blocked(buy_card(customer, shop, 1000))
    # ... and the rule does not apply elsewhere.
    assert buy_card(customer, elsewhere, 1000).status_code == 201
    latest = decisions(admin, rule)
    assert [(d["action"], d["business_id"]) for d in latest] == [
        ("block", shop.business_id),
        ("allow", shop.business_id),
    ]
    # The platform's rules still apply at the business alongside its own.
    per_payment_card(admin)
    assert_blocked(buy_card(sign_up(client), elsewhere, 1000))


def test_an_owner_manages_only_their_own_business_s_rules(admin, client, shop):
    rule = shop.owner.post(own_rules(shop), one_purchase_a_day()).json()
    rival = open_shop(client, "Rival Café")
    mine = f"{own_rules(shop)}/{rule['id']}"
    assert [r["id"] for r in shop.owner.get(own_rules(shop)).json()["items"]] == [rule["id"]]
    # Another owner can neither see, add to, nor change them ...
    assert rival.owner.get(own_rules(shop)).status_code == 403
    assert rival.owner.post(own_rules(shop), one_purchase_a_day(name="x")).status_code == 403
    change = {"enabled": False}
    assert rival.owner.client.patch(mine, json=change, headers=rival.owner.headers).status_code == (
        403
    )
    through_own = f"{own_rules(rival)}/{rule['id']}"
    response = rival.owner.client.patch(through_own, json=change, headers=rival.owner.headers)
    assert response.status_code == 404
    assert response.json()["type"].endswith("/fraud-rule-not-found")
    assert rival.owner.get(own_rules(rival)).json()["items"] == []
    # ... nor can the business's cashier.
    assert shop.cashier.get(own_rules(shop)).status_code == 403
    # The platform's list is the platform's rules; a business's rule is not one of them.
    assert rule["id"] not in [r["id"] for r in admin.get(RULES).json()["items"]]
    response = admin.client.patch(f"{RULES}/{rule['id']}", json=change, headers=admin.headers)
    assert response.status_code == 404
    # The owner changes it; it is still enabled for nobody else to see.
    response = shop.owner.client.patch(mine, json=change, headers=shop.owner.headers)
    assert (response.status_code, response.json()["enabled"]) == (200, False)


def test_rule_names_are_unique_per_owner_and_sign_ins_are_the_platform_s(admin, client, shop):
    platform = add_rule(admin, **one_purchase_a_day())
    assert shop.owner.post(own_rules(shop), one_purchase_a_day()).status_code == 201
    again = shop.owner.post(own_rules(shop), one_purchase_a_day())
    assert again.status_code == 409
    assert again.json()["type"].endswith("/fraud-rule-name-taken")
    rival = open_shop(client, "Rival Café")
    assert rival.owner.post(own_rules(rival), one_purchase_a_day()).status_code == 201
    assert admin.post(RULES, one_purchase_a_day()).status_code == 409
    assert platform["business_id"] is None
    login = one_purchase_a_day(name="sign-ins", subject="address", event="login")
    response = shop.owner.post(own_rules(shop), login)
    assert response.status_code == 422
    assert "Sign-ins" in response.json()["detail"]


@pytest.mark.parametrize("whose", ["platform", "business"])
def test_one_rule_created_at_once_by_many_gives_one_rule(admin, shop, sessions, whose):
    from server.fraud.models import FraudRule
    from tests.server.test_input_limits import at_once

    actor, path = (admin, RULES) if whose == "platform" else (shop.owner, own_rules(shop))
    body = one_purchase_a_day(name="raced")
    responses = at_once(6, lambda _: actor.post(path, body))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [
        r.text for r in responses
    ]
    with sessions() as session:
        assert session.query(FraudRule).filter_by(name="raced").count() == 1


@pytest.mark.parametrize("field", ["name", "window_seconds", "action", "mode", "enabled"])
def test_a_rule_s_required_values_cannot_be_cleared(shop, field):
    rule = shop.owner.post(own_rules(shop), one_purchase_a_day()).json()
    path = f"{own_rules(shop)}/{rule['id']}"
    response = shop.owner.client.patch(path, json={field: None}, headers=shop.owner.headers)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert shop.owner.get(own_rules(shop)).json()["items"] == [rule]
