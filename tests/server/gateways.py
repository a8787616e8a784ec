"""A gateway the settings can name (`TILLPOINT_PAYMENT_GATEWAY=tests.server.gateways:Recording`),
to see which gateway the server and the CLI charge through."""

from __future__ import annotations

from typing import ClassVar

from server.payments import Charge, SimulatedGateway
from server.settings import Settings
from sync.money import Money

__all__ = ["NAME", "Recording"]

NAME = "tests.server.gateways:Recording"


class Recording(SimulatedGateway):
    """The simulated gateway, keeping the idempotency keys of the charges it took."""

    made: ClassVar[list[Recording]] = []  # every one built, oldest first

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.charged: list[str] = []
        Recording.made.append(self)

    def charge(self, amount: Money, card_number: str, idempotency_key: str) -> Charge:
        charge = super().charge(amount, card_number, idempotency_key)
        self.charged.append(idempotency_key)
        return charge
