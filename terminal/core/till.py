"""The till: online first, offline when the server does not answer — never a manual switch.
Every verdict says which mode decided and why, in words a cashier can read out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sync.client import ServerRefusedError, ServerUnreachableError, SyncClient
from sync.money import Money
from sync.tokens import (
    Kind,
    TokenClaims,
    TokenError,
    TrustList,
    Verifier,
    decode,
    id_text,
    parse_id,
)
from sync.wire import VOID_WINDOW

from .kinds import CardStatus, Mode, RedemptionKind
from .store import JournalEntry, TerminalStore

__all__ = ["Till", "Verdict", "VoidRefusedError"]

NOT_SYNCED = (
    "The server cannot be reached and this terminal has not synced yet: connect it "
    "once, then try again."
)


@dataclass(frozen=True)
class Verdict:
    approved: bool
    mode: Mode
    reason: str
    balance_after: Money | None = None  # what is left on a gift card; a voucher's face value
    subject_id: str | None = None  # the card or voucher
    reference: str | None = None  # an approval's key: what a void names, what a receipt shows


class VoidRefusedError(Exception):
    """Policy does not allow this void; the message says why, in words."""


class _Refused(Exception):
    """An offline check failed; the message is the cashier's reason."""


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

    # -- gift cards -------------------------------------------------------------------

    def redeem(self, token: str, amount_minor: int) -> Verdict:
        """Take `amount_minor` off the gift card whose code was scanned."""
        key = str(uuid.uuid4())
        try:
            answer = self.client.redeem_online(token, amount_minor, key)
        except ServerUnreachableError:
            return self._offline(lambda: self._card_offline(token, amount_minor, key))
        except ServerRefusedError as refused:
            if refused.answer.balance_minor is not None:
                self._remember_balance(token, refused.answer.balance_minor)
            return Verdict(False, Mode.ONLINE, str(refused))
        after = answer.balance_after.money()
        self.store.cache_card(answer.card_id, after.currency.code, after.minor, CardStatus.ACTIVE)
        amount = answer.amount.money()
        self.store.note_redemption(
            RedemptionKind.GIFT_CARD, answer.card_id, amount, Mode.ONLINE, after, key
        )
        return Verdict(True, Mode.ONLINE, "Approved by the server.", after, answer.card_id, key)

    def _remember_balance(self, token: str, balance_minor: int) -> None:
        """The server said how much the card holds: keep it for offline use."""
        try:
            claims = decode(token).tillpoint
        except TokenError:
            return
        if claims is not None:
            self.store.cache_card(
                id_text(claims.subject), claims.currency, balance_minor, CardStatus.ACTIVE
            )

    def _card_offline(self, token: str, amount_minor: int, key: str) -> Verdict:
        claims = self._verified(token, Kind.GIFT_CARD)
        card_id = id_text(claims.subject)
        card = self.store.card(card_id)
        if card is None:
            raise _Refused(
                "Offline, and this card has not been seen by this terminal yet: "
                "take another payment method."
            )
        if card.status is not CardStatus.ACTIVE:
            raise _Refused(f"Offline, and the card is {card.status}.")
        self._within_limits(card_id, card.currency, amount_minor)
        if amount_minor > card.balance_minor:
            shown = Money.of(card.balance_minor, card.currency).format()
            raise _Refused(f"Offline, the card shows {shown}: redeem at most that.")
        self.store.record_offline_redemption(card, amount_minor, key)
        after = Money.of(card.balance_minor - amount_minor, card.currency)
        amount = Money.of(amount_minor, card.currency)
        self.store.note_redemption(
            RedemptionKind.GIFT_CARD, card_id, amount, Mode.OFFLINE, after, key
        )
        return Verdict(
            True,
            Mode.OFFLINE,
            "Approved offline; it will sync when the connection is back.",
            after,
            card_id,
            key,
        )

    # -- vouchers ---------------------------------------------------------------------

    def redeem_voucher(self, token: str) -> Verdict:
        """Use the voucher whose code was scanned, once."""
        key = str(uuid.uuid4())
        try:
            answer = self.client.redeem_voucher_online(token, key)
        except ServerUnreachableError:
            return self._offline(lambda: self._voucher_offline(token, key))
        except ServerRefusedError as refused:
            return Verdict(False, Mode.ONLINE, str(refused))
        face = answer.face_value.money()
        self.store.note_redemption(RedemptionKind.VOUCHER, answer.id, face, Mode.ONLINE, None, key)
        return Verdict(True, Mode.ONLINE, "Voucher accepted by the server.", face, answer.id, key)

    def _voucher_offline(self, token: str, key: str) -> Verdict:
        claims = self._verified(token, Kind.VOUCHER)
        voucher_id = id_text(claims.subject)
        if self.store.voucher_used(voucher_id):
            raise _Refused("This voucher has already been used: it works once.")
        face = claims.face_value
        assert face is not None  # a voucher's claims always carry it
        self._within_limits(voucher_id, face.currency.code, face.minor)
        self.store.record_offline_voucher(voucher_id, face.minor, face.currency.code, key)
        self.store.note_redemption(
            RedemptionKind.VOUCHER, voucher_id, face, Mode.OFFLINE, None, key
        )
        return Verdict(
            True,
            Mode.OFFLINE,
            "Voucher accepted offline; it will sync when the connection is back.",
            face,
            voucher_id,
            key,
        )

    # -- voids ------------------------------------------------------------------------------

    def void(self, entry: JournalEntry) -> Money:
        """Take back a gift-card redemption made here within the void window (the sale was
        cancelled at the counter). Queued like an offline redemption, so it works offline;
        the amount is back on the card for this terminal at once. Raises VoidRefusedError
        with the reason when policy does not allow it."""
        if entry.kind is not RedemptionKind.GIFT_CARD:
            raise VoidRefusedError(
                "A used voucher cannot be voided at the till: the owner can reissue it."
            )
        if entry.voided:
            raise VoidRefusedError("That redemption is already voided.")
        if self.clock() - entry.at > VOID_WINDOW:
            minutes = int(VOID_WINDOW.total_seconds() // 60)
            raise VoidRefusedError(
                f"Only redemptions of the last {minutes} minutes can be voided here: "
                "the owner can refund it from the Tillpoint app."
            )
        self.store.record_void(entry)
        return entry.amount

    # -- what both share ----------------------------------------------------------------

    def _offline(self, decide: Callable[[], Verdict]) -> Verdict:
        try:
            return decide()
        except _Refused as refused:
            return Verdict(False, Mode.OFFLINE, str(refused))

    def _verified(self, token: str, kind: Kind) -> TokenClaims:
        """The token's claims, checked offline against what the terminal synced."""
        pairing = self.store.pairing()
        trust = self.store.trust_list()
        if pairing is None or trust is None or self.store.offline_limits() is None:
            raise _Refused(NOT_SYNCED)
        revoked = {parse_id(token_id) for token_id in self.store.revoked_token_ids()}
        verifier = Verifier(
            TrustList.from_json(trust),
            issuer=parse_id(pairing.business_id),
            revoked=revoked,
            clock=self.clock,
        )
        try:
            claims = verifier.verify(token).tillpoint
        except TokenError as exc:
            raise _Refused(exc.message) from None
        assert claims is not None
        if claims.kind is not kind:
            other = "a gift card" if claims.kind is Kind.GIFT_CARD else "a voucher"
            raise _Refused(f"That code is {other}: scan it as {other}.")
        return claims

    def _within_limits(self, subject_id: str, currency: str, amount_minor: int) -> None:
        """Refuse what the business's offline limits do not allow, saying which limit."""
        limits = self.store.offline_limits()
        assert limits is not None

        def money(minor: int) -> str:
            return Money.of(minor, currency).format()

        synced = self.store.synced_at()
        age = (self.clock() - datetime.fromisoformat(synced)).total_seconds() if synced else None
        if age is None or age > limits.max_cache_age_seconds:
            stale_max = limits.stale_cache_max_minor
            if amount_minor > stale_max:
                since = "ever" if age is None else f"for {age / 3600:.0f} hours"
                allowed = f"at most {money(stale_max)}" if stale_max else "nothing"
                raise _Refused(
                    f"Offline, and this terminal has not synced {since}: it may "
                    f"approve {allowed} until it syncs."
                )
        if amount_minor > limits.max_single_minor:
            raise _Refused(
                f"Offline, one redemption may be at most "
                f"{money(limits.max_single_minor)}: take the rest another way."
            )
        already = self.store.pending_minor(subject_id)
        if already + amount_minor > limits.max_per_card_minor:
            left = max(limits.max_per_card_minor - already, 0)
            raise _Refused(
                f"Offline, this card may take at most {money(left)} more at this "
                "terminal until it syncs."
            )
        if self.store.pending_minor() + amount_minor > limits.max_unsynced_minor:
            raise _Refused(
                "Offline, this terminal has reached its limit of unsynced "
                f"redemptions ({money(limits.max_unsynced_minor)}): reconnect "
                "to sync."
            )
