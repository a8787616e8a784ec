"""Gift cards through the API, as the mobile app buys them and the till redeems them.
Every test ends with the ledger invariant checked (see conftest)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from server import deps
from server.deps import user_of
from server.wallet import cards
from server.wallet.models import GiftCard, Transfer
from sync.tokens import TrustList, Verifier
from tests.server.api import APPROVE, buy_card, log_in, new_key, open_shop


@pytest.fixture
def card(customer, shop):
    response = buy_card(customer, shop, 5000)
    assert response.status_code == 201, response.text
    return response.json()


def balance(actor, card_id):
    return actor.get(f"/api/v1/gift-cards/{card_id}").json()["balance"]["minor"]


def test_buying_a_card_gives_a_signed_token_worth_its_value(client, card, shop):
    assert card["balance"] == {"minor": 5000, "currency": "GBP", "text": "£50.00"}
    trust = TrustList.from_json(client.get("/api/v1/trust-list").json())
    claims = Verifier(trust).verify(card["token"]).tillpoint
    assert claims is not None
    assert claims.kind.label == "gift_card"
    assert claims.currency == "GBP"
    assert len(card["token"]) <= 220


def test_declined_payment_creates_nothing(customer, shop, sessions):
    response = buy_card(customer, shop, 5000, card_number="4000 0000 0000 0002")
    assert response.status_code == 402
    assert response.json()["decline_code"] == "card_declined"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(GiftCard)) == 0
        assert session.scalar(select(func.count()).select_from(Transfer)) == 0


def test_invalid_card_number_is_explained(customer, shop):
    response = buy_card(customer, shop, 5000, card_number="1234")
    assert response.status_code == 402
    assert "not valid" in response.json()["detail"]


def test_mutations_need_an_idempotency_key(customer, shop):
    response = customer.post(
        f"/api/v1/businesses/{shop.business_id}/gift-cards",
        {"amount_minor": 100, "payment": {"card_number": "4242424242424242"}},
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/idempotency-key-missing")


def buy_nonsense(actor, shop, headers):
    """A purchase no one may make as sent (its amount is not a number)."""
    return actor.client.post(
        f"/api/v1/businesses/{shop.business_id}/gift-cards",
        json={"amount_minor": "a lot", "payment": {"card_number": APPROVE}},
        headers={**headers, "Idempotency-Key": new_key()},
    )


def kind_of(answer):
    return answer.status_code, answer.json()["type"].rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    ("who", "answer"),
    [("customer", (422, "invalid-request")), ("cashier", (403, "forbidden-role"))],
)
def test_an_invalid_purchase_reads_the_token_as_the_route_does(customer, shop, who, answer):
    """Spaces after "Bearer" are not part of the token, for the check that runs before a
    422 as for the route itself (FastAPI's reading)."""
    actor = customer if who == "customer" else shop.cashier
    token = actor.headers["Authorization"].removeprefix("Bearer ")
    assert kind_of(buy_nonsense(actor, shop, {"Authorization": f"Bearer  {token}"})) == answer


def test_an_invalid_purchase_whose_buyer_cannot_be_checked_is_asked_to_try_again(
    client, customer, shop, monkeypatch
):
    """What is wrong with the request is not said to a caller who could not be checked: the
    caller is asked to try again in a moment."""

    def unreachable(claims):
        raise ConnectionError("the shared state is not answering")

    monkeypatch.setattr(client.app.state.deny_list, "refuses", unreachable)
    answer = buy_nonsense(customer, shop, customer.headers)
    assert kind_of(answer) == (503, "caller-not-checked")
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert "try again in a moment" in answer.json()["detail"]
    assert "amount_minor" not in answer.text


def test_an_invalid_purchase_checks_its_buyer_again_after_a_lost_connection(shop, monkeypatch):
    lost: list[object] = []

    def once_lost(session, request, claims):
        if not lost:
            lost.append(claims)
            gone = Exception("server closed the connection unexpectedly")
            raise OperationalError("SELECT users", {}, gone, connection_invalidated=True)
        return user_of(session, request, claims)

    monkeypatch.setattr(deps, "user_of", once_lost)
    refused = buy_nonsense(shop.cashier, shop, shop.cashier.headers)
    assert (kind_of(refused), len(lost)) == ((403, "forbidden-role"), 1)


def test_redeem_part_of_a_card_by_scanning_it(shop, card, customer):
    response = shop.redeem(1250, token=card["token"])
    assert response.status_code == 200, response.text
    assert response.json()["balance_after"]["text"] == "£37.50"
    assert balance(customer, card["id"]) == 3750


def test_overdrawing_is_refused_and_changes_nothing(shop, card, customer):
    response = shop.redeem(5001, card_id=card["id"])
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("/insufficient-balance")
    assert "£50.00" in body["detail"]
    assert body["balance_minor"] == 5000
    assert balance(customer, card["id"]) == 5000


def test_a_retry_returns_the_first_answer_and_applies_once(shop, card, customer):
    key = new_key()
    first = shop.redeem(1000, card_id=card["id"], key=key)
    again = shop.redeem(1000, card_id=card["id"], key=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert balance(customer, card["id"]) == 4000


def test_a_refused_request_is_replayed_even_when_it_would_now_go_through(shop, card, customer):
    spent = shop.redeem(2000, card_id=card["id"]).json()
    key = new_key()
    refused = shop.redeem(4000, card_id=card["id"], key=key)
    assert refused.status_code == 409
    refunded = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": spent["id"], "amount_minor": 2000, "reason": "returned"},
        key=new_key(),
    )
    assert refunded.status_code == 200, refunded.text
    assert balance(customer, card["id"]) == 5000  # enough now, but this key was answered
    again = shop.redeem(4000, card_id=card["id"], key=key)
    assert (again.status_code, again.json()) == (409, refused.json())
    assert balance(customer, card["id"]) == 5000


def test_the_same_key_with_another_body_is_a_conflict(shop, card, customer):
    key = new_key()
    assert shop.redeem(1000, card_id=card["id"], key=key).status_code == 200
    response = shop.redeem(2000, card_id=card["id"], key=key)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert balance(customer, card["id"]) == 4000


def test_buying_twice_with_one_key_makes_one_card(customer, shop):
    key = new_key()
    first, again = buy_card(customer, shop, 2500, key=key), buy_card(customer, shop, 2500, key=key)
    assert first.json()["id"] == again.json()["id"]
    assert len(customer.get("/api/v1/me/gift-cards").json()["items"]) == 1


def test_your_cards_come_a_page_at_a_time_oldest_first(customer, shop):
    bought = [buy_card(customer, shop, minor).json()["id"] for minor in (1000, 2000, 3000)]
    first = customer.get("/api/v1/me/gift-cards", params={"limit": 2}).json()
    assert ([c["id"] for c in first["items"]], first["total"]) == (bought[:2], 3)
    rest = customer.get("/api/v1/me/gift-cards", params={"offset": first["next_offset"]}).json()
    assert ([c["id"] for c in rest["items"]], rest["next_offset"]) == (bought[2:], None)


@pytest.mark.parametrize(
    ("token", "code"),
    [("TP1:not-base45", "bad_base45"), ("HELLO", "bad_prefix")],
)
def test_a_bad_scan_says_what_is_wrong(shop, token, code):
    response = shop.redeem(100, token=token)
    assert response.status_code == 422
    assert response.json()["error"] == code


def test_another_shops_card_is_refused_at_the_till(client, card):
    other = open_shop(client, "Other Shop")
    response = other.redeem(100, token=card["token"])
    assert response.status_code == 422
    assert response.json()["error"] == "wrong_issuer"
    # What the cashier does first; what was found after, for whoever digs further.
    assert response.json()["detail"].startswith(
        "The code belongs to another business: it cannot be redeemed here (issued by business "
    )


def test_history_lists_every_movement(shop, card, customer):
    shop.redeem(700, card_id=card["id"])
    entries = customer.get(f"/api/v1/gift-cards/{card['id']}/history").json()["entries"]
    assert [(e["kind"], e["amount"]["minor"]) for e in entries] == [
        ("purchase", 5000),
        ("redemption", -700),
    ]


def test_qr_images_for_the_holder(customer, card, shop):
    png = customer.get(f"/api/v1/gift-cards/{card['id']}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = customer.get(f"/api/v1/gift-cards/{card['id']}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    # The code is the customer's to show: the shop cannot fetch it.
    assert shop.cashier.get(f"/api/v1/gift-cards/{card['id']}/qr.png").status_code == 404


def test_reissue_revokes_the_old_code(customer, card, shop):
    response = customer.post(f"/api/v1/gift-cards/{card['id']}/reissue")
    assert response.status_code == 200
    new_token = response.json()["token"]
    assert new_token != card["token"]
    old = shop.redeem(100, token=card["token"])
    assert (old.status_code, old.json()["error"]) == (422, "revoked")
    assert shop.redeem(100, token=new_token).status_code == 200


def test_hold_then_post_part(shop, card, customer):
    base = f"/api/v1/businesses/{shop.business_id}/holds"
    held = shop.cashier.post(base, {"card_id": card["id"], "amount_minor": 2000}, key=new_key())
    assert held.status_code == 201, held.text
    assert balance(customer, card["id"]) == 3000
    hold_id = held.json()["id"]
    posted = shop.cashier.post(f"{base}/{hold_id}/post", {"amount_minor": 1500}, key=new_key())
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "posted"
    assert balance(customer, card["id"]) == 3500
    again = shop.cashier.post(f"{base}/{hold_id}/void", key=new_key())
    assert (again.status_code, again.json()["type"].split("/")[-1]) == (409, "hold-closed")


def test_hold_void_returns_everything(shop, card, customer):
    base = f"/api/v1/businesses/{shop.business_id}/holds"
    held = shop.cashier.post(base, {"card_id": card["id"], "amount_minor": 2000}, key=new_key())
    voided = shop.cashier.post(f"{base}/{held.json()['id']}/void", key=new_key())
    assert voided.json()["status"] == "voided"
    assert balance(customer, card["id"]) == 5000


def test_posting_more_than_held_is_refused(shop, card):
    base = f"/api/v1/businesses/{shop.business_id}/holds"
    held = shop.cashier.post(base, {"card_id": card["id"], "amount_minor": 500}, key=new_key())
    response = shop.cashier.post(
        f"{base}/{held.json()['id']}/post", {"amount_minor": 501}, key=new_key()
    )
    assert response.status_code == 422


def test_expired_holds_go_back_to_the_card(shop, card, customer, sessions):
    base = f"/api/v1/businesses/{shop.business_id}/holds"
    shop.cashier.post(
        base, {"card_id": card["id"], "amount_minor": 900, "expires_in_seconds": 30}, key=new_key()
    )
    with sessions() as session:
        assert cards.expire_holds(session, datetime.now(UTC) + timedelta(seconds=31)) == 1
        session.commit()
    assert balance(customer, card["id"]) == 5000


def test_refund_puts_value_back(shop, card, customer):
    spent = shop.redeem(2000, card_id=card["id"]).json()
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": spent["id"], "amount_minor": 500, "reason": "returned"},
        key=new_key(),
    )
    assert response.status_code == 200, response.text
    assert balance(customer, card["id"]) == 3500


def test_cashiers_cannot_refund(shop, card):
    spent = shop.redeem(2000, card_id=card["id"]).json()
    response = shop.cashier.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": spent["id"], "amount_minor": 500, "reason": "returned"},
        key=new_key(),
    )
    assert response.status_code == 403


