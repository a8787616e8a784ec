"""Card payments behind one adapter interface; a simulated gateway is the default."""

from .gateway import (
    Charge,
    PaymentDeclinedError,
    PaymentGateway,
    SavedCard,
    SimulatedGateway,
    UnknownGatewayError,
    make_gateway,
    payment_card_key,
    take_payment,
)

__all__ = [
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
