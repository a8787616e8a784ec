"""The till without a screen, for a shop's own POS: redeem, look up, void — through the same
session and till the screens use (online first, offline within the limits, the outbox).

Each call answers an `Answer`: one JSON-ready document, the same words in a sentence, and the
exit code `tillpoint redeem|balance|void` ends with. What cannot be asked at all (not a
Tillpoint code, a bad amount, an unknown reference, an unpaired terminal) raises a
`HeadlessError` carrying its own code. The CLI and the local POS API are thin layers over this.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.money import Money
from sync.tokens import Kind, TokenError, decode, id_text
from sync.wire import MoneyPublic

from .amounts import AmountError, TooMuchError, typed_amount
from .kinds import CardStatus, Mode, NewerValue, RedemptionKind, in_words
from .presented import NotATokenError, Presented, present
from .revocation import PAIR_AGAIN_FROM_THE_SHELL, REVOKED
from .session import TerminalSession
from .staff import Person, SignInRefusedError, person_named
from .store import DamagedStoreError, damage_named
from .till import Verdict, VoidRefusedError
from .words import clause

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_DAMAGED",
    "EXIT_DECLINED",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "Answer",
    "BadInputError",
    "DamagedError",
    "HeadlessError",
    "HeadlessTill",
    "NotReadyError",
    "RevokedError",
    "damage_told",
]

EXIT_OK = 0  # approved, voided, or the balance is known
EXIT_DECLINED = 1  # the server said no, or the till did offline (a used voucher, a blocked
# card, a forged code), or policy refused the void: the reason says why
EXIT_BAD_INPUT = 2  # the request itself was wrong: fix it, do not retry as is
EXIT_UNREACHABLE = 3  # no decision from the server, and the till could not decide it offline
# (a limit, a card it has not seen, its clock): ask again when it answers (as `tillpoint sync`)
EXIT_NOT_READY = 5  # no terminal database there, the terminal is not paired, or the owner
# revoked it: it needs pairing (again) before it can work
EXIT_DAMAGED = 6  # the terminal database is damaged: restore it or pair again (as `sync`)


class HeadlessError(Exception):
    """The request could not be asked; `kind` and `exit_code` say which way."""

    kind = "error"
    exit_code = EXIT_BAD_INPUT

    def document(self) -> dict[str, Any]:
        return {"error": self.kind, "message": str(self)}


class BadInputError(HeadlessError):
    """Not a Tillpoint code, an amount that cannot be read, an unknown reference."""

    kind = "bad_input"
    exit_code = EXIT_BAD_INPUT


class NotReadyError(HeadlessError):
    """The terminal cannot work yet: no database there, or not paired."""

    kind = "not_ready"
    exit_code = EXIT_NOT_READY


class RevokedError(HeadlessError):
    """The owner revoked this terminal (the server said so, now or before): it approves
    nothing, offline either, until it is paired anew."""

    kind = "revoked"
    exit_code = EXIT_NOT_READY

    def __init__(self) -> None:
        super().__init__(
            f"{_REVOKED[0].lower()}{_REVOKED[1:]}; until then it redeems and voids nothing, "
            "offline either"
        )


_REVOKED = REVOKED + PAIR_AGAIN_FROM_THE_SHELL


class DamagedError(HeadlessError):
    """The terminal's database is damaged; the message says what to do."""

    kind = "damaged"
    exit_code = EXIT_DAMAGED


@contextmanager
def damage_told(path: Path) -> Iterator[None]:
    """SQLite's word that the database at `path` is damaged, as a DamagedError."""
    try:
        with damage_named(path):
            yield
    except DamagedStoreError as exc:
        raise DamagedError(str(exc)) from None


@dataclass(frozen=True)
class Answer:
    document: dict[str, Any]  # what --json prints and the POS API answers
    words: str  # the same, for a person
    exit_code: int


def last_sync(synced_at: str | None, now: datetime | None = None) -> str:
    """When this terminal last synced, for a person: in local time, without the date when
    it was today ("13:32 today", "30 Nov 18:05"), or "never"."""
    if not synced_at:
        return "never"
    at = datetime.fromisoformat(synced_at).astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    return f"{at:%H:%M} today" if at.date() == today else f"{at.day} {at:%b %H:%M}"


