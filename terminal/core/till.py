"""The till: online first, offline when the server does not answer — never a manual switch.
Every verdict says which mode decided and why, in words a cashier can read out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sync.client import ServerRefusedError, ServerUnreachableError, SyncClient
from sync.money import Money
from sync.tokens import Kind, TokenError, TrustList, Verifier, decode, id_text, parse_id

from .store import TerminalStore

__all__ = ["Till", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    approved: bool
    mode: Literal["online", "offline"]
    reason: str
    balance_after: Money | None = None
    card_id: str | None = None


class Till:
    def __init__(
        self,
        store: TerminalStore,
        client: SyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock

    def redeem(self, token: str, amount_minor: int) -> Verdict:
        key = str(uuid.uuid4())
        try:
            answer = self.client.redeem_online(token, amount_minor, key)
        except ServerUnreachableError:
            return self._offline(token, amount_minor, key)
        except ServerRefusedError as refused:
            if "balance_minor" in refused.problem:
                self._remember_balance(token, int(refused.problem["balance_minor"]))
            return Verdict(False, "online", str(refused))
        balance = answer["balance_after"]
        self.store.cache_card(answer["card_id"], balance["currency"], balance["minor"], "active")
        return Verdict(
            True,
            "online",
            "Approved by the server.",
            Money.of(balance["minor"], balance["currency"]),
            answer["card_id"],
        )

    def _remember_balance(self, token: str, balance_minor: int) -> None:
        """The server said how much the card holds: keep it for offline use."""
        try:
            claims = decode(token).tillpoint
        except TokenError:
            return
        if claims is not None:
            self.store.cache_card(id_text(claims.subject), claims.currency, balance_minor, "active")

    def _offline(self, token: str, amount_minor: int, key: str) -> Verdict:
        pairing = self.store.pairing()
        trust = self.store.trust_list()
        limits = self.store.offline_limits()
        if pairing is None or trust is None or limits is None:
            return Verdict(
                False,
                "offline",
                "The server cannot be reached and this terminal "
                "has not synced yet: connect it once, then try again.",
            )
        revoked = {parse_id(token_id) for token_id in self.store.revoked_token_ids()}
        verifier = Verifier(
            TrustList.from_json(trust), issuer=parse_id(pairing.business_id), revoked=revoked
        )
        try:
            claims = verifier.verify(token).tillpoint
        except TokenError as exc:
            return Verdict(False, "offline", exc.message)
        assert claims is not None
        if claims.kind is not Kind.GIFT_CARD:
            return Verdict(
                False,
                "offline",
                "Vouchers are checked online only for now: "
                "ask the customer to come back when the connection is up.",
            )
        card_id = id_text(claims.subject)
        card = self.store.card(card_id)
        if card is None:
            return Verdict(
                False,
                "offline",
                "Offline, and this card has not been seen by "
                "this terminal yet: take another payment method.",
                card_id=card_id,
            )
        if card.status != "active":
            return Verdict(
                False, "offline", f"Offline, and the card is {card.status}.", card_id=card_id
            )
        refusal = self._over_a_limit(limits, card.id, card.currency, amount_minor)
        if refusal is not None:
            return Verdict(False, "offline", refusal, card_id=card_id)
        available = Money.of(card.balance_minor, card.currency)
        if amount_minor > card.balance_minor:
            return Verdict(
                False,
                "offline",
                f"Offline, the card shows {available.format()}: redeem at most that.",
                available,
                card_id,
            )
        self.store.record_offline_redemption(card, amount_minor, key)
        after = Money.of(card.balance_minor - amount_minor, card.currency)
        return Verdict(
            True,
            "offline",
            "Approved offline; it will sync when the connection is back.",
            after,
            card_id,
        )

    def _over_a_limit(
        self, limits: dict[str, int], card_id: str, currency: str, amount_minor: int
    ) -> str | None:
        """Which of the business's offline limits this redemption would break, in words."""

        def money(minor: int) -> str:
            return Money.of(minor, currency).format()

        synced = self.store.synced_at()
        age = (self.clock() - datetime.fromisoformat(synced)).total_seconds() if synced else None
        if age is None or age > limits["max_cache_age_seconds"]:
            stale_max = limits["stale_cache_max_minor"]
            hours = "ever" if age is None else f"for {age / 3600:.0f} hours"
            if amount_minor > stale_max:
                allowed = f"at most {money(stale_max)}" if stale_max else "nothing"
                return (
                    f"Offline, and this terminal has not synced {hours}: it may approve "
                    f"{allowed} until it syncs."
                )
        if amount_minor > limits["max_single_minor"]:
            return (
                f"Offline, one redemption may be at most {money(limits['max_single_minor'])}"
                ": take the rest another way."
            )
        card_total = self.store.pending_minor(card_id) + amount_minor
        if card_total > limits["max_per_card_minor"]:
            left = limits["max_per_card_minor"] - self.store.pending_minor(card_id)
            return (
                f"Offline, this card may take at most {money(max(left, 0))} more at this "
                "terminal until it syncs."
            )
        if self.store.pending_minor() + amount_minor > limits["max_unsynced_minor"]:
            return (
                "Offline, this terminal has reached its limit of unsynced redemptions "
                f"({money(limits['max_unsynced_minor'])}): reconnect to sync."
            )
        return None
