"""Every route × every role × own/other business: the status each gets.

One world per route: shop A (owner, cashier) sold a card to `holder`; shop B has its own
owner and cashier; `stranger` is another customer; `admin` runs the platform."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.db import utcnow
from server.webhooks.consumer import consume
from sync.client import SyncClient
from sync.wire import public_key_text
from tests.server.api import (
    PASSWORD,
    Actor,
    Shop,
    buy_card,
    buy_voucher,
    create_deal,
    make_admin,
    new_key,
    open_shop,
    sign_up,
)

ACTORS = ["anonymous", "holder", "stranger", "owner_a", "staff_a", "owner_b", "staff_b", "admin"]


@dataclass
class World:
    actors: dict[str, Actor]
    shop: Shop
    card: dict[str, Any]
    spare_card: dict[str, Any]
    deal: dict[str, Any]
    vouchers: list[dict[str, Any]]
    redemption: dict[str, Any]  # of `card`, for refunds
    webhook: dict[str, Any] = field(default_factory=dict)  # shop A's endpoint, when made
    webhook_delivery: str = ""
    club: dict[str, Any] = field(default_factory=dict)  # the holder's club, when founded
    contest: dict[str, Any] = field(default_factory=dict)  # shop A's, when made
    contest_entry: str = ""  # the holder's entry in it

    @property
    def app(self):
        return self.actors["anonymous"].client.app


@pytest.fixture
def settings(settings):
    """A sandbox server: its businesses' test clocks answer (elsewhere they are 403 to all)."""
    return settings.model_copy(update={"sandbox": True})


@pytest.fixture
def world(client, sessions):
    shop_a, shop_b = open_shop(client, "Shop A"), open_shop(client, "Shop B")
    holder = sign_up(client, "customer")
    card = buy_card(holder, shop_a, 10_000).json()
    spare = buy_card(holder, shop_a, 1_000).json()
    redemption = shop_a.redeem(1_000, card_id=card["id"]).json()
    deal = create_deal(shop_a).json()
    vouchers = [buy_voucher(holder, deal["id"]).json() for _ in ACTORS]
    actors = {
        "anonymous": Actor(client, "", "", {}),
        "holder": holder,
        "stranger": sign_up(client, "customer"),
        "owner_a": shop_a.owner,
        "staff_a": shop_a.cashier,
        "owner_b": shop_b.owner,
        "staff_b": shop_b.cashier,
        "admin": make_admin(client),
    }
    return World(actors, shop_a, card, spare, deal, vouchers, redemption)


class Case(NamedTuple):
    """One row of the matrix: a route, a call of it as `actor`, and who gets what status."""

    route: str  # "METHOD /path/{template}", as the app's routes name it
    call: Callable[[World, Actor], Any]
    expected: dict[str, int]


def statuses(world, case):
    answers = {name: case.call(world, actor) for name, actor in world.actors.items()}
    return answered(world, case.route, answers)


def answered(world, route, answers):
    """Each answer's status, once every request is seen to have reached `route`: a row
    cannot name one route and call another."""
    for name, answer in answers.items():
        reached = route_of(world.app, answer.request.method, answer.request.url.path)
        assert (name, reached) == (name, route), answer.request.url
    return {name: answer.status_code for name, answer in answers.items()}


def app_routes(app):
    """Every route of the real app, as "METHOD /path/{template}"."""
    from fastapi.routing import iter_route_contexts

    return {
        f"{method} {route.path}"
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
    }


def route_of(app, method, path):
    """The route the app sends a request to, as "METHOD /path/{template}"."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Match

    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in iter_route_contexts(app.routes):
        if route.matches(scope)[0] is Match.FULL:
            return f"{method} {route.path}"
    return None


def expect(**overrides):
    """Everyone not named gets the default of the first keyword `rest`."""
    rest = overrides.pop("rest")
    return {name: overrides.get(name, rest) for name in ACTORS}


def biz(world):
    return f"/api/v1/businesses/{world.shop.business_id}"


def card_path(world, tail=""):
    return f"/api/v1/gift-cards/{world.card['id']}{tail}"


CASES = {
    "read me": Case(
        "GET /api/v1/me",
        lambda w, a: a.get("/api/v1/me"),
        expect(rest=200, anonymous=401),
    ),
    "list a business": Case(
        "POST /api/v1/businesses",
        lambda w, a: a.post(
            "/api/v1/businesses", {"name": "N", "category": "c", "currency": "GBP"}
        ),
        expect(rest=403, anonymous=401, owner_a=201, owner_b=201),
    ),
    "add a branch": Case(
        "POST /api/v1/businesses/{business_id}/branches",
        lambda w, a: a.post(
            f"{biz(w)}/branches",
            {"name": "B", "address": "1 St", "latitude": 51.5, "longitude": -0.1},
        ),
        expect(rest=403, anonymous=401, owner_a=201, admin=201),
    ),
    "add a product": Case(
        "POST /api/v1/businesses/{business_id}/products",
        lambda w, a: a.post(f"{biz(w)}/products", {"name": "P", "price_minor": 100}),
        expect(rest=403, anonymous=401, owner_a=201, admin=201),
    ),
    "add a cashier": Case(
        "POST /api/v1/businesses/{business_id}/staff",
        lambda w, a: a.post(
            f"{biz(w)}/staff",
            {"email": f"{new_key()[:8]}@example.com", "password": "long enough pw"},
        ),
        expect(rest=403, anonymous=401, owner_a=201, admin=201),
    ),
    "buy a card": Case(
        "POST /api/v1/businesses/{business_id}/gift-cards",
        lambda w, a: a.post(
            f"{biz(w)}/gift-cards",
            {"amount_minor": 500, "payment": {"card_number": "4242424242424242"}},
            key=new_key(),
        ),
        expect(rest=403, anonymous=401, holder=201, stranger=201),
    ),
    "see a card": Case(
        "GET /api/v1/gift-cards/{card_id}",
        lambda w, a: a.get(card_path(w)),
        expect(rest=404, anonymous=401, holder=200, owner_a=200, staff_a=200, admin=200),
    ),
    "see a card's history": Case(
        "GET /api/v1/gift-cards/{card_id}/history",
        lambda w, a: a.get(card_path(w, "/history")),
        expect(rest=404, anonymous=401, holder=200, owner_a=200, staff_a=200, admin=200),
    ),
    "get a card's QR code": Case(
        "GET /api/v1/gift-cards/{card_id}/qr.png",
        lambda w, a: a.get(card_path(w, "/qr.png")),
        expect(rest=404, anonymous=401, holder=200, admin=200),
    ),
    "re-issue a card": Case(
        "POST /api/v1/gift-cards/{card_id}/reissue",
        lambda w, a: a.post(card_path(w, "/reissue")),
        expect(rest=404, anonymous=401, holder=200, admin=200),
    ),
    "move value off a card": Case(
        "POST /api/v1/gift-cards/{card_id}/transfers",
        lambda w, a: a.post(
            card_path(w, "/transfers"),
            {"to_card_id": w.spare_card["id"], "amount_minor": 1},
            key=new_key(),
        ),
        expect(rest=404, anonymous=401, holder=200, admin=200),
    ),
    "redeem a card": Case(
        "POST /api/v1/businesses/{business_id}/redemptions",
        lambda w, a: a.post(
            f"{biz(w)}/redemptions", {"card_id": w.card["id"], "amount_minor": 1}, key=new_key()
        ),
        expect(rest=403, anonymous=401, owner_a=200, staff_a=200, admin=200),
    ),
    "hold on a card": Case(
        "POST /api/v1/businesses/{business_id}/holds",
        lambda w, a: a.post(
            f"{biz(w)}/holds", {"card_id": w.card["id"], "amount_minor": 1}, key=new_key()
        ),
        expect(rest=403, anonymous=401, owner_a=201, staff_a=201, admin=201),
    ),
    "refund onto a card": Case(
        "POST /api/v1/businesses/{business_id}/refunds",
        lambda w, a: a.post(
            f"{biz(w)}/refunds",
            {"redemption_id": w.redemption["id"], "amount_minor": 1, "reason": "returned"},
            key=new_key(),
        ),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
}


CASES.update(
    {
        "create a deal": Case(
            "POST /api/v1/businesses/{business_id}/deals",
            lambda w, a: a.post(
                f"{biz(w)}/deals",
                {
                    "title": "T",
                    "original_price_minor": 200,
                    "deal_price_minor": 100,
                    "starts_at": "2026-01-01T00:00:00Z",
                    "ends_at": "2099-01-01T00:00:00Z",
                },
            ),
            expect(rest=403, anonymous=401, owner_a=201, admin=201),
        ),
        "buy a voucher": Case(
            "POST /api/v1/deals/{deal_id}/vouchers",
            lambda w, a: a.post(
                f"/api/v1/deals/{w.deal['id']}/vouchers",
                {"payment": {"card_number": "4242424242424242"}},
                key=new_key(),
            ),
            expect(rest=403, anonymous=401, holder=201, stranger=201),
        ),
        "get a voucher's QR code": Case(
            "GET /api/v1/vouchers/{voucher_id}/qr.svg",
            lambda w, a: a.get(f"/api/v1/vouchers/{w.vouchers[0]['id']}/qr.svg"),
            expect(rest=404, anonymous=401, holder=200, admin=200),
        ),
        "make a pairing code": Case(
            "POST /api/v1/businesses/{business_id}/pairing-codes",
            lambda w, a: a.post(f"{biz(w)}/pairing-codes"),
            expect(rest=403, anonymous=401, owner_a=201, admin=201),
        ),
        "list the terminals": Case(
            "GET /api/v1/businesses/{business_id}/devices",
            lambda w, a: a.get(f"{biz(w)}/devices"),
            expect(rest=403, anonymous=401, owner_a=200, admin=200),
        ),
    }
)


def listing(world, kind):
    """A branch or product of shop A, made once by its owner before anyone acts."""
    cache = world.__dict__.setdefault("_listings", {})
    if kind not in cache:
        cache[kind] = fresh(world, kind)
    return cache[kind]


def _with_listing(kind, call):
    def prepared(world, actor):
        return call(world, actor, f"{biz(world)}/{kind}/{listing(world, kind)}")

    return prepared


# The vendors' API: the owner (and a manager, see below) of the business; never a cashier.
OWNERS = expect(rest=403, anonymous=401, owner_a=200, admin=200)
CASES.update(
    {
        "change a business": Case(
            "PATCH /api/v1/businesses/{business_id}",
            lambda w, a: a.patch(biz(w), {"description": "changed"}),
            OWNERS,
        ),
        "close a business": Case(
            "DELETE /api/v1/businesses/{business_id}",
            lambda w, a: a.delete(biz(w)),  # closing it again changes nothing: 204 again
            expect(rest=403, anonymous=401, owner_a=204, admin=204),
        ),
        "change a branch": Case(
            "PATCH /api/v1/businesses/{business_id}/branches/{branch_id}",
            _with_listing("branches", lambda w, a, path: a.patch(path, {"name": "N"})),
            OWNERS,
        ),
        "change a product": Case(
            "PATCH /api/v1/businesses/{business_id}/products/{product_id}",
            _with_listing("products", lambda w, a, path: a.patch(path, {"price_minor": 5})),
            OWNERS,
        ),
        "change a deal": Case(
            "PATCH /api/v1/businesses/{business_id}/deals/{deal_id}",
            lambda w, a: a.patch(f"{biz(w)}/deals/{w.deal['id']}", {"title": "T"}),
            OWNERS,
        ),
        "cancel a deal": Case(
            "DELETE /api/v1/businesses/{business_id}/deals/{deal_id}",
            lambda w, a: a.delete(f"{biz(w)}/deals/{w.deal['id']}"),
            expect(rest=403, anonymous=401, owner_a=204, admin=204),
        ),
        "list own deals": Case(
            "GET /api/v1/businesses/{business_id}/deals",
            lambda w, a: a.get(f"{biz(w)}/deals"),
            OWNERS,
        ),
        "read one own deal": Case(
            "GET /api/v1/businesses/{business_id}/deals/{deal_id}",
            lambda w, a: a.get(f"{biz(w)}/deals/{w.deal['id']}"),
            OWNERS,
        ),
        "list staff": Case(
            "GET /api/v1/businesses/{business_id}/staff",
            lambda w, a: a.get(f"{biz(w)}/staff"),
            OWNERS,
        ),
        "change a staff member's role": Case(
            "PATCH /api/v1/businesses/{business_id}/staff/{user_id}",
            lambda w, a: a.patch(f"{biz(w)}/staff/{w.actors['staff_a'].id}", {"role": "cashier"}),
            OWNERS,
        ),
        "list holds": Case(
            "GET /api/v1/businesses/{business_id}/holds",
            lambda w, a: a.get(f"{biz(w)}/holds"),
            OWNERS,
        ),
        "list vouchers sold": Case(
            "GET /api/v1/businesses/{business_id}/vouchers",
            lambda w, a: a.get(f"{biz(w)}/vouchers"),
            OWNERS,
        ),
        "list incidents": Case(
            "GET /api/v1/businesses/{business_id}/incidents",
            lambda w, a: a.get(f"{biz(w)}/incidents"),
            expect(rest=403, anonymous=401, owner_a=200, staff_a=200, admin=200),
        ),
    }
)


def holders(world, what):
    """The holder's first session or device id, read once before anyone acts."""
    cache = world.__dict__.setdefault("_holders", {})
    if what not in cache:
        cache[what] = world.actors["holder"].get(f"/api/v1/me/{what}").json()["items"][0]["id"]
    return cache[what]


