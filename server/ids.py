"""Short random ids (8 bytes, URL-safe base64): the same ids the tokens carry."""

from __future__ import annotations

from sync.tokens import id_text, new_id

__all__ = ["ID_LENGTH", "PAYMENT_CARD_KEY_LENGTH", "make_id"]

ID_LENGTH = 11  # characters of URL-safe base64 for 8 bytes
# How a payment card is kept (`payments.payment_card_key`): a gateway token of up to 200
# characters, ":" and the last four digits.
PAYMENT_CARD_KEY_LENGTH = 205


def make_id() -> str:
    return id_text(new_id())
