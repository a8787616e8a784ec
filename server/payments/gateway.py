"""The payment gateway interface, and a simulated gateway that declines by test card
number, as Stripe's test cards do. A real gateway's adapter implements the same Protocol."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Protocol

from sync.money import Money

from ..errors import PaymentDeclined
from ..ids import PAYMENT_CARD_KEY_LENGTH, make_id
from ..settings import Settings

__all__ = [
    "TEST_CARDS",
    "Charge",
    "PaymentDeclinedError",
    "PaymentGateway",
    "SavedCard",
    "SimulatedGateway",
    "UnknownGatewayError",
    "make_gateway",
    "payment_card_key",
    "take_payment",
]


@dataclass(frozen=True)
class Charge:
    reference: str
    amount: Money


@dataclass(frozen=True)
class SavedCard:
    """A card the gateway keeps: its token to charge later, and the last four digits to show.
    The number itself is never stored by Tillpoint."""

    token: str
    last4: str


class PaymentDeclinedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PaymentGateway(Protocol):
    def charge(self, amount: Money, card_number: str, idempotency_key: str) -> Charge:
        """Take `amount` from a card number, or a saved card's token; the same key returns
        the same charge. Raises PaymentDeclinedError."""
        ...

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> str:
        """Give `amount` of the charge `reference` back to the card it came from; the
        refund's reference. The same key refunds once."""
        ...

    def save_card(self, card_number: str) -> SavedCard:
        """Keep a card for later charges; PaymentDeclinedError when the number is not valid.
        The same number gives the same token: Tillpoint knows a payment card by it
        (`payment_card_key`)."""
        ...


# Stripe's published test numbers and what they do.
TEST_CARDS: dict[str, tuple[str, str] | None] = {
    "4242424242424242": None,
    "5555555555554444": None,
    "4000000000000002": ("card_declined", "The card was declined: use another card."),
    "4000000000009995": (
        "insufficient_funds",
        "The card has insufficient funds: use another card.",
    ),
    "4000000000000069": ("expired_card", "The card has expired: use another card."),
    "4000000000000127": ("incorrect_cvc", "The card's security code is wrong."),
    "4000000000000119": ("processing_error", "The payment could not be processed: try again."),
}


def take_payment(gateway: PaymentGateway, amount: Money, card_number: str, key: str) -> str:
    """Charge the card through the gateway: the charge's reference, or `PaymentDeclined`
    saying why not. `key` makes a retry charge once."""
    try:
        return gateway.charge(amount, card_number, key).reference
    except PaymentDeclinedError as exc:
        raise PaymentDeclined(exc.message, decline_code=exc.code) from None


def payment_card_key(gateway: PaymentGateway, card_number: str) -> str:
    """How Tillpoint knows a payment card without keeping its number: the gateway's token
    for it and its last four digits (`tok_visa:4242`). The one form stored for a card a
    customer pays with — the daily load limit and the fraud rules both count by it.
    `PaymentDeclined` when the gateway refuses the number."""
    try:
        saved = gateway.save_card(card_number)
    except PaymentDeclinedError as exc:
        raise PaymentDeclined(exc.message, decline_code=exc.code) from None
    return f"{saved.token}:{saved.last4}"[:PAYMENT_CARD_KEY_LENGTH]


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    odd = digits[-1::-2]
    even = [sum(divmod(2 * d, 10)) for d in digits[-2::-2]]
    return (sum(odd) + sum(even)) % 10 == 0


# Saved test cards are tokens named after Stripe's test tokens, so every process and host
# (and the CLI's billing run) charges them alike without sharing the gateway's memory.
_SAVED_TEST_CARDS = {
    "4242424242424242": "tok_visa",
    "5555555555554444": "tok_mastercard",
    "4000000000000002": "tok_chargeDeclined",
    "4000000000009995": "tok_chargeDeclinedInsufficientFunds",
    "4000000000000069": "tok_chargeDeclinedExpiredCard",
    "4000000000000127": "tok_chargeDeclinedIncorrectCvc",
    "4000000000000119": "tok_chargeDeclinedProcessingError",
}
_TEST_TOKENS = {token: number for number, token in _SAVED_TEST_CARDS.items()}


class SimulatedGateway:
    """Approves 4242… and 5555…4444, declines the other test numbers, refuses the rest;
    saves test cards as `tok_…` tokens."""

    def __init__(self) -> None:
        self._charges: dict[str, Charge] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _test_number(card_number: str) -> str:
        if card_number in _TEST_TOKENS:
            return _TEST_TOKENS[card_number]
        number = card_number.replace(" ", "").replace("-", "")
        if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn_ok(number):
            raise PaymentDeclinedError("invalid_number", "The card number is not valid.")
        if number not in TEST_CARDS:
            raise PaymentDeclinedError(
                "test_mode",
                "The simulated gateway takes test card numbers only, e.g. 4242 4242 4242 4242.",
            )
        return number

    def save_card(self, card_number: str) -> SavedCard:
        number = self._test_number(card_number)
        return SavedCard(_SAVED_TEST_CARDS[number], number[-4:])

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> str:
        with self._lock:
            key = f"refund:{idempotency_key}"
            if key not in self._charges:
                self._charges[key] = Charge(f"sim_re_{make_id()}", amount)
            return self._charges[key].reference

    def charge(self, amount: Money, card_number: str, idempotency_key: str) -> Charge:
        number = self._test_number(card_number)
        decline = TEST_CARDS[number]
        if decline is not None:
            raise PaymentDeclinedError(*decline)
        with self._lock:
            if idempotency_key not in self._charges:
                self._charges[idempotency_key] = Charge(f"sim_{make_id()}", amount)
            return self._charges[idempotency_key]


class UnknownGatewayError(ValueError):
    """`payment_gateway` names no gateway; the message says what it may be."""


def make_gateway(settings: Settings) -> PaymentGateway:
    """The gateway the settings name: the one factory the server and the CLI's billing run
    share, so both charge through the same gateway."""
    name = settings.payment_gateway.strip()
    if name == "simulated":
        return SimulatedGateway()
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise UnknownGatewayError(
            f"payment gateway {name!r}: use `simulated` or `module:factory`, a callable that "
            "takes the settings and returns the gateway"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UnknownGatewayError(f"payment gateway {name!r} cannot be loaded: {exc}") from None
    gateway: PaymentGateway = factory(settings)
    return gateway