def _with_holders(call):
    def prepared(world, actor):
        holders(world, "sessions"), holders(world, "devices")
        return call(world, actor)

    return prepared


# Each person's own account: no one reaches another's (another's session or device is 404).
CASES.update(
    {
        "list my sessions": Case(
            "GET /api/v1/me/sessions",
            lambda w, a: a.get("/api/v1/me/sessions"),
            expect(rest=200, anonymous=401),
        ),
        "end a session": Case(
            "DELETE /api/v1/me/sessions/{session_id}",
            _with_holders(lambda w, a: a.delete(f"/api/v1/me/sessions/{holders(w, 'sessions')}")),
            expect(rest=404, anonymous=401, holder=204),
        ),
        "forget a device": Case(
            "DELETE /api/v1/me/devices/{device_id}",
            _with_holders(lambda w, a: a.delete(f"/api/v1/me/devices/{holders(w, 'devices')}")),
            expect(rest=404, anonymous=401, holder=204),
        ),
        "end my other sessions": Case(
            "POST /api/v1/me/sessions/end-others",
            lambda w, a: a.post("/api/v1/me/sessions/end-others"),
            expect(rest=200, anonymous=401),
        ),
        "export my data": Case(
            "GET /api/v1/me/export",
            lambda w, a: a.get("/api/v1/me/export"),
            expect(rest=200, anonymous=401),
        ),
        "resend the email confirmation": Case(
            "POST /api/v1/me/email-verification",
            lambda w, a: a.post("/api/v1/me/email-verification"),
            expect(rest=202, anonymous=401, admin=409),  # the admin's is confirmed
        ),
        "start two-step sign-in": Case(
            "POST /api/v1/me/mfa",
            lambda w, a: a.post("/api/v1/me/mfa"),
            expect(rest=403, anonymous=401, admin=409),  # unconfirmed emails; admin's is on
        ),
        "read two-step sign-in": Case(
            "GET /api/v1/me/mfa",
            lambda w, a: a.get("/api/v1/me/mfa"),
            expect(rest=200, anonymous=401),
        ),
        "turn two-step sign-in off": Case(
            "POST /api/v1/me/mfa/disable",
            lambda w, a: a.post("/api/v1/me/mfa/disable", {"code": "000000"}),
            expect(rest=409, anonymous=401),  # not on; an admin's must stay on
        ),
        "new recovery codes": Case(
            "POST /api/v1/me/mfa/recovery-codes",
            lambda w, a: a.post("/api/v1/me/mfa/recovery-codes", {"code": "000000"}),
            expect(rest=409, anonymous=401, admin=400),  # not on; the admin's code is wrong
        ),
        "delete my account": Case(
            "POST /api/v1/me/deletion",
            lambda w, a: a.post("/api/v1/me/deletion", {"password": PASSWORD}),
            # Owners still own a business; the admin sent no two-step code.
            expect(rest=200, anonymous=401, owner_a=409, owner_b=409, admin=403),
        ),
        # Owners and managers; staff_a is a cashier (not a manager): refused.
        "read the business's report": Case(
            "GET /api/v1/businesses/{business_id}/reports",
            lambda w, a: a.get(f"{biz(w)}/reports", params={"from": "2026-11-01"}),
            expect(rest=403, anonymous=401, owner_a=200, admin=200),
        ),
        "read the business's report as CSV": Case(
            "GET /api/v1/businesses/{business_id}/reports",
            lambda w, a: a.get(f"{biz(w)}/reports", params={"from": "2026-11-01", "format": "csv"}),
            expect(rest=403, anonymous=401, owner_a=200, admin=200),
        ),
        "ask for a password reset": Case(
            "POST /api/v1/auth/password-reset",
            lambda w, a: a.post("/api/v1/auth/password-reset", {"email": f"{new_key()}@x.org"}),
            expect(rest=202),
        ),
    }
)


def holders_gift(world):
    """A gift the holder bought, to be emailed next week; bought once before anyone acts."""
    if "_gift" not in world.__dict__:
        week = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        world.__dict__["_gift"] = (
            world.actors["holder"]
            .post(
                f"{biz(world)}/gifts",
                {**GIFT, "deliver_at": week},
                key=new_key(),
            )
            .json()["id"]
        )
    return world.__dict__["_gift"]


def _with_gift(call):
    def prepared(world, actor):
        holders_gift(world)
        return call(world, actor)

    return prepared


GIFT = {
    "amount_minor": 500,
    "payment": {"card_number": "4242424242424242"},
    "recipient_email": "friend@example.com",
    "recipient_name": "Sam",
}

# Gifts: customers buy and claim; a gift is seen and cancelled by its buyer alone.
CASES.update(
    {
        "buy a gift": Case(
            "POST /api/v1/businesses/{business_id}/gifts",
            lambda w, a: a.post(f"{biz(w)}/gifts", GIFT, key=new_key()),
            expect(rest=403, anonymous=401, holder=201, stranger=201),
        ),
        "list my gifts": Case(
            "GET /api/v1/me/gifts",
            lambda w, a: a.get("/api/v1/me/gifts"),
            expect(rest=200, anonymous=401),
        ),
        "see a gift": Case(
            "GET /api/v1/me/gifts/{gift_id}",
            _with_gift(lambda w, a: a.get(f"/api/v1/me/gifts/{holders_gift(w)}")),
            expect(rest=404, anonymous=401, holder=200),
        ),
        "cancel a gift": Case(
            "POST /api/v1/me/gifts/{gift_id}/cancel",
            _with_gift(lambda w, a: a.post(f"/api/v1/me/gifts/{holders_gift(w)}/cancel")),
            expect(rest=404, anonymous=401, holder=200),
        ),
        "claim a gift": Case(
            "POST /api/v1/gifts/claim",
            lambda w, a: a.post("/api/v1/gifts/claim", {"code": "AAAA-BBBB-CCCC"}),
            # Customers may try (this code is wrong); no one else holds cards.
            expect(rest=403, anonymous=401, holder=400, stranger=400),
        ),
    }
)


