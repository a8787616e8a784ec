"""A token's id (cti) is 4 random bytes, unique within its business: a new card whose
drawn id is already taken gets another, and the sale goes through."""

from sqlalchemy import select

from server.wallet import tokens
from server.wallet.models import GiftCard, IssuedToken
from sync.tokens import id_text
from tests.server.api import buy_card


def test_a_card_whose_token_id_is_taken_draws_another(monkeypatch, sessions, shop, customer):
    drawn = iter([b"\x01\x02\x03\x04", b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"])
    monkeypatch.setattr(tokens, "new_token_id", lambda: next(drawn))
    first = buy_card(customer, shop, 1000)
    second = buy_card(customer, shop, 1000)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    with sessions() as session:
        issued = {
            row.id: row.token_id for row in session.execute(select(GiftCard.id, GiftCard.token_id))
        }
        recorded = set(session.scalars(select(IssuedToken.token_id)))
    assert issued == {
        first.json()["id"]: id_text(b"\x01\x02\x03\x04"),
        second.json()["id"]: id_text(b"\x05\x06\x07\x08"),
    }
    assert recorded == set(issued.values())