def _money(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else MoneyPublic.of(money).model_dump()


class HeadlessTill:
    """Redeem, look up and void by code and reference, over one `TerminalSession`."""

    def __init__(self, session: TerminalSession) -> None:
        self.session = session

    def _ready(self, *, revoked_too: bool = False) -> None:
        """Paired, and not known to be revoked (unless `revoked_too`: a balance still
        tells what was last synced)."""
        if not self.session.store.paired():
            raise NotReadyError(
                f"{self.session.data} is not paired yet: run `tillpoint terminal pair` first"
            )
        if not revoked_too and self._revoked():
            raise RevokedError

    def _revoked(self) -> bool:
        return self.session.store.revoked_at() is not None

    def _presented(self, code: str) -> Presented:
        try:
            return present(code, self.session.store)
        except NotATokenError as exc:
            raise BadInputError(str(exc)) from None

    def _deal_title(self, token: str) -> str | None:
        try:
            claims = decode(token).tillpoint
        except TokenError:
            return None
        if claims is None or claims.deal_id is None:
            return None
        deal_id = id_text(claims.deal_id)
        return next((d.title for d in self.session.store.deals() if d.id == deal_id), None)

    def _cashier(self, cashier: str | None) -> Person | None:
        """The staff member a POS names (by name or id, as synced), or None: the till
        itself. No PIN: whoever runs the headless till holds the terminal's database and
        its device key already (docs/till-staff.md)."""
        if cashier is None or not cashier.strip():
            return None
        try:
            person = person_named(self.session.store, cashier)
        except SignInRefusedError as exc:  # a role this till does not know
            raise BadInputError(
                f"{clause(str(exc))}, or leave out --cashier to redeem as the till"
            ) from None
        if person is None:
            names = ", ".join(s.name for s in self.session.store.staff()) or "none synced yet"
            raise BadInputError(
                f"no one called {cashier.strip()!r} has a PIN at this till (its staff: "
                f"{names}); leave out --cashier to redeem as the till"
            )
        return person

    # -- redeem -------------------------------------------------------------------------

    def redeem(self, code: str, amount: str | None = None, cashier: str | None = None) -> Answer:
        """A gift card takes `amount` (as typed: "4.20", "£4.20"); a voucher is used whole,
        with no amount. `cashier` names the staff member at the POS (else the till)."""
        self._ready()
        person = self._cashier(cashier)
        presented = self._presented(code)
        deal_title = None
        if presented.kind is Kind.GIFT_CARD:
            if amount is None or not amount.strip():
                raise BadInputError("a gift card needs an amount, e.g. --amount 4.20")
            money = self._amount(amount, presented)
            verdict = self.session.redeem(presented.token, money.minor, person)
            charged: Money | None = money
        else:
            if amount is not None:
                worth = presented.face_value.format() if presented.face_value else "?"
                raise BadInputError(
                    f"a voucher is used whole: leave out the amount (it is worth {worth})"
                )
            deal_title = self._deal_title(presented.token)
            verdict = self.session.redeem_voucher(presented.token, person)
            charged = presented.face_value
        if not verdict.approved and self._revoked():
            raise RevokedError  # the server has just said so: nothing was taken
        return self._verdict_answer(presented, verdict, charged, deal_title, person)

    @staticmethod
    def _amount(amount: str, presented: Presented) -> Money:
        """The amount to take, refused before anything is asked when no redemption can
        be that (unreadable, zero or less, more than any card holds): a wrong request."""
        try:
            return typed_amount(amount, presented.currency)
        except AmountError as exc:
            problem = str(exc)
            known = presented.known_balance
            if isinstance(exc, TooMuchError) and known is not None and known.minor > 0:
                problem += f"; the card holds {known.format()}, as this till last heard"
            raise BadInputError(f"{problem[0].lower()}{problem[1:]}") from None

    def _verdict_answer(
        self,
        presented: Presented,
        verdict: Verdict,
        amount: Money | None,
        deal_title: str | None,
        cashier: Person | None,
    ) -> Answer:
        gift_card = presented.kind is Kind.GIFT_CARD
        document: dict[str, Any] = {
            "approved": verdict.approved,
            "mode": str(verdict.mode),
            "reason": verdict.reason,
            # Declined after a lost answer: the till withdrew the attempt, so what the server
            # may have taken is given back at the next sync.
            "withdrawn": verdict.withdrawn,
            "kind": str(RedemptionKind.GIFT_CARD if gift_card else RedemptionKind.VOUCHER),
            "subject_id": presented.subject_id,
            "amount": _money(amount),
            "balance_after": _money(verdict.balance_after) if gift_card else None,
            "reference": verdict.reference,
            "cashier": None if cashier is None else cashier.name,
        }
        if not gift_card:
            document["deal_title"] = deal_title
        if verdict.approved:
            what = amount.format() if amount else ""
            if gift_card:
                after = verdict.balance_after
                left = after.format() if after is not None else "?"  # £0.00 is known
                words = f"APPROVED {what} ({verdict.mode}): {left} left on the card."
            else:
                hand_over = f": hand over {deal_title}" if deal_title else ""
                words = f"APPROVED voucher worth {what} ({verdict.mode}){hand_over}."
            words += f" {verdict.reason} Reference {verdict.reference}."
            return Answer(document, words, EXIT_OK)
        # Offline, 3 only for what the till could not decide (a limit, a card it has not
        # seen): a POS may ask again once the server answers. What it did decide (a used
        # voucher, a blocked card, a forged code) is declined, as the server would.
        code = EXIT_UNREACHABLE if verdict.undecided else EXIT_DECLINED
        return Answer(document, f"DECLINED ({verdict.mode}): {verdict.reason}", code)

    # -- balance ------------------------------------------------------------------------

    def balance(self, code: str) -> Answer:
        """What a card holds or whether a voucher can be used: after a sync when the server
        answers (mode online), else as this terminal last heard (mode offline, saying
        when). A revoked terminal does not ask: it tells what it last synced, and says it
        needs pairing again (exit 5)."""
        self._ready(revoked_too=True)
        presented = self._presented(code)
        online = not self._revoked() and self.session.sync() is not None
        revoked = self._revoked()  # known before, or the server has just said so
        mode = Mode.ONLINE if online else Mode.OFFLINE
        store = self.session.store
        synced_at = store.synced_at()
        document: dict[str, Any] = {
            "kind": str(
                RedemptionKind.GIFT_CARD
                if presented.kind is Kind.GIFT_CARD
                else RedemptionKind.VOUCHER
            ),
            "subject_id": presented.subject_id,
            "mode": str(mode),
            "synced_at": synced_at,
            "revoked": revoked,
        }
        as_of = "now" if online else f"as of the last sync ({last_sync(synced_at)})"
        answer = self._balance(presented, document, online, as_of)
        if not revoked:
            return answer
        return Answer(answer.document, f"{answer.words} {_REVOKED}.", EXIT_NOT_READY)

    def _balance(
        self, presented: Presented, document: dict[str, Any], online: bool, as_of: str
    ) -> Answer:
        store = self.session.store
        if presented.kind is Kind.GIFT_CARD:
            card = store.card(presented.subject_id)
            if card is None:
                document.update(known=False, usable=False, balance=None, status=None)
                if online:
                    return Answer(
                        document, "This card is not one of this business's cards.", EXIT_DECLINED
                    )
                return Answer(
                    document,
                    "Offline, and this terminal has not seen this card yet.",
                    EXIT_UNREACHABLE,
                )
            balance = Money.of(card.balance_minor, card.currency)
            usable = card.status is CardStatus.ACTIVE and card.balance_minor > 0
            document.update(
                known=True, usable=usable, balance=_money(balance), status=str(card.status)
            )
            words = f"Gift card {presented.short_id}: {balance.format()} {as_of}"
            if isinstance(card.status, NewerValue):  # undecided, as `redeem` is offline
                words += (
                    f", but the server last said it is {card.status.words}, a state this "
                    "till does not know: it cannot tell whether the card can be used. "
                    "Redeeming while the server answers lets the server decide."
                )
                return Answer(document, words, EXIT_UNREACHABLE)
            if card.status is not CardStatus.ACTIVE:
                words += f", but it is {in_words(card.status)}"
            return Answer(document, words + ".", EXIT_OK if usable else EXIT_DECLINED)
        title = self._deal_title(presented.token)
        face = presented.face_value
        worth = face.format() if face else "?"
        words = f"Voucher {presented.short_id} worth {worth}"
        words += f" for {title}" if title else ""
        # The server's last word (None: never pulled). One this till does not know is
        # neither used nor unused here: undecided, as `redeem` is offline.
        status = store.voucher_status(presented.subject_id)
        document.update(
            known=True,
            face_value=_money(face),
            deal_title=title,
            status=None if status is None else str(status),
        )
        if isinstance(status, NewerValue):
            document.update(usable=False, used=None)
            words += (
                f": the server last said it is {status.words} ({as_of}), a state this till "
                "does not know: it cannot tell whether the voucher can be used. Redeeming "
                "it while the server answers lets the server decide."
            )
            return Answer(document, words, EXIT_UNREACHABLE)
        used = store.voucher_used(presented.subject_id)
        document.update(usable=not used, used=used)
        words += f": already used ({as_of})." if used else f": not used yet ({as_of})."
        return Answer(document, words, EXIT_DECLINED if used else EXIT_OK)

    # -- void ---------------------------------------------------------------------------

    def void(self, reference: str) -> Answer:
        """Take back a gift-card redemption made here, named by its reference; queued in the
        outbox (it works offline) and pushed at once when the server answers."""
        self._ready()
        store = self.session.store
        entry = store.journal_entry(reference.strip())
        if entry is None:
            raise BadInputError(
                f"no redemption with reference {reference.strip()!r} was made at this terminal"
            )
        document: dict[str, Any] = {
            "voided": False,
            "reference": entry.attempt_key,
            "kind": str(entry.kind),
            "subject_id": entry.subject_id,
            "amount": _money(entry.amount),
            "balance_after": None,
            "synced": False,
            "reason": "",
        }
        try:
            amount = self.session.void(entry)
        except VoidRefusedError as exc:
            document["reason"] = str(exc)
            return Answer(document, f"NOT VOIDED: {exc}", EXIT_DECLINED)
        synced = self.session.sync() is not None
        card = store.card(entry.subject_id)
        after = None if card is None else Money.of(card.balance_minor, card.currency)
        reason = (
            "Voided; the server has it."
            if synced
            else "Voided here; it will sync when the connection is back."
        )
        document.update(voided=True, balance_after=_money(after), synced=synced, reason=reason)
        left = f" {after.format()} on the card." if after else ""
        return Answer(document, f"VOIDED {amount.format()} back.{left} {reason}", EXIT_OK)