def fresh(world, kind):
    """A new branch or product of shop A, made by its owner, for one actor to delete."""
    body = (
        {"name": "B", "address": "1 St", "latitude": 51.5, "longitude": -0.1}
        if kind == "branches"
        else {"name": "P", "price_minor": 100}
    )
    return world.actors["owner_a"].post(f"{biz(world)}/{kind}", body).json()["id"]


def fresh_hold(world):
    """A new hold on the card, by shop A's cashier, for one actor to post."""
    held = world.actors["staff_a"].post(
        f"{biz(world)}/holds", {"card_id": world.card["id"], "amount_minor": 1}, key=new_key()
    )
    return held.json()["id"]


def first_of(world, actor, path):
    """The id of the first item `actor` lists at `path`, read once before anyone acts."""
    cache = world.__dict__.setdefault("_firsts", {})
    if path not in cache:
        cache[path] = world.actors[actor].get(path).json()["items"][0]["id"]
    return cache[path]


def opened(actor, path):
    """A stream's answer as it opens (it stays open: leaving the block closes it)."""
    with actor.client.stream("GET", path, headers=actor.headers) as answer:
        return answer


def rule():
    """A fraud rule (a name of its own: names are unique per business, and on the platform)."""
    return {
        "name": f"Many buys {new_key()[:8]}",
        "subject": "customer",
        "event": "purchase",
        "window_seconds": 86_400,
        "max_count": 50,
        "action": "review",
    }


# A business's own money and settings: its owner's (and the platform's admins'), no one else's.
CASES.update(
    {
        "see a business": Case(
            "GET /api/v1/businesses/{business_id}",
            lambda w, a: a.get(biz(w)),
            expect(rest=200),
        ),
        "list the directory": Case(
            "GET /api/v1/businesses",
            lambda w, a: a.get("/api/v1/businesses"),
            expect(rest=200),
        ),
        "delete a branch": Case(
            "DELETE /api/v1/businesses/{business_id}/branches/{branch_id}",
            lambda w, a: a.delete(f"{biz(w)}/branches/{fresh(w, 'branches')}"),
            expect(rest=403, anonymous=401, owner_a=204, admin=204),
        ),
        "delete a product": Case(
            "DELETE /api/v1/businesses/{business_id}/products/{product_id}",
            lambda w, a: a.delete(f"{biz(w)}/products/{fresh(w, 'products')}"),
            expect(rest=403, anonymous=401, owner_a=204, admin=204),
        ),
        "post a hold": Case(
            "POST /api/v1/businesses/{business_id}/holds/{hold_id}/post",
            lambda w, a: a.post(
                f"{biz(w)}/holds/{fresh_hold(w)}/post", {"amount_minor": 1}, key=new_key()
            ),
            expect(rest=403, anonymous=401, owner_a=200, staff_a=200, admin=200),
        ),
        "read the offline limits": Case(  # its cashiers too: what their till may approve
            "GET /api/v1/businesses/{business_id}/offline-limits",
            lambda w, a: a.get(f"{biz(w)}/offline-limits"),
            expect(rest=403, anonymous=401, owner_a=200, staff_a=200, admin=200),
        ),
        "set the offline limits": Case(
            "PUT /api/v1/businesses/{business_id}/offline-limits",
            lambda w, a: a.put(
                f"{biz(w)}/offline-limits",
                w.actors["owner_a"].get(f"{biz(w)}/offline-limits").json(),
            ),
            OWNERS,
        ),
        "list till staff": Case(
            "GET /api/v1/businesses/{business_id}/till-staff",
            lambda w, a: a.get(f"{biz(w)}/till-staff"),
            OWNERS,
        ),
        "set a till PIN": Case(
            "PUT /api/v1/businesses/{business_id}/till-staff/{user_id}",
            lambda w, a: a.put(
                f"{biz(w)}/till-staff/{w.actors['staff_a'].id}", {"pin": "482913", "name": "Sam"}
            ),
            OWNERS,
        ),
        "clear a till PIN": Case(
            "DELETE /api/v1/businesses/{business_id}/till-staff/{user_id}",
            lambda w, a: a.delete(f"{biz(w)}/till-staff/{w.actors['staff_a'].id}"),
            expect(rest=403, anonymous=401, owner_a=204, admin=204),
        ),
        "list fraud rules": Case(
            "GET /api/v1/businesses/{business_id}/fraud/rules",
            lambda w, a: a.get(f"{biz(w)}/fraud/rules"),
            OWNERS,
        ),
        "add a fraud rule": Case(
            "POST /api/v1/businesses/{business_id}/fraud/rules",
            lambda w, a: a.post(f"{biz(w)}/fraud/rules", rule()),
            expect(rest=403, anonymous=401, owner_a=201, admin=201),
        ),
        "change a fraud rule": Case(
            "PATCH /api/v1/businesses/{business_id}/fraud/rules/{rule_id}",
            lambda w, a: a.patch(f"{biz(w)}/fraud/rules/{business_rule(w)}", {"max_count": 60}),
            OWNERS,
        ),
        "list fraud reviews": Case(
            "GET /api/v1/businesses/{business_id}/fraud/reviews",
            lambda w, a: a.get(f"{biz(w)}/fraud/reviews"),
            OWNERS,
        ),
        "see the subscription": Case(
            "GET /api/v1/businesses/{business_id}/subscription",
            lambda w, a: a.get(f"{biz(w)}/subscription"),
            OWNERS,
        ),
        "change the plan": Case(
            "PUT /api/v1/businesses/{business_id}/subscription/plan",
            lambda w, a: a.put(f"{biz(w)}/subscription/plan", {"plan": "pro"}),
            OWNERS,
        ),
        "keep a card for invoices": Case(
            "PUT /api/v1/businesses/{business_id}/subscription/payment-card",
            lambda w, a: a.put(
                f"{biz(w)}/subscription/payment-card", {"card_number": "4242424242424242"}
            ),
            OWNERS,
        ),
        "hibernate": Case(
            "POST /api/v1/businesses/{business_id}/subscription/hibernate",
            lambda w, a: (
                w.actors["owner_a"].post(f"{biz(w)}/subscription/wake"),
                a.post(f"{biz(w)}/subscription/hibernate"),
            )[1],
            OWNERS,
        ),
        "wake": Case(
            "POST /api/v1/businesses/{business_id}/subscription/wake",
            lambda w, a: (
                w.actors["owner_a"].post(f"{biz(w)}/subscription/hibernate"),
                a.post(f"{biz(w)}/subscription/wake"),
            )[1],
            OWNERS,
        ),
        "list invoices": Case(
            "GET /api/v1/businesses/{business_id}/invoices",
            lambda w, a: a.get(f"{biz(w)}/invoices"),
            OWNERS,
        ),
        "read billing notices": Case(
            "GET /api/v1/businesses/{business_id}/billing-notices",
            lambda w, a: a.get(f"{biz(w)}/billing-notices"),
            OWNERS,
        ),
        "read the test clock": Case(
            "GET /api/v1/businesses/{business_id}/test-clock",
            lambda w, a: a.get(f"{biz(w)}/test-clock"),
            OWNERS,
        ),
        "advance the test clock": Case(
            "POST /api/v1/businesses/{business_id}/test-clock/advance",
            lambda w, a: a.post(f"{biz(w)}/test-clock/advance", {"days": 1}),
            OWNERS,
        ),
    }
)


def business_rule(world):
    """Shop A's own fraud rule, made once by its owner before anyone acts."""
    if "_rule" not in world.__dict__:
        made = world.actors["owner_a"].post(f"{biz(world)}/fraud/rules", rule())
        world.__dict__["_rule"] = made.json()["id"]
    return world.__dict__["_rule"]


# The platform's own settings: admins alone.
ADMINS = expect(rest=403, anonymous=401, admin=200)
CASES.update(
    {
        "store exchange rates": Case(
            "POST /api/v1/admin/exchange-rates",
            lambda w, a: a.post(
                "/api/v1/admin/exchange-rates",
                [{"currency": "EUR", "rate": "1.16", "valid_from": "2026-01-01"}],
            ),
            ADMINS,
        ),
        "list platform fraud rules": Case(
            "GET /api/v1/admin/fraud/rules",
            lambda w, a: a.get("/api/v1/admin/fraud/rules"),
            ADMINS,
        ),
        "add a platform fraud rule": Case(
            "POST /api/v1/admin/fraud/rules",
            lambda w, a: a.post("/api/v1/admin/fraud/rules", rule()),
            expect(rest=403, anonymous=401, admin=201),
        ),
        "change a platform fraud rule": Case(
            "PATCH /api/v1/admin/fraud/rules/{rule_id}",
            lambda w, a: a.patch(
                f"/api/v1/admin/fraud/rules/{first_of(w, 'admin', '/api/v1/admin/fraud/rules')}",
                {"max_count": 60},
            ),
            ADMINS,
        ),
        "list fraud decisions": Case(
            "GET /api/v1/admin/fraud/decisions",
            lambda w, a: a.get("/api/v1/admin/fraud/decisions"),
            ADMINS,
        ),
        "list every fraud review": Case(
            "GET /api/v1/admin/fraud/reviews",
            lambda w, a: a.get("/api/v1/admin/fraud/reviews"),
            ADMINS,
        ),
    }
)

