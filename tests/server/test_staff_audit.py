"""Staff roles, voids and re-hiring, as the vendor audit found them (docs/till-staff.md):
one role for a staff account at the till and in the API, a PIN change that keeps it, a void
counted under the redemption's cashier, and a removed staff account added back."""

from datetime import UTC, datetime

import pytest

from tests.server.api import PASSWORD, buy_card, log_in, open_shop, sign_up
from tests.server.test_sync_push import Terminal, void

TODAY = datetime.now(UTC).date()


def till_staff(shop, user_id):
    return f"/api/v1/businesses/{shop.business_id}/till-staff/{user_id}"


def staff(shop, user_id=""):
    return f"/api/v1/businesses/{shop.business_id}/staff" + (f"/{user_id}" if user_id else "")


def role_of(shop, user_id):
    (person,) = [p for p in shop.owner.get(staff(shop)).json()["items"] if p["id"] == user_id]
    return person["role"]


def reports(actor, shop, **params):
    path = f"/api/v1/businesses/{shop.business_id}/reports"
    return actor.get(path, params={"from": str(TODAY), "tz": "UTC", **params})


# -- a PIN change without a role keeps the role (#4) ------------------------------------------


def test_a_new_pin_alone_keeps_a_managers_role(shop):
    made = shop.owner.put(till_staff(shop, shop.cashier.id), {"pin": "4826", "role": "manager"})
    assert made.status_code == 200, made.text
    answer = shop.owner.put(till_staff(shop, shop.cashier.id), {"pin": "5937"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "manager"
    assert role_of(shop, shop.cashier.id) == "manager"
    deals = shop.cashier.get(f"/api/v1/businesses/{shop.business_id}/deals")
    assert deals.status_code == 200, deals.text


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_a_first_pin_without_a_role_takes_the_staff_accounts_role(shop, role):
    assert shop.owner.patch(staff(shop, shop.cashier.id), {"role": role}).status_code == 200
    answer = shop.owner.put(till_staff(shop, shop.cashier.id), {"pin": "4826", "name": "Sam"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["role"], answer.json()["name"]) == (role, "Sam")
    assert role_of(shop, shop.cashier.id) == role


def test_the_owners_pin_without_a_role_is_the_owners(shop):
    first = shop.owner.put(till_staff(shop, shop.owner.id), {"pin": "7305"})
    assert first.status_code == 200, first.text
    assert first.json()["role"] == "owner"
    again = shop.owner.put(till_staff(shop, shop.owner.id), {"pin": "5930"})
    assert (again.status_code, again.json()["role"]) == (200, "owner")


def test_the_till_staff_list_shows_each_persons_role_before_any_pin(shop):
    """What the till's Staff screen (F7) fills its form with: a manager made with PATCH
    /staff is not offered as a cashier, so a first PIN set there keeps them a manager."""
    assert shop.owner.patch(staff(shop, shop.cashier.id), {"role": "manager"}).status_code == 200
    people = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/till-staff").json()
    assert [(p["id"], p["role"], p["has_pin"]) for p in people["items"]] == [
        (shop.owner.id, "owner", False),
        (shop.cashier.id, "manager", False),
    ]


# -- one role: reports read the role the rest of the API uses (#5) ------------------------------


def test_a_manager_made_with_patch_staff_sees_the_reports(shop):
    assert reports(shop.cashier, shop).status_code == 403
    assert shop.owner.patch(staff(shop, shop.cashier.id), {"role": "manager"}).status_code == 200
    answer = reports(shop.cashier, shop)
    assert answer.status_code == 200, answer.text


def test_clearing_a_managers_pin_leaves_them_a_manager(shop):
    shop.owner.put(till_staff(shop, shop.cashier.id), {"pin": "4826", "role": "manager"})
    assert shop.owner.delete(till_staff(shop, shop.cashier.id)).status_code == 204
    assert role_of(shop, shop.cashier.id) == "manager"
    answer = reports(shop.cashier, shop)
    assert answer.status_code == 200, answer.text


def test_a_manager_made_a_cashier_loses_the_reports(shop):
    shop.owner.put(till_staff(shop, shop.cashier.id), {"pin": "4826", "role": "manager"})
    assert shop.owner.patch(staff(shop, shop.cashier.id), {"role": "cashier"}).status_code == 200
    refused = reports(shop.cashier, shop)
    assert (refused.status_code, refused.json()["type"]) == (
        403,
        "https://tillpoint.dev/problems/not-a-manager",
    )


def test_both_refusals_of_a_cashier_name_the_same_fix(shop):
    """`manager-only` (deals) and `not-a-manager` (reports) send the cashier to the one call
    that makes a manager, with their own ids in it."""
    listing = shop.cashier.get(f"/api/v1/businesses/{shop.business_id}/deals")
    report = reports(shop.cashier, shop)
    assert listing.json()["type"].endswith("/manager-only")
    assert report.json()["type"].endswith("/not-a-manager")
    fix = (
        f'PATCH /api/v1/businesses/{shop.business_id}/staff/{shop.cashier.id} {{"role": "manager"}}'
    )
    assert fix in listing.json()["detail"]
    assert fix in report.json()["detail"]


# -- a void counts under the redemption's cashier (#9) ------------------------------------------


def by_cashier(shop):
    """Each cashier row's (redeemed, voided), in minor units."""
    answer = reports(shop.owner, shop, group_by="cashier")
    assert answer.status_code == 200, answer.text
    return {
        row["key"]: (
            row["figures"]["redeemed_online"]["amount"]["minor"]
            + row["figures"]["redeemed_offline"]["amount"]["minor"],
            row["figures"]["voids"]["amount"]["minor"],
        )
        for row in answer.json()["rows"]
    }


@pytest.mark.parametrize("voided_by", ["no one", "the owner"])
@pytest.mark.parametrize("sold", ["online", "offline, same push", "offline, pushed before"])
def test_a_void_counts_under_the_cashier_who_made_the_redemption(client, shop, sold, voided_by):
    card = buy_card(sign_up(client), shop, 1000).json()
    till = Terminal(client, shop)
    sam = shop.cashier.id

    def cancel():
        if voided_by == "no one":  # `tillpoint void`: the headless till names no one
            return void(till, card, "s-1", 300)
        return till.event(  # someone else signed in by then: still Sam's sale
            "redemption_void",
            attempt_key="s-1",
            card_id=card["id"],
            amount_minor=300,
            cashier_id=shop.owner.id,
        )

    if sold == "online":
        till.api.redeem_online(card["token"], 300, "s-1", cashier_id=sam)
        assert till.push(cancel()) == [("applied", "")]
    else:
        sale = till.event(card_id=card["id"], amount_minor=300, attempt_key="s-1", cashier_id=sam)
        if sold == "offline, same push":
            assert till.push(sale, cancel()) == [("applied", ""), ("applied", "")]
        else:
            assert till.push(sale) == [("applied", "")]
            assert till.push(cancel()) == [("applied", "")]
    assert by_cashier(shop) == {sam: (300, 300), None: (0, 0)}  # None: the card sold in the app


def test_a_void_of_a_sale_made_with_no_one_signed_in_stays_with_no_cashier(client, shop):
    card = buy_card(sign_up(client), shop, 1000).json()
    till = Terminal(client, shop)
    till.api.redeem_online(card["token"], 300, "s-1")
    cancel = till.event(
        "redemption_void",
        attempt_key="s-1",
        card_id=card["id"],
        amount_minor=300,
        cashier_id=shop.cashier.id,
    )
    assert till.push(cancel) == [("applied", "")]
    assert by_cashier(shop) == {None: (300, 300)}


# -- a removed staff account can be added back (#12) -------------------------------------------


def remove(shop, user_id):
    assert shop.owner.delete(staff(shop, user_id)).status_code == 204


def test_a_removed_staff_member_is_added_back_with_their_own_password(client, shop):
    remove(shop, shop.cashier.id)
    again = shop.owner.post(staff(shop), {"email": shop.cashier.email})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == shop.cashier.id
    person = log_in(client, shop.cashier.email, PASSWORD)  # their password, as it was
    assert person.get("/api/v1/me").json()["businesses"] == [shop.business_id]
    assert role_of(shop, shop.cashier.id) == "cashier"
    people = shop.owner.get(f"/api/v1/businesses/{shop.business_id}/till-staff").json()
    assert [p["has_pin"] for p in people["items"]] == [False, False]  # the PIN went


def test_adding_back_never_changes_the_password(client, shop):
    remove(shop, shop.cashier.id)
    sent = {"email": shop.cashier.email, "password": "the owner's guess 123"}
    assert shop.owner.post(staff(shop), sent).status_code == 200
    refused = client.post(
        "/api/v1/auth/login", json={"email": shop.cashier.email, "password": sent["password"]}
    )
    assert refused.status_code == 401
    log_in(client, shop.cashier.email, PASSWORD)


def test_another_business_may_hire_a_staff_account_that_works_nowhere(client, shop):
    remove(shop, shop.cashier.id)
    other = open_shop(client, "Elsewhere")
    assert other.owner.post(staff(other), {"email": shop.cashier.email}).status_code == 200
    person = log_in(client, shop.cashier.email)
    assert person.get("/api/v1/me").json()["businesses"] == [other.business_id]


@pytest.mark.parametrize("whose", ["a customer", "another business's staff", "an owner"])
def test_an_account_that_is_not_a_free_staff_account_is_never_taken(client, shop, whose):
    other = open_shop(client, "Elsewhere")
    email = {
        "a customer": sign_up(client).email,
        "another business's staff": other.cashier.email,
        "an owner": other.owner.email,
    }[whose]
    refused = shop.owner.post(staff(shop), {"email": email, "password": PASSWORD})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/email-taken")
    # The same words for each: the owner learns nothing about whose account it is.
    assert refused.json()["detail"] == (
        f"{email} already has an account that cannot work for your business: add them with "
        "another email. (Only a staff account that works for no business any more can be "
        "added back with its email.)"
    )
    assert [p["email"] for p in shop.owner.get(staff(shop)).json()["items"]] == [shop.cashier.email]
    assert log_in(client, email).get("/api/v1/me").json()["businesses"] in ([], [other.business_id])


def test_one_of_your_staff_added_again_is_told_so(shop):
    refused = shop.owner.post(staff(shop), {"email": shop.cashier.email, "password": PASSWORD})
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/email-taken")
    assert "already works for this business" in refused.json()["detail"]


def test_a_new_staff_account_still_needs_a_password(shop):
    refused = shop.owner.post(staff(shop), {"email": "new-person@example.com"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.password"
