"""The till: online first, offline when the server does not answer — never a manual switch.
Every verdict says which mode decided and why, in words a cashier can read out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sync.client import ServerAnswerError, ServerRefusedError, ServerUnreachableError, SyncClient
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
from sync.wire import MAX_AMOUNT, VOID_WINDOW

from .kinds import CardStatus, Mode, NewerValue, RedemptionKind
from .revocation import REDEEM_REFUSED, VOID_REFUSED, note_refusal
from .staff import Person
from .store import JournalEntry, TerminalStore
from .words import clock_apart, refusal

__all__ = ["VOUCHER_NOT_VOIDABLE", "Till", "Verdict", "VoidRefusedError"]

# Nothing un-uses a voucher, at the till or on the server.
VOUCHER_NOT_VOIDABLE = (
    "A used voucher cannot be voided: nothing puts it back. If the sale was cancelled, ask "
    "the owner how to make it up to the customer."
)

NOT_SYNCED = (
    "The server cannot be reached and this terminal has not synced yet: connect it "
    "once, then try again."
)
# A last sync later than now by more than this means the till's clock was moved back (or
# was fast when it synced): how long ago it synced can no longer be told. And a till's clock
# this far or more from the server's at its last sync is wrong: offline, it decides nothing.
CLOCK_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Verdict:
    approved: bool
    mode: Mode
    reason: str
    balance_after: Money | None = None  # what is left on a gift card; a voucher's face value
    subject_id: str | None = None  # the card or voucher
    reference: str | None = None  # an approval's key: what a void names (`tillpoint void`)
    operation_id: str | None = None  # what a receipt shows: the server's operation id, or
    # the offline event's id
    offer: Money | None = None  # declined for want of balance: what the card holds
    deal_title: str | None = None  # a voucher's: what to hand over
    # Declined offline because the till could not decide it (a limit, a card it has not
    # seen, a stale cache): the server may well approve it once it answers. False for what
    # the till did decide (a used voucher, a blocked card, a forged code) and online.
    undecided: bool = False
    # Declined offline after an online attempt that may have reached the server (its answer
    # was lost): the till queued that attempt's withdrawal, so the server gives back what it
    # may have taken when the till next syncs. The reason says so.
    withdrawn: bool = False


class VoidRefusedError(Exception):
    """Policy does not allow this void; the message says why, in words."""


class _Refused(Exception):
    """An offline check refused it; the message is the cashier's reason. The till decided
    no (a used voucher, a forged code); `_Undecided` when it could not decide."""

    undecided = False

    def __init__(self, reason: str, offer: Money | None = None) -> None:
        super().__init__(reason)
        self.offer = offer


@dataclass(frozen=True)
class _LostAttempt:
    """An online attempt whose answer was lost after it may have reached the server: what
    its withdrawal names, should the till not approve it offline."""

    kind: RedemptionKind
    subject_id: str
    amount: Money
    key: str


class _Undecided(_Refused):
    """The till cannot decide it offline (a limit, a card not seen, an old or doubtful
    sync): declined now, though the server may approve it when it answers."""

    undecided = True


# Said after an offline decline of an attempt that may have reached the server.
MAYBE_TAKEN = {
    RedemptionKind.GIFT_CARD: (
        "The server's answer was lost, so this till cannot tell whether it took the amount: "
        "if it did, it goes back onto the card automatically when this till next syncs "
        "(or, if the card can no longer be used by then, the owner is told to refund it)."
    ),
    RedemptionKind.VOUCHER: (
        "The server's answer was lost, so this till cannot tell whether it used the "
        "voucher: if it did, the owner is told when this till next syncs, to honour it."
    ),
}


def _lost_attempt(
    lost: ServerUnreachableError | ServerAnswerError,
    token: str,
    key: str,
    amount_minor: int | None = None,
) -> _LostAttempt | None:
    """What to withdraw if the till declines an attempt whose answer was lost (a gift card's
    `amount_minor`; None for a voucher, its face value); None when it surely never reached
    the server (no connection was made), or its code is not one of that kind (the server
    would have refused it too)."""
    if isinstance(lost, ServerUnreachableError) and not lost.may_have_arrived:
        return None
    try:
        claims = decode(token).tillpoint
    except TokenError:
        return None
    if claims is None:
        return None
    if amount_minor is None:  # a voucher: its face value
        if claims.kind is not Kind.VOUCHER or claims.face_value is None:
            return None
        return _LostAttempt(RedemptionKind.VOUCHER, id_text(claims.subject), claims.face_value, key)
    if claims.kind is not Kind.GIFT_CARD:
        return None
    amount = Money.of(amount_minor, claims.currency)
    return _LostAttempt(RedemptionKind.GIFT_CARD, id_text(claims.subject), amount, key)


# Token checks that fail offline for want of what the next sync brings (a key the server
# has just started signing with) or of a right clock: the till cannot tell, the server can.
_UNDECIDED_TOKENS = frozenset({"unknown_kid", "not_yet_valid"})


class Till:
    def __init__(
        self,
        store: TerminalStore,
        client: SyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cashier: Person | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.cashier = cashier  # who is signed in: named in the journal, events and requests
        self._cashier_id = None if cashier is None else cashier.id
        self._cashier_name = None if cashier is None else cashier.name

    # -- gift cards -------------------------------------------------------------------

    def redeem(self, token: str, amount_minor: int) -> Verdict:
        """Take `amount_minor` off the gift card whose code was scanned."""
        if amount_minor > MAX_AMOUNT:
            # No card holds that much, and the server would not read the request: the
            # terminal answers on its own, offering what it knows the card holds.
            return self._offline(lambda: self._too_much(token, amount_minor))
        key = str(uuid.uuid4())
        asked_at = self.store.moment()
        try:
            answer = self.client.redeem_online(token, amount_minor, key, self._cashier_id)
        except (ServerUnreachableError, ServerAnswerError) as lost:
            # No decision came back (no answer, a gateway's error, an answer that cannot be
            # read): the server may have applied it, so the offline event carries this key
            # and is recorded once either way (docs/sync-protocol.md, "The lost answer");
            # declined offline, the attempt is withdrawn under that key.
            attempt = _lost_attempt(lost, token, key, amount_minor)
            return self._offline(lambda: self._card_offline(token, amount_minor, key), attempt)
        except ServerRefusedError as refused:
            return self._card_refused(token, amount_minor, refused, asked_at)
        after = answer.balance_after.money()
        amount = answer.amount.money()
        with self.store.transaction():
            self.store.cache_card(
                answer.card_id,
                after.currency.code,
                after.minor,
                CardStatus.ACTIVE,
                asked_at=asked_at,
            )
            self.store.note_redemption(
                RedemptionKind.GIFT_CARD,
                answer.card_id,
                amount,
                Mode.ONLINE,
                after,
                key,
                self._cashier_name,
            )
        return Verdict(
            True,
            Mode.ONLINE,
            "Approved by the server.",
            after,
            answer.card_id,
            key,
            operation_id=answer.id,
        )

    def _card_refused(
        self, token: str, amount_minor: int, refused: ServerRefusedError, asked_at: str
    ) -> Verdict:
        """The server said no: in the cashier's words, offering what the card holds when
        the amount was more than that."""
        if note_refusal(self.store, refused):
            return Verdict(False, Mode.ONLINE, REDEEM_REFUSED)
        try:
            claims = decode(token).tillpoint
        except TokenError:
            claims = None
        if claims is None:
            return Verdict(False, Mode.ONLINE, refusal(refused))
        card_id = id_text(claims.subject)
        amount = Money.of(amount_minor, claims.currency)
        holds = refused.answer.balance_minor
        if holds is not None:
            self.store.cache_card(
                card_id, claims.currency, holds, CardStatus.ACTIVE, asked_at=asked_at
            )
        elif refused.status == 422:  # more than any redemption: what this terminal knows
            card = self.store.card(card_id)
            holds = None if card is None else card.balance_minor
        if holds is not None and 0 < holds < amount_minor:
            offer = Money.of(holds, claims.currency)
            reason = f"The card holds {offer.format()}, less than {amount.format()}."
            return Verdict(False, Mode.ONLINE, reason, subject_id=card_id, offer=offer)
        if holds == 0:
            return Verdict(False, Mode.ONLINE, "The card is empty: take another payment method.")
        return Verdict(False, Mode.ONLINE, refusal(refused, amount), subject_id=card_id)

    def _too_much(self, token: str, amount_minor: int) -> Verdict:
        try:
            claims = decode(token).tillpoint
        except TokenError as exc:
            raise _Refused(f"The code could not be read ({exc.message}): scan it again.") from None
        if claims is None:
            raise _Refused("That is not a Tillpoint gift card: scan it again.")
        asked = Money.of(amount_minor, claims.currency)
        most = Money.of(MAX_AMOUNT, claims.currency)
        reason = f"{asked.format()} is more than one redemption can be (at most {most.format()})."
        card = self.store.card(id_text(claims.subject))
        if card is not None and card.status is CardStatus.ACTIVE and card.balance_minor > 0:
            holds = Money.of(card.balance_minor, card.currency)
            raise _Refused(f"{reason} The card holds {holds.format()}.", holds)
        raise _Refused(f"{reason} Check the amount and type it again.")

    def _card_offline(self, token: str, amount_minor: int, key: str) -> Verdict:
        claims = self._verified(token, Kind.GIFT_CARD)
        card_id = id_text(claims.subject)
        # The balance and limits are read, checked and written in one write transaction:
        # another process or thread on this till's file waits, then sees this redemption.
        with self.store.transaction():
            card = self.store.card(card_id)
            if card is None:
                raise _Undecided(
                    "Offline, and this card has not been seen by this terminal yet: "
                    "take another payment method."
                )
            if isinstance(card.status, NewerValue):
                raise _Undecided(
                    f"Offline, and the server last said this card is {card.status.words}, "
                    "which this till does not know: take another payment method, or try "
                    "again once the server answers."
                )
            if card.status is not CardStatus.ACTIVE:
                raise _Refused(f"Offline, and the card is {card.status}.")
            if amount_minor > card.balance_minor:
                if card.balance_minor <= 0:
                    raise _Refused("Offline, and the card is empty: take another payment method.")
                holds = Money.of(card.balance_minor, card.currency)
                asked = Money.of(amount_minor, card.currency)
                raise _Refused(
                    f"Offline, the card holds {holds.format()}, less than {asked.format()}.", holds
                )
            self._within_limits(card_id, card.currency, amount_minor)
            event = self.store.record_offline_redemption(card, amount_minor, key, self._cashier_id)
            after = Money.of(card.balance_minor - amount_minor, card.currency)
            amount = Money.of(amount_minor, card.currency)
            self.store.note_redemption(
                RedemptionKind.GIFT_CARD,
                card_id,
                amount,
                Mode.OFFLINE,
                after,
                key,
                self._cashier_name,
            )
        return Verdict(
            True,
            Mode.OFFLINE,
            "Approved offline; it will sync when the connection is back.",
            after,
            card_id,
            key,
            operation_id=event.id,
        )

    # -- vouchers ---------------------------------------------------------------------

    def redeem_voucher(self, token: str) -> Verdict:
        """Use the voucher whose code was scanned, once."""
        key = str(uuid.uuid4())
        try:
            answer = self.client.redeem_voucher_online(token, key, self._cashier_id)
        except (ServerUnreachableError, ServerAnswerError) as lost:  # as for a card
            attempt = _lost_attempt(lost, token, key)
            return self._offline(lambda: self._voucher_offline(token, key), attempt)
        except ServerRefusedError as refused:
            if note_refusal(self.store, refused):
                return Verdict(False, Mode.ONLINE, REDEEM_REFUSED)
            return Verdict(False, Mode.ONLINE, refusal(refused))
        face = answer.face_value.money()
        self.store.note_redemption(
            RedemptionKind.VOUCHER, answer.id, face, Mode.ONLINE, None, key, self._cashier_name
        )
        return Verdict(
            True,
            Mode.ONLINE,
            "Voucher accepted by the server.",
            face,
            answer.id,
            key,
            operation_id=answer.id,  # a voucher is used once: its id names the redemption
            deal_title=self.store.deal_title(answer.deal_id),
        )

    def _voucher_offline(self, token: str, key: str) -> Verdict:
        claims = self._verified(token, Kind.VOUCHER)
        voucher_id = id_text(claims.subject)
        face = claims.face_value
        assert face is not None  # a voucher's claims always carry it
        with self.store.transaction():  # as for a card: once per till, whoever else is on it
            status = self.store.voucher_status(voucher_id)
            if isinstance(status, NewerValue):
                raise _Undecided(
                    f"Offline, and the server last said this voucher is {status.words}, "
                    "which this till does not know: try again once the server answers."
                )
            if self.store.voucher_used(voucher_id):
                raise _Refused("This voucher has already been used: it works once.")
            self._within_limits(voucher_id, face.currency.code, face.minor)
            event = self.store.record_offline_voucher(
                voucher_id, face.minor, face.currency.code, key, self._cashier_id
            )
            self.store.note_redemption(
                RedemptionKind.VOUCHER,
                voucher_id,
                face,
                Mode.OFFLINE,
                None,
                key,
                self._cashier_name,
            )
        return Verdict(
            True,
            Mode.OFFLINE,
            "Voucher accepted offline; it will sync when the connection is back.",
            face,
            voucher_id,
            key,
            operation_id=event.id,
            deal_title=None
            if claims.deal_id is None
            else self.store.deal_title(id_text(claims.deal_id)),
        )

    # -- voids ------------------------------------------------------------------------------

    def void(self, entry: JournalEntry) -> Money:
        """Take back a gift-card redemption made here within the void window (the sale was
        cancelled at the counter). Queued like an offline redemption, so it works offline;
        the amount is back on the card for this terminal at once. Raises VoidRefusedError
        with the reason when policy does not allow it."""
        if self.store.revoked_at() is not None:
            raise VoidRefusedError(VOID_REFUSED)
        if entry.kind is not RedemptionKind.GIFT_CARD:
            raise VoidRefusedError(VOUCHER_NOT_VOIDABLE)
        if entry.voided:
            raise VoidRefusedError("That redemption is already voided.")
        if self.clock() - entry.at > VOID_WINDOW:
            minutes = int(VOID_WINDOW.total_seconds() // 60)
            raise VoidRefusedError(
                f"Only redemptions of the last {minutes} minutes can be voided here: "
                "the owner can refund it from the Tillpoint app."
            )
        # Read again in the transaction that queues the void: two voids of one redemption at
        # once (two processes) would put its amount back on the card here twice.
        with self.store.transaction():
            current = self.store.journal_entry(entry.attempt_key)
            if current is not None and current.voided:
                raise VoidRefusedError("That redemption is already voided.")
            self.store.record_void(entry, self._cashier_id)
        return entry.amount

    # -- what both share ----------------------------------------------------------------

    def _offline(
        self, decide: Callable[[], Verdict], attempt: _LostAttempt | None = None
    ) -> Verdict:
        """The offline verdict. Declining `attempt` (an online attempt that may have gone
        through) queues its withdrawal in the transaction the decision read in: the decline
        is shown only once the withdrawal is on disk."""
        if self.store.revoked_at() is not None:
            # The server refuses whatever a revoked till sends: an offline approval would
            # be goods handed over for nothing.
            return Verdict(False, Mode.OFFLINE, REDEEM_REFUSED)
        with self.store.transaction():
            try:
                return decide()
            except _Refused as refused:
                reason = str(refused)
                if attempt is not None:
                    self.store.record_withdrawal(
                        attempt.kind,
                        attempt.subject_id,
                        attempt.amount,
                        attempt.key,
                        self._cashier_id,
                    )
                    reason = f"{reason} {MAYBE_TAKEN[attempt.kind]}"
                    # An offer (what the card holds) is the cashier's to take or not.
                    if refused.offer is None and "another payment method" not in reason:
                        reason += " Take another payment method."
                return Verdict(
                    False,
                    Mode.OFFLINE,
                    reason,
                    offer=refused.offer,
                    undecided=refused.undecided,
                    withdrawn=attempt is not None,
                )

    def _verified(self, token: str, kind: Kind) -> TokenClaims:
        """The token's claims, checked offline against what the terminal synced."""
        pairing = self.store.pairing()
        trust = self.store.trust_list()
        if pairing is None or trust is None or self.store.offline_limits() is None:
            raise _Undecided(NOT_SYNCED)
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
            if exc.code in _UNDECIDED_TOKENS:
                raise _Undecided(exc.message) from None
            raise _Refused(exc.message) from None
        assert claims is not None
        if claims.kind is not kind:
            other = "a gift card" if claims.kind is Kind.GIFT_CARD else "a voucher"
            raise _Refused(f"That code is {other}: scan it as {other}.")
        return claims

    def _sync_age(self) -> float | None:
        """How long ago the last sync ended, in seconds (None: never), by the till's clock
        now against both stamps of that sync, the till's and the server's: the older one
        counts. A till clock put right after a sync made while it was fast makes the till's
        stamp look recent; the server's does not. Raises _Undecided when the clock cannot be
        trusted: it was 5 minutes or more from the server's at that sync, or it reads
        before the sync now."""
        last = self.store.last_sync()
        if last is None:
            return None
        offset = last.clock_offset
        if offset is not None and abs(offset) >= CLOCK_TOLERANCE:
            raise _Undecided(
                f"Offline, and this till's clock was {clock_apart(offset.total_seconds())} "
                "the server's at its last sync: set the till's clock right (date, "
                "time and zone) and sync; until then it approves nothing offline."
            )
        now = self.clock()
        ages = [now - last.at] + ([] if last.server_at is None else [now - last.server_at])
        if min(ages) < -CLOCK_TOLERANCE:
            # A sync "in the future": the clock was fast then or has been put back since,
            # so the time since the last sync is unknown; it may be well past the limit.
            raise _Undecided(
                f"Offline, and this till's clock reads {-min(ages) / timedelta(hours=1):.1f} "
                "hours before its last sync: check the till's clock (date, time and zone); "
                "it approves nothing offline until it syncs again."
            )
        return max(ages).total_seconds()

    def _within_limits(self, subject_id: str, currency: str, amount_minor: int) -> None:
        """Refuse what the business's offline limits do not allow, saying which limit."""
        limits = self.store.offline_limits()
        assert limits is not None

        def money(minor: int) -> str:
            return Money.of(minor, currency).format()

        age = self._sync_age()
        if age is None or age > limits.max_cache_age_seconds:
            stale_max = limits.stale_cache_max_minor
            if amount_minor > stale_max:
                since = "ever" if age is None else f"for {age / 3600:.0f} hours"
                allowed = f"at most {money(stale_max)}" if stale_max else "nothing"
                raise _Undecided(
                    f"Offline, and this terminal has not synced {since}: it may "
                    f"approve {allowed} until it syncs."
                )
        if amount_minor > limits.max_single_minor:
            raise _Undecided(
                f"Offline, one redemption may be at most "
                f"{money(limits.max_single_minor)}: take the rest another way."
            )
        already = self.store.pending_minor(subject_id)
        if already + amount_minor > limits.max_per_card_minor:
            left = max(limits.max_per_card_minor - already, 0)
            raise _Undecided(
                f"Offline, this card may take at most {money(left)} more at this "
                "terminal until it syncs."
            )
        if self.store.pending_minor() + amount_minor > limits.max_unsynced_minor:
            raise _Undecided(
                "Offline, this terminal has reached its limit of unsynced "
                f"redemptions ({money(limits.max_unsynced_minor)}): reconnect "
                "to sync."
            )