def test_move_value_between_cards_of_one_business(customer, shop, card):
    other = buy_card(customer, shop, 1000).json()
    response = customer.post(
        f"/api/v1/gift-cards/{card['id']}/transfers",
        {"to_card_id": other["id"], "amount_minor": 1500},
        key=new_key(),
    )
    assert response.status_code == 200, response.text
    assert (balance(customer, card["id"]), balance(customer, other["id"])) == (3500, 2500)


def test_moving_more_than_a_card_holds_changes_neither_card(customer, shop, card):
    # The target card is the older one, so the ledger credits it before it finds the
    # source short: the refusal must take that credit back too, and replay as refused.
    newer = buy_card(customer, shop, 1000).json()
    key = new_key()
    for _ in range(2):
        response = customer.post(
            f"/api/v1/gift-cards/{newer['id']}/transfers",
            {"to_card_id": card["id"], "amount_minor": 1001},
            key=key,
        )
        assert response.status_code == 409, response.text
        assert response.json()["type"].endswith("/insufficient-balance")
        assert response.json()["detail"] == (
            "The card holds £10.00, less than £10.01: move at most £10.00."
        )
    assert (balance(customer, newer["id"]), balance(customer, card["id"])) == (1000, 5000)


def test_no_moving_value_to_another_business(client, customer, shop, card):
    elsewhere = buy_card(customer, open_shop(client, "Elsewhere"), 1000).json()
    response = customer.post(
        f"/api/v1/gift-cards/{card['id']}/transfers",
        {"to_card_id": elsewhere["id"], "amount_minor": 100},
        key=new_key(),
    )
    assert response.status_code == 422
    assert balance(customer, card["id"]) == 5000


def test_expiry_moves_the_rest_to_breakage(shop, card, customer, sessions):
    shop.redeem(1000, card_id=card["id"])
    with sessions() as session:
        assert cards.expire_cards(session, datetime.now(UTC) + cards.CARD_LIFETIME) == 1
        session.commit()
    shown = customer.get(f"/api/v1/gift-cards/{card['id']}").json()
    assert (shown["status"], shown["balance"]["minor"]) == ("expired", 0)
    response = shop.redeem(100, card_id=card["id"])
    assert (response.status_code, response.json()["type"].split("/")[-1]) == (409, "card-expired")


def test_a_cashier_with_a_very_long_email_can_redeem(client, shop, card):
    email = "a" * 64 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com"
    response = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/staff",
        {"email": email, "password": "long enough pw"},
    )
    assert response.status_code == 201, response.text
    cashier = log_in(client, email, "long enough pw")
    assert shop.redeem(100, card_id=card["id"], by=cashier).status_code == 200