# Public: the same answer for everyone (a token, if sent, changes nothing).
CASES.update(
    {
        "read the price list": Case(
            "GET /api/v1/plans", lambda w, a: a.get("/api/v1/plans"), expect(rest=200)
        ),
        "read the trust list": Case(
            "GET /api/v1/trust-list", lambda w, a: a.get("/api/v1/trust-list"), expect(rest=200)
        ),
        "browse deals": Case(
            "GET /api/v1/deals", lambda w, a: a.get("/api/v1/deals"), expect(rest=200)
        ),
        "see a deal": Case(
            "GET /api/v1/deals/{deal_id}",
            lambda w, a: a.get(f"/api/v1/deals/{w.deal['id']}"),
            expect(rest=200),
        ),
        "follow a deal": Case(
            "GET /api/v1/deals/{deal_id}/stream",
            lambda w, a: opened(a, f"/api/v1/deals/{w.deal['id']}/stream"),
            expect(rest=200),
        ),
        "sign up": Case(
            "POST /api/v1/auth/signup",
            lambda w, a: a.post(
                "/api/v1/auth/signup",
                {"email": f"{new_key()}@example.com", "password": PASSWORD, "role": "customer"},
            ),
            expect(rest=201),
        ),
        "sign in": Case(
            "POST /api/v1/auth/login",
            lambda w, a: a.post(
                "/api/v1/auth/login", {"email": w.actors["holder"].email, "password": PASSWORD}
            ),
            expect(rest=200),
        ),
        "sign in's second step": Case(
            "POST /api/v1/auth/login/mfa",
            lambda w, a: a.post("/api/v1/auth/login/mfa", {"mfa_ticket": "x", "code": "000000"}),
            expect(rest=401),  # no such ticket
        ),
        "refresh a sign-in": Case(
            "POST /api/v1/auth/refresh",
            lambda w, a: a.post("/api/v1/auth/refresh", {"refresh_token": "not-one"}),
            expect(rest=401),
        ),
        "sign out": Case(
            "POST /api/v1/auth/logout",
            lambda w, a: a.post("/api/v1/auth/logout", {"refresh_token": "not-one"}),
            expect(rest=204),
        ),
        "set a new password with a reset code": Case(
            "POST /api/v1/auth/password-reset/confirm",
            lambda w, a: a.post(
                "/api/v1/auth/password-reset/confirm",
                {"code": "AAAA-BBBB-CCCC", "new_password": "another long one"},
            ),
            expect(rest=400),  # not a code anyone was sent
        ),
        "confirm an email": Case(
            "POST /api/v1/auth/verify-email",
            lambda w, a: a.post("/api/v1/auth/verify-email", {"code": "AAAA-BBBB-CCCC"}),
            expect(rest=400),
        ),
        "pair a terminal": Case(
            "POST /api/v1/devices/pair",
            lambda w, a: a.post(
                "/api/v1/devices/pair",
                {
                    "code": "000000",
                    "public_key": public_key_text(Ed25519PrivateKey.generate().public_key()),
                    "name": "Till",
                },
            ),
            expect(rest=422),  # no such pairing code
        ),
    }
)

# A terminal's routes take its device credentials: no person's token opens them
# (terminals themselves: tests/server/test_sync_*.py).
TERMINALS_ONLY = expect(rest=401)
CASES.update(
    {
        "pull changes": Case(
            "GET /api/v1/sync/changes", lambda w, a: a.get("/api/v1/sync/changes"), TERMINALS_ONLY
        ),
        "pull a snapshot": Case(
            "GET /api/v1/sync/snapshot",
            lambda w, a: a.get("/api/v1/sync/snapshot"),
            TERMINALS_ONLY,
        ),
        "follow a terminal's changes": Case(
            "GET /api/v1/sync/stream",
            lambda w, a: opened(a, "/api/v1/sync/stream"),
            TERMINALS_ONLY,
        ),
        "push a terminal's outbox": Case(
            "POST /api/v1/sync/push",
            lambda w, a: a.post("/api/v1/sync/push", {"events": []}),
            TERMINALS_ONLY,
        ),
        "redeem at a terminal": Case(
            "POST /api/v1/terminal/redemptions",
            lambda w, a: a.post(
                "/api/v1/terminal/redemptions",
                {"token": "TP1:NOT-A-CODE", "amount_minor": 1},
                key=new_key(),
            ),
            TERMINALS_ONLY,
        ),
        "redeem a voucher at a terminal": Case(
            "POST /api/v1/terminal/voucher-redemptions",
            lambda w, a: a.post(
                "/api/v1/terminal/voucher-redemptions",
                {"token": "TP1:NOT-A-CODE"},
                key=new_key(),
            ),
            TERMINALS_ONLY,
        ),
    }
)


def _mine(what):
    return lambda w, a: a.get(f"/api/v1/me/{what}")


# Each person's own lists and settings: everyone signed in has their own.
MINE = expect(rest=200, anonymous=401)
CASES.update(
    {
        "list my " + what.replace("-", " "): Case(f"GET /api/v1/me/{what}", _mine(what), MINE)
        for what in [
            "clubs",
            "deals",
            "devices",
            "donations",
            "favourites",
            "gift-cards",
            "inbox",
            "notification-preferences",
            "saved-deals",
            "sign-in-notices",
            "tastes",
            "vouchers",
        ]
    }
)


def holders_inbox_item(world):
    """The newest item in the holder's inbox (a receipt for a card), delivered and read once
    before anyone acts."""
    from server.notifications import NotificationWorker

    if "_inbox" not in world.__dict__:
        NotificationWorker(world.app.state.sessions, world.app.state.settings).run_once()
        world.__dict__["_inbox"] = first_of(world, "holder", "/api/v1/me/inbox")
    return world.__dict__["_inbox"]


CASES.update(
    {
        "favour a business": Case(
            "PUT /api/v1/me/favourites/{business_id}",
            lambda w, a: a.put(f"/api/v1/me/favourites/{w.shop.business_id}"),
            expect(rest=204, anonymous=401),
        ),
        "stop favouring a business": Case(
            "DELETE /api/v1/me/favourites/{business_id}",
            lambda w, a: a.delete(f"/api/v1/me/favourites/{w.shop.business_id}"),
            expect(rest=204, anonymous=401),
        ),
        "save a deal": Case(
            "PUT /api/v1/me/saved-deals/{deal_id}",
            lambda w, a: a.put(f"/api/v1/me/saved-deals/{w.deal['id']}"),
            expect(rest=204, anonymous=401),
        ),
        "forget a saved deal": Case(
            "DELETE /api/v1/me/saved-deals/{deal_id}",
            lambda w, a: a.delete(f"/api/v1/me/saved-deals/{w.deal['id']}"),
            expect(rest=204, anonymous=401),
        ),
        "set my notification preferences": Case(
            "PUT /api/v1/me/notification-preferences",
            lambda w, a: a.put("/api/v1/me/notification-preferences", {"preferences": []}),
            MINE,
        ),
        "set my tastes": Case(
            "PUT /api/v1/me/tastes",
            lambda w, a: a.put("/api/v1/me/tastes", {"categories": ["cafe"]}),
            MINE,
        ),
        "register a phone for push": Case(
            "POST /api/v1/me/push-devices",
            lambda w, a: a.post("/api/v1/me/push-devices", {"token": f"fcm-{new_key()}"}),
            expect(rest=201, anonymous=401),
        ),
        "mark an inbox item read": Case(
            "POST /api/v1/me/inbox/{item_id}/read",
            lambda w, a: a.post(f"/api/v1/me/inbox/{holders_inbox_item(w)}/read"),
            expect(rest=404, anonymous=401, holder=200),  # the holder's: no one else's
        ),
        "follow my cards": Case(
            "GET /api/v1/me/stream", lambda w, a: opened(a, "/api/v1/me/stream"), MINE
        ),
        "follow my inbox": Case(
            "GET /api/v1/me/inbox/stream",
            lambda w, a: opened(a, "/api/v1/me/inbox/stream"),
            MINE,
        ),
        "change my password": Case(
            "POST /api/v1/auth/password",
            lambda w, a: a.post(
                "/api/v1/auth/password",
                {"current_password": PASSWORD, "new_password": "another long one"},
            ),
            expect(rest=204, anonymous=401),
        ),
        "confirm two-step sign-in": Case(
            "POST /api/v1/me/mfa/confirm",
            lambda w, a: a.post("/api/v1/me/mfa/confirm", {"code": "000000"}),
            expect(rest=409, anonymous=401),  # none started
        ),
        "get a card's QR code as SVG": Case(
            "GET /api/v1/gift-cards/{card_id}/qr.svg",
            lambda w, a: a.get(card_path(w, "/qr.svg")),
            expect(rest=404, anonymous=401, holder=200, admin=200),
        ),
        "get a voucher's QR code as PNG": Case(
            "GET /api/v1/vouchers/{voucher_id}/qr.png",
            lambda w, a: a.get(f"/api/v1/vouchers/{w.vouchers[0]['id']}/qr.png"),
            expect(rest=404, anonymous=401, holder=200, admin=200),
        ),
    }
)


def stored(world, row):
    """`row` added to the database as the service would have made it; its id."""
    with world.app.state.sessions() as session:
        session.add(row)
        session.commit()
        return row.id


def fresh_incident(world):
    """A new incident of shop A's (as reconciliation records one), for one actor to resolve."""
    from server.devices.models import Incident
    from sync.wire import IncidentKind

    return stored(
        world,
        Incident(
            business_id=world.shop.business_id,
            kind=IncidentKind.OFFLINE_OVERSPEND,
            subject_id=world.card["id"],
            event_id=new_key(),
            amount_minor=1,
            currency="GBP",
            detail="Overspent offline by £0.01.",
        ),
    )


def fresh_review(world):
    """A new open review of shop A's (as its own rule opens one), for one actor to resolve:
    each of another subject, as a rule has one open review per subject."""
    from server.fraud.models import FraudEvent, FraudReview, FraudSubject
    from server.ids import make_id

    return stored(
        world,
        FraudReview(
            business_id=world.shop.business_id,
            rule_id=business_rule(world),
            decision_reference=make_id(),
            event=FraudEvent.PURCHASE,
            subject=FraudSubject.CUSTOMER,
            subject_key=make_id(),
            reason="2 purchases in a day",
        ),
    )


def fresh_invoice(world):
    """A new open invoice of shop A's (as billing issues one), for one actor to pay or void."""
    from datetime import date

    from server.billing.models import Invoice
    from server.ids import make_id
    from sync.wire import InvoiceKind, InvoiceStatus

    today = date.today()
    return stored(
        world,
        Invoice(
            business_id=world.shop.business_id,
            key=f"changes:{make_id()}",
            kind=InvoiceKind.CHANGES,
            issued_on=today,
            period_start=today,
            period_end=today,
            status=InvoiceStatus.OPEN,
            currency="GBP",
            total_minor=100,
        ),
    )


RESOLVED = {"status": "cleared", "resolution": "looked at"}

# Each actor acts on one of its own, made just before.
CASES.update(
    {
        "resolve an incident": Case(
            "POST /api/v1/businesses/{business_id}/incidents/{incident_id}/resolve",
            lambda w, a: a.post(
                f"{biz(w)}/incidents/{fresh_incident(w)}/resolve", {"resolution": "refunded"}
            ),
            OWNERS,
        ),
        "resolve a fraud review": Case(
            "POST /api/v1/businesses/{business_id}/fraud/reviews/{review_id}/resolve",
            lambda w, a: a.post(f"{biz(w)}/fraud/reviews/{fresh_review(w)}/resolve", RESOLVED),
            OWNERS,
        ),
        "resolve any fraud review": Case(
            "POST /api/v1/admin/fraud/reviews/{review_id}/resolve",
            lambda w, a: a.post(f"/api/v1/admin/fraud/reviews/{fresh_review(w)}/resolve", RESOLVED),
            ADMINS,
        ),
        "pay an invoice": Case(
            "POST /api/v1/businesses/{business_id}/invoices/{invoice_id}/pay",
            lambda w, a: a.post(
                f"{biz(w)}/invoices/{fresh_invoice(w)}/pay",
                {"card_number": "4242424242424242"},
                key=new_key(),
            ),
            OWNERS,
        ),
        "void an invoice": Case(  # owners pay; admins void
            "POST /api/v1/businesses/{business_id}/invoices/{invoice_id}/void",
            lambda w, a: a.post(f"{biz(w)}/invoices/{fresh_invoice(w)}/void"),
            ADMINS,
        ),
    }
)


def assert_table(world, table):
    """Every row of `table` in one world (each leaves the others' answers as they were),
    and each refusal the same whatever the request says (`refusals_with_nonsense`)."""
    got = {name: statuses(world, case) for name, case in table.items()}
    assert got == {name: case.expected for name, case in table.items()}
    nonsense = {name: refusals_with_nonsense(world, case) for name, case in table.items()}
    assert nonsense == {name: refusals(case) for name, case in table.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_who_may_do_what(world, case):
    assert statuses(world, CASES[case]) == CASES[case].expected
    assert refusals_with_nonsense(world, CASES[case]) == refusals(CASES[case])


# -- someone who may not use a route is refused whatever the request says ---------------------

NONSENSE = "not what any route takes"  # a JSON string: every body is an object or an array


@dataclass
class TalkingNonsense(Actor):
    """The same person, sending a body no route takes, and a value no typed query
    parameter takes for every query parameter the route has: told first that they may not
    (401, 403), not what the request should have said (422)."""

    def get(self, path: str, **kwargs: Any):
        params = dict(kwargs.pop("params", None) or {})
        for name in query_parameters(self.client.app, "GET", path):
            params[name] = NONSENSE
        return super().get(path, params=params, **kwargs)

    def post(self, path: str, json: Any = None, key: str | None = None, **kwargs: Any):
        return super().post(path, NONSENSE, key, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any):
        return super().put(path, NONSENSE, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):
        return super().patch(path, NONSENSE, **kwargs)


def query_parameters(app, method, path):
    """The names of the query parameters the route at `path` takes (its dependencies' too)."""
    from fastapi.routing import APIRoute
    from starlette.routing import Match

    def names(dependant):
        own = [param.alias for param in dependant.query_params]
        return own + [name for each in dependant.dependencies for name in names(each)]

    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in app.routes:  # the API's routes are the app's own (`server.routing`)
        if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
            return names(route.dependant)
    raise AssertionError(f"no API route answers {method} {path}")


# Refused for what the request says, not for who sends it: the wrong password, code or token.
REFUSED_FOR_WHAT_IS_SENT = {
    "POST /api/v1/me/deletion",
    "POST /api/v1/auth/login/mfa",
    "POST /api/v1/auth/refresh",
}


def refusals(case):
    """Who `case` refuses as not signed in or not allowed, and with what status."""
    if case.route in REFUSED_FOR_WHAT_IS_SENT:
        return {}
    return {name: status for name, status in case.expected.items() if status in (401, 403)}


def refusals_with_nonsense(world, case):
    """What those `case` refuses get when the request they send is nonsense."""
    answers = {
        name: case.call(world, TalkingNonsense(**vars(world.actors[name])))
        for name in refusals(case)
    }
    return answered(world, case.route, answers)


# Routes that use up what they act on (a terminal revoked, a hold voided, a voucher redeemed):
# each actor acts on one of its own, made by the test named beside it.
USED_UP = {
    # test_only_the_owner_revokes_a_terminal
    "POST /api/v1/businesses/{business_id}/devices/{device_id}/revoke": expect(
        rest=403, anonymous=401, owner_a=200, admin=200
    ),
    # test_holds_are_closed_only_by_their_business
    "POST /api/v1/businesses/{business_id}/holds/{hold_id}/void": expect(
        rest=403, anonymous=401, owner_a=200, staff_a=200, admin=200
    ),
    # test_vouchers_are_redeemed_only_at_their_business
    "POST /api/v1/businesses/{business_id}/voucher-redemptions": expect(
        rest=403, anonymous=401, owner_a=200, staff_a=200, admin=200
    ),
    # test_only_a_clubs_organisers_hand_over_and_only_the_donor_or_they_refund
    "POST /api/v1/clubs/{club_id}/donations/{donation_id}/refund": expect(
        rest=403, anonymous=401, holder=200, stranger=200
    ),
    "POST /api/v1/clubs/{club_id}/holdings/{holding_id}/hand-over": expect(
        rest=403, anonymous=401, holder=200
    ),
    # test_only_the_owner_removes_a_staff_member
    "DELETE /api/v1/businesses/{business_id}/staff/{user_id}": expect(
        rest=403, anonymous=401, owner_a=204, admin=204
    ),
}


def assert_used_up(world, route, answers):
    assert answered(world, route, answers) == USED_UP[route]


def assert_refused_whatever_is_sent(world, route, call):
    """`call(actor)` by each actor `route` refuses (USED_UP), sending nonsense: refused as
    before, using up nothing."""
    refused = {name: status for name, status in USED_UP[route].items() if status in (401, 403)}
    answers = {name: call(TalkingNonsense(**vars(world.actors[name]))) for name in refused}
    assert answered(world, route, answers) == refused


def test_only_the_owner_revokes_a_terminal(world, client):
    owner = world.actors["owner_a"]
    device_ids = []
    for _ in ACTORS:
        code = owner.post(f"{biz(world)}/pairing-codes").json()["code"]
        key = public_key_text(Ed25519PrivateKey.generate().public_key())
        device_ids.append(SyncClient("", http=client).pair(code, key, "Till").device_id)
    answers = {
        name: actor.post(f"{biz(world)}/devices/{device_id}/revoke")
        for (name, actor), device_id in zip(world.actors.items(), device_ids, strict=True)
    }
    assert_used_up(
        world, "POST /api/v1/businesses/{business_id}/devices/{device_id}/revoke", answers
    )
    listed = owner.get(f"{biz(world)}/devices").json()["items"]
    revoked = {d["id"] for d in listed if d["revoked"]}
    allowed = {"owner_a", "admin"}
    assert revoked == {d for name, d in zip(ACTORS, device_ids, strict=True) if name in allowed}


def test_holds_are_closed_only_by_their_business(world):
    base = f"{biz(world)}/holds"
    staff_a = world.actors["staff_a"]
    hold_ids = [
        staff_a.post(base, {"card_id": world.card["id"], "amount_minor": 1}, key=new_key()).json()[
            "id"
        ]
        for _ in ACTORS
    ]
    answers = {
        name: actor.post(f"{base}/{hold_id}/void", key=new_key())
        for (name, actor), hold_id in zip(world.actors.items(), hold_ids, strict=True)
    }
    assert_used_up(world, "POST /api/v1/businesses/{business_id}/holds/{hold_id}/void", answers)


def test_another_business_cannot_redeem_by_card_id_either(world):
    # Shop B may not reach shop A's card through its own till.
    b = world.actors["staff_b"]
    owner_b_business = b.get("/api/v1/me").json()["businesses"][0]
    response = b.post(
        f"/api/v1/businesses/{owner_b_business}/redemptions",
        {"card_id": world.card["id"], "amount_minor": 1},
        key=new_key(),
    )
    assert response.status_code == 404


def test_vouchers_are_redeemed_only_at_their_business(world):
    route = "POST /api/v1/businesses/{business_id}/voucher-redemptions"
    first = {"voucher_id": world.vouchers[0]["id"]}
    assert_refused_whatever_is_sent(
        world,
        route,
        lambda actor: actor.post(f"{biz(world)}/voucher-redemptions", first, key=new_key()),
    )
    answers = {
        name: actor.post(
            f"{biz(world)}/voucher-redemptions", {"voucher_id": voucher["id"]}, key=new_key()
        )
        for (name, actor), voucher in zip(world.actors.items(), world.vouchers, strict=True)
    }
    assert_used_up(world, route, answers)


def webhook_path(world, tail=""):
    return f"{biz(world)}/webhook-endpoints/{world.webhook['id']}{tail}"


def fresh_webhook(world):
    """A new webhook endpoint of shop A, registered by its owner, for one actor to delete."""
    body = {"url": "https://93.184.215.14/hooks", "event_types": ["card.created"]}
    return world.actors["owner_a"].post(f"{biz(world)}/webhook-endpoints", body).json()["id"]


WEBHOOK_CASES = {
    "list the event types": Case(
        "GET /api/v1/webhooks/event-types",
        lambda w, a: a.get("/api/v1/webhooks/event-types"),
        expect(rest=200),
    ),
    "register a webhook endpoint": Case(
        "POST /api/v1/businesses/{business_id}/webhook-endpoints",
        lambda w, a: a.post(
            f"{biz(w)}/webhook-endpoints",
            {"url": "https://93.184.215.14/hooks", "event_types": ["card.created"]},
        ),
        expect(rest=403, anonymous=401, owner_a=201, admin=201),
    ),
    "list webhook endpoints": Case(
        "GET /api/v1/businesses/{business_id}/webhook-endpoints",
        lambda w, a: a.get(f"{biz(w)}/webhook-endpoints"),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "see a webhook endpoint": Case(
        "GET /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}",
        lambda w, a: a.get(webhook_path(w)),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "change a webhook endpoint": Case(
        "PATCH /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}",
        lambda w, a: a.patch(webhook_path(w), {"description": "changed"}),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "delete a webhook endpoint": Case(
        "DELETE /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}",
        lambda w, a: a.delete(f"{biz(w)}/webhook-endpoints/{fresh_webhook(w)}"),
        expect(rest=403, anonymous=401, owner_a=204, admin=204),
    ),
    "read a webhook secret": Case(
        "GET /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}/secret",
        lambda w, a: a.get(webhook_path(w, "/secret")),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "rotate a webhook secret": Case(
        "POST /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}/secret/rotate",
        lambda w, a: a.post(webhook_path(w, "/secret/rotate")),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "list webhook deliveries": Case(
        "GET /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}/deliveries",
        lambda w, a: a.get(webhook_path(w, "/deliveries")),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "see a webhook delivery": Case(
        "GET /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}"
        "/deliveries/{delivery_id}",
        lambda w, a: a.get(webhook_path(w, f"/deliveries/{w.webhook_delivery}")),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "send a webhook test event": Case(
        "POST /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}/test",
        lambda w, a: a.post(webhook_path(w, "/test")),
        expect(rest=403, anonymous=401, owner_a=202, admin=202),
    ),
    "resend a webhook delivery": Case(
        "POST /api/v1/businesses/{business_id}/webhook-endpoints/{endpoint_id}"
        "/deliveries/{delivery_id}/resend",
        lambda w, a: a.post(webhook_path(w, f"/deliveries/{w.webhook_delivery}/resend")),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
}


def test_who_may_do_what_with_webhooks(world, sessions, settings):
    # One world for every webhook route (each leaves the others' answers as they were).
    owner = world.actors["owner_a"]
    world.webhook = owner.post(
        f"{biz(world)}/webhook-endpoints",
        {"url": "https://93.184.215.14/hooks", "event_types": ["card.balance_changed"]},
    ).json()
    assert world.shop.redeem(1, card_id=world.card["id"]).status_code == 200
    consume(sessions, settings.webhooks_batch, utcnow())  # the delivery, not sent
    [delivery] = owner.get(webhook_path(world, "/deliveries")).json()["items"]
    world.webhook_delivery = delivery["id"]
    assert_table(world, WEBHOOK_CASES)


# -- clubs: `holder` founded the club (its organiser), `stranger` is a member, the rest are not
# members. Non-members see no member-only data; organisers manage only their club; members
# cannot spend.


def club_path(world, tail=""):
    return f"/api/v1/clubs/{world.club['id']}{tail}"


CLUB_CASES = {
    "see a club's page": Case(
        "GET /api/v1/clubs/{club_id}",
        lambda w, a: a.get(club_path(w)),
        expect(rest=200),
    ),
    "see a club's fund": Case(
        "GET /api/v1/clubs/{club_id}/funds",
        lambda w, a: a.get(club_path(w, "/funds")),
        expect(rest=403, anonymous=401, holder=200, stranger=200),
    ),
    "see a club's history": Case(
        "GET /api/v1/clubs/{club_id}/history",
        lambda w, a: a.get(club_path(w, "/history")),
        expect(rest=403, anonymous=401, holder=200, stranger=200),
    ),
    "see what a club holds": Case(
        "GET /api/v1/clubs/{club_id}/holdings",
        lambda w, a: a.get(club_path(w, "/holdings")),
        expect(rest=403, anonymous=401, holder=200, stranger=200),
    ),
    "see a club's roster": Case(
        "GET /api/v1/clubs/{club_id}/roster",
        lambda w, a: a.get(club_path(w, "/roster")),
        expect(rest=403, anonymous=401, holder=200),
    ),
    "see requests to join": Case(
        "GET /api/v1/clubs/{club_id}/requests",
        lambda w, a: a.get(club_path(w, "/requests")),
        expect(rest=403, anonymous=401, holder=200),
    ),
    "make an invitation code": Case(
        "POST /api/v1/clubs/{club_id}/invitations",
        lambda w, a: a.post(club_path(w, "/invitations")),
        expect(rest=403, anonymous=401, holder=201),
    ),
    "donate to a club": Case(
        "POST /api/v1/clubs/{club_id}/donations",
        lambda w, a: a.post(
            club_path(w, "/donations"),
            {"amount_minor": 100, "payment": {"card_number": "4242424242424242"}},
            key=new_key(),
        ),
        expect(rest=201, anonymous=401),
    ),
    "donate from a gift card": Case(
        "POST /api/v1/clubs/{club_id}/donations/from-card",
        lambda w, a: a.post(
            club_path(w, "/donations/from-card"),
            {"card_id": w.card["id"], "amount_minor": 1},
            key=new_key(),
        ),
        expect(rest=404, anonymous=401, holder=201),  # the holder's card: no one else's
    ),
    "buy a gift card for a club": Case(
        "POST /api/v1/clubs/{club_id}/purchases/gift-cards",
        lambda w, a: a.post(
            club_path(w, "/purchases/gift-cards"),
            {"business_id": w.shop.business_id, "amount_minor": 100},
            key=new_key(),
        ),
        expect(rest=403, anonymous=401, holder=201),
    ),
    "buy a voucher for a club": Case(
        "POST /api/v1/clubs/{club_id}/purchases/vouchers",
        lambda w, a: a.post(
            club_path(w, "/purchases/vouchers"), {"deal_id": w.deal["id"]}, key=new_key()
        ),
        expect(rest=403, anonymous=401, holder=201),
    ),
    "list clubs": Case("GET /api/v1/clubs", lambda w, a: a.get("/api/v1/clubs"), expect(rest=200)),
    "found a club": Case(
        "POST /api/v1/clubs",
        lambda w, a: a.post("/api/v1/clubs", {"name": "Walkers", "display_name": "Me"}),
        expect(rest=201, anonymous=401),
    ),
    "see a club's members": Case(  # by display name only: public (docs/community.md)
        "GET /api/v1/clubs/{club_id}/members",
        lambda w, a: a.get(club_path(w, "/members")),
        expect(rest=200),
    ),
    "approve a request to join": Case(
        "POST /api/v1/clubs/{club_id}/members/{user_id}/approve",
        lambda w, a: a.post(club_path(w, f"/members/{newcomer(w, approved=False)}/approve")),
        expect(rest=403, anonymous=401, holder=200),
    ),
    "remove a member": Case(
        "DELETE /api/v1/clubs/{club_id}/members/{user_id}",
        lambda w, a: a.delete(club_path(w, f"/members/{newcomer(w, approved=True)}")),
        expect(rest=403, anonymous=401, holder=204),
    ),
    "name a member's role": Case(
        "PUT /api/v1/clubs/{club_id}/members/{user_id}/role",
        lambda w, a: a.put(
            club_path(w, f"/members/{w.actors['stranger'].id}/role"), {"role": "member"}
        ),
        expect(rest=403, anonymous=401, holder=200),
    ),
    "ask to join a club": Case(
        "POST /api/v1/clubs/{club_id}/join",
        lambda w, a: a.post(club_path(w, "/join"), {"display_name": "Me"}),
        expect(rest=200, anonymous=401),  # members already: nothing changes
    ),
    "let a business's cards be donated": Case(
        "PUT /api/v1/businesses/{business_id}/club-donations",
        lambda w, a: a.put(f"{biz(w)}/club-donations", {"allowed": True}),
        expect(rest=403, anonymous=401, owner_a=200, admin=200),
    ),
    "leave a club": Case(  # last: the member leaves
        "POST /api/v1/clubs/{club_id}/leave",
        lambda w, a: a.post(club_path(w, "/leave")),
        expect(rest=204, anonymous=401, holder=409),  # the founder hands the club on first
    ),
}


def newcomer(world, *, approved):
    """A new customer who asked to join the holder's club (and was let in, if `approved`)."""
    person = sign_up(world.actors["holder"].client, "customer")
    # A name of their own: no two members of a club share one.
    asked = person.post(club_path(world, "/join"), {"display_name": f"New {person.id}"})
    assert asked.status_code == 200, asked.text
    if approved:
        let_in = world.actors["holder"].post(club_path(world, f"/members/{person.id}/approve"))
        assert let_in.status_code == 200, let_in.text
    return person.id


def contest_path(world, tail=""):
    return f"/api/v1/contests/{world.contest['id']}{tail}"


def contest_rules():
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return {
        "title": "Books read",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "entrants": "customers",
        "measure": "points",
        "prizes_minor": [1000],
    }


CONTEST_CASES = {
    "run a business's contest": Case(
        "POST /api/v1/businesses/{business_id}/contests",
        lambda w, a: a.post(f"{biz(w)}/contests", contest_rules()),
        expect(rest=403, anonymous=401, owner_a=201, admin=201),
    ),
    "run a platform contest": Case(
        "POST /api/v1/contests",
        lambda w, a: a.post(
            "/api/v1/contests", {**contest_rules(), "prize_business_id": w.shop.business_id}
        ),
        expect(rest=403, anonymous=401, admin=201),
    ),
    "list contests": Case(
        "GET /api/v1/contests", lambda w, a: a.get("/api/v1/contests"), expect(rest=200)
    ),
    "see a contest": Case(
        "GET /api/v1/contests/{contest_id}", lambda w, a: a.get(contest_path(w)), expect(rest=200)
    ),
    "see a contest's leaderboard": Case(
        "GET /api/v1/contests/{contest_id}/leaderboard",
        lambda w, a: a.get(contest_path(w, "/leaderboard")),
        expect(rest=200),
    ),
    "enter a contest": Case(
        "POST /api/v1/contests/{contest_id}/entries",  # customers enter themselves
        lambda w, a: a.post(contest_path(w, "/entries"), {"display_name": "Me"}),
        expect(rest=409, anonymous=401, holder=200, stranger=200),
    ),
    # its entrant and the organiser; the rest, the leaderboard
    "see an entry's own page": Case(
        "GET /api/v1/contests/{contest_id}/entries/{entry_id}",
        lambda w, a: a.get(contest_path(w, f"/entries/{w.contest_entry}")),
        expect(rest=403, anonymous=401, holder=200, owner_a=200, admin=200),
    ),
    "record points": Case(
        "POST /api/v1/contests/{contest_id}/points",
        lambda w, a: a.post(
            contest_path(w, "/points"), {"entry_id": w.contest_entry, "points": 1}, key=new_key()
        ),
        expect(rest=403, anonymous=401, owner_a=201, admin=201),
    ),
}


def test_who_may_do_what_in_a_club(world):
    holder, member = world.actors["holder"], world.actors["stranger"]
    world.club = holder.post(
        "/api/v1/clubs", {"name": "Readers", "display_name": "Hol", "join_policy": "approval"}
    ).json()
    assert member.post(club_path(world, "/join"), {"display_name": "Mem"}).status_code == 200
    assert holder.post(club_path(world, f"/members/{member.id}/approve")).status_code == 200
    owner_a = world.actors["owner_a"]
    assert owner_a.put(f"{biz(world)}/club-donations", {"allowed": True}).status_code == 200
    given = member.post(
        club_path(world, "/donations"),
        {"amount_minor": 50_000, "payment": {"card_number": "4242424242424242"}},
        key=new_key(),
    )
    assert given.status_code == 201, given.text
    assert_table(world, CLUB_CASES)


def test_only_a_clubs_organisers_hand_over_and_only_the_donor_or_they_refund(world):
    holder, member = world.actors["holder"], world.actors["stranger"]
    world.club = holder.post("/api/v1/clubs", {"name": "Readers", "display_name": "Hol"}).json()
    assert member.post(club_path(world, "/join"), {"display_name": "Mem"}).status_code == 200
    donations = [
        member.post(
            club_path(world, "/donations"),
            {"amount_minor": 500, "payment": {"card_number": "4242424242424242"}},
            key=new_key(),
        ).json()
        for _ in ACTORS
    ]
    held = [
        holder.post(
            club_path(world, "/purchases/gift-cards"),
            {"business_id": world.shop.business_id, "amount_minor": 100},
            key=new_key(),
        ).json()
        for _ in ACTORS
    ]
    route = "POST /api/v1/clubs/{club_id}/holdings/{holding_id}/hand-over"
    assert_refused_whatever_is_sent(
        world,
        route,
        lambda actor: actor.post(
            club_path(world, f"/holdings/{held[0]['id']}/hand-over"),
            {"member_id": member.id},
            key=new_key(),
        ),
    )
    refunds = {
        name: actor.post(club_path(world, f"/donations/{given['id']}/refund"), key=new_key())
        for (name, actor), given in zip(world.actors.items(), donations, strict=True)
    }
    assert_used_up(world, "POST /api/v1/clubs/{club_id}/donations/{donation_id}/refund", refunds)
    handed = {
        name: actor.post(
            club_path(world, f"/holdings/{holding['id']}/hand-over"),
            {"member_id": member.id},
            key=new_key(),
        )
        for (name, actor), holding in zip(world.actors.items(), held, strict=True)
    }
    assert_used_up(world, "POST /api/v1/clubs/{club_id}/holdings/{holding_id}/hand-over", handed)


def test_who_may_do_what_with_contests(world):
    # Shop A's contest, which the card holder entered.
    world.contest = world.actors["owner_a"].post(f"{biz(world)}/contests", contest_rules()).json()
    entered = world.actors["holder"].post(contest_path(world, "/entries"), {"display_name": "H"})
    world.contest_entry = entered.json()["id"]
    assert_table(world, CONTEST_CASES)


# -- every route of the API has a row above --------------------------------------------------

TABLES = [CASES, WEBHOOK_CASES, CLUB_CASES, CONTEST_CASES]

# Outside the REST API, each checked elsewhere: the console's, the shop's and the account
# pages (their every-route tests and who-may tests below, tests/server/test_account_links.py),
# FastAPI's own docs, and the operations endpoints (tests/server/test_operations.py).
NOT_THE_API = (
    "/console",
    "/shop",
    "/account",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/metrics",
)


def matrix_routes():
    return {case.route for table in TABLES for case in table.values()} | set(USED_UP)


def test_every_api_route_is_in_the_matrix(client):
    def in_the_api(route):
        path = route.split(" ", 1)[1]
        return not any(path == p or path.startswith(f"{p}/") for p in NOT_THE_API)

    routes = {route for route in app_routes(client.app) if in_the_api(route)}
    missing, gone = sorted(routes - matrix_routes()), sorted(matrix_routes() - routes)
    assert not missing, "routes with no row in the matrix:\n" + "\n".join(missing)
    assert not gone, "rows for routes the app does not have:\n" + "\n".join(gone)


# -- the web console: only an admin's console session opens it ------------------------------

CONSOLE_ROUTES = {
    ("GET", "/console/"),
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("POST", "/console/sign-out"),
    ("GET", "/console/businesses"),
    ("GET", "/console/businesses/{business_id}"),
    ("POST", "/console/businesses/{business_id}/{action}"),
    ("GET", "/console/audit"),
    ("GET", "/console/lists/{name}"),
    ("POST", "/console/fraud-reviews/{review_id}/resolve"),
}
OPEN_TO_ALL = {("GET", "/console/sign-in"), ("POST", "/console/sign-in")}


def test_every_console_route_is_in_the_matrix():
    from fastapi.routing import APIRoute

    from server.console.router import router

    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    found = {(method, route.path) for route in routes for method in route.methods or ()}
    assert found == CONSOLE_ROUTES


def test_console_pages_and_forms_refuse_everyone_without_an_admins_console_session(world, client):
    """API tokens (an admin's too) open nothing here, nor does a console cookie signed for
    someone who is not an admin: each is sent to sign in, and no form changes anything."""
    from tests.server.console import csrf_of

    holder = world.actors["holder"]
    forged = client.app.state.token_signer.console_session(holder.id, "not-a-session")
    csrf = csrf_of(client.get("/console/sign-in").text)
    for name, actor in [*world.actors.items(), ("forged cookie", world.actors["anonymous"])]:
        client.cookies.clear()
        client.cookies.set("tillpoint_console_csrf", csrf, path="/console")
        if name == "forged cookie":
            client.cookies.set("tillpoint_console", forged, path="/console")
        for method, path in sorted(CONSOLE_ROUTES - OPEN_TO_ALL):
            url = path.replace("{business_id}", world.shop.business_id)
            url = url.replace("{action}", "suspend").replace("{name}", "users")
            url = url.replace("{review_id}", "somereview")
            response = client.request(
                method,
                url,
                headers=actor.headers,
                data={"csrf": csrf, "reason": "x", "outcome": "cleared"}
                if method == "POST"
                else None,
                follow_redirects=False,
            )
            assert (name, path, response.status_code) == (name, path, 303)
            assert response.headers["location"] == "/console/sign-in"
    assert world.shop.owner.get(f"/api/v1/businesses/{world.shop.business_id}").status_code == 200


def test_only_the_owner_removes_a_staff_member(world, client):
    owner = world.actors["owner_a"]
    staff_ids = [
        owner.post(
            f"{biz(world)}/staff", {"email": f"{new_key()[:8]}@example.com", "password": PASSWORD}
        ).json()["id"]
        for _ in ACTORS
    ]
    answers = {
        name: actor.delete(f"{biz(world)}/staff/{staff_id}")
        for (name, actor), staff_id in zip(world.actors.items(), staff_ids, strict=True)
    }
    assert_used_up(world, "DELETE /api/v1/businesses/{business_id}/staff/{user_id}", answers)
    left = {s["id"] for s in owner.get(f"{biz(world)}/staff").json()["items"]}
    gone = {s for name, s in zip(ACTORS, staff_ids, strict=True) if name in {"owner_a", "admin"}}
    assert left == (set(staff_ids) - gone) | {world.actors["staff_a"].id}


def test_a_manager_manages_listings_and_reads_lists_but_not_the_business_or_staff(world):
    owner, manager = world.actors["owner_a"], world.actors["staff_a"]
    assert owner.patch(f"{biz(world)}/staff/{manager.id}", {"role": "manager"}).status_code == 200
    other_manager = world.actors["staff_b"]
    other = f"/api/v1/businesses/{other_business(world)}"
    world.actors["owner_b"].patch(f"{other}/staff/{other_manager.id}", {"role": "manager"})
    allowed = {
        "add a product": manager.post(f"{biz(world)}/products", {"name": "P", "price_minor": 1}),
        "change a deal": manager.patch(f"{biz(world)}/deals/{world.deal['id']}", {"title": "T"}),
        "list own deals": manager.get(f"{biz(world)}/deals"),
        "read one own deal": manager.get(f"{biz(world)}/deals/{world.deal['id']}"),
        "list staff": manager.get(f"{biz(world)}/staff"),
        "list terminals": manager.get(f"{biz(world)}/devices"),
        "list holds": manager.get(f"{biz(world)}/holds"),
        "list vouchers sold": manager.get(f"{biz(world)}/vouchers"),
        "run a contest": manager.post(f"{biz(world)}/contests", contest_rules()),
    }
    made = {"add a product", "run a contest"}
    assert {name: r.status_code for name, r in allowed.items()} == {
        **dict.fromkeys(made, 201),
        **{name: 200 for name in allowed if name not in made},
    }
    refused = {
        "change the business": manager.patch(biz(world), {"description": "mine"}),
        "close the business": manager.delete(biz(world)),
        "change a role": manager.patch(f"{biz(world)}/staff/{manager.id}", {"role": "cashier"}),
        "another business's deals": other_manager.get(f"{biz(world)}/deals"),
        "another business's deal": other_manager.get(f"{biz(world)}/deals/{world.deal['id']}"),
        "another business's contest": other_manager.post(f"{biz(world)}/contests", contest_rules()),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    # What only the owner does: the manager is told so whatever they send, and only what they
    # may do answers what the request should say.
    nonsense = TalkingNonsense(**vars(manager))
    owner_only = {
        "set the offline limits": nonsense.put(f"{biz(world)}/offline-limits"),
        "change the business": nonsense.patch(biz(world)),
        "change a role": nonsense.patch(f"{biz(world)}/staff/{manager.id}"),
        "refund onto a card": nonsense.post(f"{biz(world)}/refunds", key=new_key()),
        "set a till PIN": nonsense.put(f"{biz(world)}/till-staff/{manager.id}"),
    }
    assert {name: problem_of(r) for name, r in owner_only.items()} == dict.fromkeys(
        owner_only, (403, "owner-only")
    )
    assert problem_of(nonsense.post(f"{biz(world)}/products")) == (422, "invalid-request")
    # A body that is not JSON at all is refused as such before anything else, on a route
    # checked by a dependency and on one checked in its lane alike; one sent as something
    # other than JSON is a request like any other.
    customer = world.actors["holder"]
    for actor, method, path in [
        (manager, "PUT", f"{biz(world)}/offline-limits"),
        (customer, "POST", f"{biz(world)}/redemptions"),
    ]:
        for content_type, content, status in [
            ("application/json", b"{not json", 422),
            ("text/plain", b"not json", 403),
        ]:
            headers = {**actor.headers, "Idempotency-Key": new_key(), "Content-Type": content_type}
            sent = actor.client.request(method, path, content=content, headers=headers)
            assert (path, content_type, sent.status_code) == (path, content_type, status)


def problem_of(answer):
    return answer.status_code, answer.json()["type"].rsplit("/", 1)[-1]


def other_business(world):
    """Shop B's id, as its owner's business list has it."""
    return world.actors["owner_b"].get("/api/v1/me").json()["businesses"][0]


# -- the gift-card shop: public pages, the same for everyone ---------------------------------

SHOP_ROUTES = {
    ("GET", "/shop/{business_id}"),
    ("POST", "/shop/{business_id}"),
    ("GET", "/shop/{business_id}/bought/{gift_id}"),
    ("GET", "/shop/balance"),
    ("POST", "/shop/balance"),
    ("GET", "/shop/sign-in"),
    ("POST", "/shop/sign-in"),
    ("POST", "/shop/sign-out"),
    ("GET", "/shop/my-cards"),
    ("GET", "/shop/claim-gift"),
    ("POST", "/shop/claim-gift"),
    # Any other address under /shop: a not-found page in words.
    ("GET", "/shop"),
    ("GET", "/shop/"),
    ("GET", "/shop/{rest:path}"),
    ("HEAD", "/shop/{rest:path}"),
    ("POST", "/shop/{rest:path}"),
}


def test_every_shop_route_is_in_the_matrix():
    from fastapi.routing import APIRoute

    from server.shop.router import router

    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    found = {(method, route.path) for route in routes for method in route.methods or ()}
    assert found == SHOP_ROUTES


def test_the_shop_is_open_to_everyone_and_a_purchase_shows_only_under_its_business(world, client):
    """No sign-in: every caller (an API token changes nothing) sees the shop and the same
    confirmation; a purchase's confirmation under another business's id is not found."""
    import re

    from tests.server.console import csrf_of

    shop_a, shop_c = world.shop.business_id, open_shop(client, "Shop C").business_id
    page = client.get(f"/shop/{shop_a}")
    once = re.search(r'name="once" value="([^"]+)"', page.text)
    assert once is not None
    fields = {
        "csrf": csrf_of(page.text),
        "once": once.group(1),
        "amount": "5",
        "email": "pat@example.com",
        "card_number": "4242424242424242",
    }
    bought = client.post(f"/shop/{shop_a}", data=fields, follow_redirects=False)
    assert bought.status_code == 303
    gift_id = bought.headers["location"].rsplit("/", 1)[1]
    for name, actor in world.actors.items():
        client.cookies.clear()
        for path, status in [
            (f"/shop/{shop_a}", 200),
            (f"/shop/{shop_a}/bought/{gift_id}", 200),
            (f"/shop/{shop_c}/bought/{gift_id}", 404),
            ("/shop/balance", 200),
        ]:
            answer = client.get(path, headers=actor.headers)
            assert (name, path, answer.status_code) == (name, path, status)
        csrf = csrf_of(client.get("/shop/balance").text)
        checked = client.post("/shop/balance", data={"csrf": csrf, "code": "AAAA-BBBB-CCCC"})
        assert (name, checked.status_code) == (name, 404)


def test_a_customers_shop_pages_need_their_shop_session(world, client):
    """API tokens open nothing there, nor does a console cookie: each is sent to sign in."""
    from tests.server.console import csrf_of

    holder = world.actors["holder"]
    console = client.app.state.token_signer.console_session(holder.id, "not-a-session")
    csrf = csrf_of(client.get("/shop/sign-in").text)
    for name, actor in [*world.actors.items(), ("console cookie", world.actors["anonymous"])]:
        if name == "console cookie":
            client.cookies.set("tillpoint_shop", console, path="/shop")
        for method, path in [
            ("GET", "/shop/my-cards"),
            ("POST", "/shop/sign-out"),
            ("POST", "/shop/claim-gift"),
        ]:
            answer = client.request(
                method,
                path,
                headers=actor.headers,
                data={"csrf": csrf} if method == "POST" else None,
                follow_redirects=False,
            )
            assert (name, path, answer.status_code) == (name, path, 303)
            assert answer.headers["location"] == "/shop/sign-in"


# -- the account pages the emailed links open: for whoever holds the code, no sign-in ---------

ACCOUNT_ROUTES = {
    ("GET", "/account/verify-email"),
    ("POST", "/account/verify-email"),
    ("GET", "/account/email-confirmed"),
    ("GET", "/account/reset-password"),
    ("POST", "/account/reset-password"),
    ("GET", "/account/password-changed"),
    # Any other address under /account: a not-found page in words.
    ("GET", "/account"),
    ("GET", "/account/{rest:path}"),
    ("HEAD", "/account/{rest:path}"),
    ("POST", "/account/{rest:path}"),
}


def test_every_account_page_route_is_in_the_matrix():
    from fastapi.routing import APIRoute

    from server.web.account_pages.router import router

    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    found = {(method, route.path) for route in routes for method in route.methods or ()}
    assert found == ACCOUNT_ROUTES
